"""One module per verb of the command line; each takes parsed arguments and returns an exit code."""
from __future__ import annotations

import argparse

from ..course import CourseError
from ..device import DeviceError
from ..intake import SubmissionError
from ..sandbox import SandboxUnavailable
from .common import CommandError


def run_command(args: argparse.Namespace) -> int:
    from . import check, grade, listing, release, skeleton, validate
    if args.command == "batch":
        from . import batch  # noqa: PLC0415  (pulls in the batch machinery only when asked)
        return batch.run(args)
    verbs = {"list": listing.run, "check": check.run, "grade": grade.run, "validate": validate.run,
             "release": release.run, "skeleton": skeleton.run}
    try:
        return verbs[args.command](args)
    except (CourseError, SubmissionError, DeviceError, SandboxUnavailable) as exc:
        raise CommandError(str(exc)) from None


__all__ = ["CommandError", "run_command"]
