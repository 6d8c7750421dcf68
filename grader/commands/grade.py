"""`grader grade SUBMISSION [--out DIR] [--assignment NAME ...]`: all tests, reports written."""
from __future__ import annotations

import argparse
from pathlib import Path

from .. import console
from ..intake import is_archive
from ..pipeline import grade_submission
from ..reports import write_reports
from .common import course_of, options_of


def submission_name(path: Path) -> str:
    name = path.resolve().name
    for suffix in (".tar.gz", ".tgz", ".zip", ".tar"):
        if is_archive(path) and name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def run(args: argparse.Namespace) -> int:
    course = course_of(args)
    if args.assignment:
        for name in args.assignment:
            course.assignment(name)  # unknown names fail before any grading
    out = args.out or Path("reports") / submission_name(args.submission)
    result = grade_submission(args.submission, course, args.assignment, options_of(args))
    paths = write_reports(result, out, course.templates)
    console.print_grade(result, paths, quiet=args.quiet)
    return 0
