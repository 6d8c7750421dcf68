"""What the verbs share: the course, grading options, and the one-line error type."""
from __future__ import annotations

import argparse

from ..course import Course, find_course
from ..options import GradeOptions, from_arguments


class CommandError(Exception):
    """Unusable input: the CLI prints this one line and exits with code 2."""


def course_of(args: argparse.Namespace) -> Course:
    return find_course(args.course)


def options_of(args: argparse.Namespace, public_only: bool = False) -> GradeOptions:
    return from_arguments(args, public_only=public_only)
