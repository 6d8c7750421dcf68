"""One module per verb of the command line; each takes parsed arguments and returns an exit code."""
from __future__ import annotations

import argparse
import importlib

from ..course import CourseError
from ..device import DeviceError
from ..intake import SubmissionError
from ..sandbox import SandboxUnavailable
from .common import CommandError


# verb -> its module here, imported only when that verb runs (`check` needs neither the report
# templates' Jinja nor the batch machinery)
VERBS = {"list": "listing", "check": "check", "grade": "grade", "validate": "validate",
         "release": "release", "skeleton": "skeleton", "batch": "batch"}


def run_command(args: argparse.Namespace) -> int:
    verb = importlib.import_module(f".{VERBS[args.command]}", __package__)
    if args.command == "batch":   # its own messages for bad input (a batch never stops at one student)
        return verb.run(args)
    try:
        return verb.run(args)
    except (CourseError, SubmissionError, DeviceError, SandboxUnavailable) as exc:
        raise CommandError(str(exc)) from None


__all__ = ["CommandError", "run_command"]
