"""`grader grade SUBMISSION [--out DIR] [--assignment NAME ...]`: all tests, reports written."""
from __future__ import annotations

import argparse
from pathlib import Path

from .. import console
from ..intake import submission_stem
from ..pipeline import grade_submission
from ..reports import write_reports
from .common import course_of, options_of


def run(args: argparse.Namespace) -> int:
    course = course_of(args)
    if args.assignment:
        for name in args.assignment:
            course.assignment(name)  # unknown names fail before any grading
    out = args.out or Path("reports") / submission_stem(args.submission.resolve().name)
    result = grade_submission(args.submission, course, args.assignment, options_of(args).with_outputs(out))
    paths = write_reports(result, out, course.templates)
    console.print_grade(result, paths, quiet=args.quiet)
    return 0
