"""`grader skeleton [NAME]`: write assignments/NAME/<module>.py, the skeleton generated from the
marked reference solutions/NAME/<module>.py (`grader validate` fails while one is out of date)."""
from __future__ import annotations

import argparse

from .. import console
from ..release import MarkerError, write_skeleton
from .common import CommandError, course_of


def run(args: argparse.Namespace) -> int:
    course = course_of(args)
    rows = []
    for spec in course.select([args.name] if args.name else None):
        if not spec.solution_file.is_file():
            raise CommandError(f"{spec.name}: no reference solution at {spec.solution_file}")
        try:
            rows.append((spec, write_skeleton(spec)))
        except MarkerError as exc:
            raise CommandError(f"solution markers: {exc}") from None
    console.print_skeletons(rows)
    return 0
