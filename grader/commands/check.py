"""`grader check NAME [--path DIR]`: public tests on the student's own files."""
from __future__ import annotations

import argparse
from pathlib import Path

from .. import console
from ..pipeline import grade_submission
from .common import CommandError, course_of, options_of


def run(args: argparse.Namespace) -> int:
    course = course_of(args)
    spec = course.assignment(args.name)
    if args.path is not None:
        folder = args.path
        if not folder.is_dir():
            raise CommandError(f"no such folder: {folder}")
    elif (Path.cwd() / spec.filename).is_file():
        folder = Path.cwd()
    else:
        folder = spec.folder
    result = grade_submission(folder, course, [spec.name], options_of(args, public_only=True))
    console.print_check(result, quiet=args.quiet)
    assignment = result.assignments[0]
    return 0 if assignment.error is None and all(t.passed for t in assignment.tests) else 1
