"""`grader release --out DIR [--zip] [--assignment NAME ...]`: the student course, checked for leaks;
`grader release --gradescope --out FILE.zip [--public-only]`: the Gradescope autograder zip.

Exit codes: 0 written; 2 unusable input or a leak (nothing written; the leaks are listed and the
one-line error names the first file)."""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from .. import console
from ..release import (LeakError, MarkerError, ReleaseError, WheelError, autograder_release, build_wheel,
                       student_release, write_folder, write_zip)
from .common import CommandError, course_of


def _check(args: argparse.Namespace) -> None:
    if args.public_only and not args.gradescope:
        raise CommandError("--public-only goes with --gradescope")
    if args.zip and args.gradescope:
        raise CommandError("--gradescope always writes a zip (to --out): drop --zip")
    if args.wheel is not None and not args.wheel.is_file():
        raise CommandError(f"no such wheel: {args.wheel}")


def run(args: argparse.Namespace) -> int:
    _check(args)
    course = course_of(args)
    specs = course.select(args.assignment)
    try:
        with tempfile.TemporaryDirectory(prefix="grader-release-") as tmp:
            wheel = args.wheel or build_wheel(Path(tmp))
            if args.gradescope:
                release = autograder_release(course, specs, wheel, public_only=args.public_only)
            else:
                release = student_release(course, specs, wheel)
        written = [args.out]
        if args.gradescope:
            write_zip(release, args.out)
        else:
            write_folder(release, args.out)
            if args.zip:
                written.append(args.out.with_name(args.out.name + ".zip"))
                write_zip(release, written[-1])
    except LeakError as exc:
        console.print_leaks(exc.leaks)
        raise CommandError(str(exc)) from None
    except (ReleaseError, WheelError, MarkerError) as exc:
        raise CommandError(str(exc)) from None
    console.print_release(release, written, quiet=args.quiet)
    return 0
