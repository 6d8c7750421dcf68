"""`grader list`: assignments, their parts and points."""
from __future__ import annotations

import argparse

from .. import console
from ..inventory import count_points
from .common import course_of


def run(args: argparse.Namespace) -> int:
    course = course_of(args)
    rows = [(spec, count_points(spec)) for spec in course.assignments]
    console.print_assignments(rows, course)
    return 0
