"""`grader check NAME [--path DIR]`: public tests on the student's own files."""
from __future__ import annotations

import argparse

from .. import console
from ..selfcheck import all_passed, self_check
from .common import course_of, options_of


def run(args: argparse.Namespace) -> int:
    result, release = self_check(course_of(args), args.name, args.path, options_of(args, public_only=True))
    console.print_check(result, quiet=args.quiet, release=release, verbose=args.verbose)
    return 0 if all_passed(result) else 1
