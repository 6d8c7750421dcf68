"""`grader batch SUBMISSIONS_DIR --out DIR [--jobs N] ...`: grade a class, resumably.

Exit codes: 0 when the batch completed (whatever the scores, refused submissions included);
2 for unusable input (missing folder, bad roster, unknown assignment, Dask missing or
unreachable, a Dask cluster left without workers), with a one-line message.
"""
from __future__ import annotations

import argparse

from .. import console
from ..batch import BatchInputError, BatchSettings, run_batch
from ..course import CourseError
from ..device import DeviceError
from ..sandbox import SandboxUnavailable
from .common import CommandError, course_of, options_of


def run(args: argparse.Namespace) -> int:
    try:
        course = course_of(args)
        settings = BatchSettings(submissions=args.submissions, out=args.out, assignments=args.assignment,
                                 options=options_of(args), jobs=args.jobs, executor=args.executor,
                                 scheduler=args.scheduler, roster=args.roster, force=args.force)
        report = run_batch(settings, course, console.BatchProgress(quiet=args.quiet))
    except (BatchInputError, CourseError, DeviceError, SandboxUnavailable) as exc:
        raise CommandError(str(exc)) from None
    console.print_batch(report, quiet=args.quiet)
    return 0
