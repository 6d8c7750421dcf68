"""Command line: parse arguments and call the pipeline. Nothing else lives here.

Exit codes: 0 grading done (whatever the score); 1 ``check`` found a failing public test, or
``validate`` found a reference losing points / a skeleton earning some; 2 unusable input
(missing path, unsafe archive, unknown assignment, bad option), with a one-line message.
"""
from __future__ import annotations

import argparse
import atexit
import os
import sys
import threading
from pathlib import Path
from typing import NoReturn

from . import SINGLE_THREADED, __version__

for _name, _value in SINGLE_THREADED.items():   # before NumPy and SciPy are first imported, just below
    os.environ.setdefault(_name, _value)

from .commands import CommandError, run_command  # noqa: E402
from .commands import serve as serve_command  # noqa: E402
from .options import add_arguments  # noqa: E402

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad option is one line on stderr and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"grader: error: {message} (see: {self.prog} --help)\n")
        sys.exit(EXIT_USAGE)


def common_options() -> argparse.ArgumentParser:
    """Options every verb takes (after the verb: `grader grade --quiet sub/`)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--course", type=Path, help="course folder (holds assignments/ and solutions/); "
                        "default: $GRADER_COURSE, else the current folder or a parent")
    add_arguments(common)  # --sandbox, --device, --seed, --budget: declared in grader/options.py
    common.add_argument("-q", "--quiet", action="store_true", help="print only errors and the final line")
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="grader", description="Grade NumPy deep-learning assignments in a sandbox.")
    parser.add_argument("--version", action="version", version=f"grader {__version__}")
    common = common_options()
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    add = lambda name, text: sub.add_parser(name, help=text, parents=[common])  # noqa: E731

    add("list", "assignments, their parts and points")

    check = add("check", "run the public tests on your files (a quick self-check)")
    check.add_argument("name", help="assignment name, e.g. conv")
    check.add_argument("--path", type=Path, help="folder with your file (default: the current folder "
                       "if it has the file, else assignments/NAME)")
    check.add_argument("--verbose", action="store_true", help="list the passed tests too")

    grade = add("grade", "grade a submission (folder or archive) with all tests")
    grade.add_argument("submission", type=Path)
    grade.add_argument("--out", type=Path, help="report folder (default: reports/<submission name>)")
    grade.add_argument("--assignment", action="append", metavar="NAME",
                       help="grade only this assignment (repeatable; default: all)")

    batch = add("batch", "grade every submission in a folder (one student per entry), resumable")
    batch.add_argument("submissions", type=Path, help="folder: each entry (folder, .zip, .tar.gz) is one student")
    batch.add_argument("--out", type=Path, required=True, help="output folder: <student>/, gradebook.csv, summary.html")
    batch.add_argument("--jobs", type=int, default=None, help="parallel workers (default: number of cores)")
    batch.add_argument("--assignment", action="append", metavar="NAME", help="grade only this assignment (repeatable)")
    batch.add_argument("--roster", type=Path, help="CSV of students (lists those who submitted nothing)")
    batch.add_argument("--force", action="store_true", help="regrade students whose results are up to date")
    batch.add_argument("--executor", choices=["local", "dask"], default="local",
                       help="local process pool, or a Dask distributed cluster")
    batch.add_argument("--scheduler", help="Dask scheduler address (with --executor dask), e.g. tcp://host:8786")

    validate = add("validate", "instructor check: references full, skeletons zero, signatures agree")
    validate.add_argument("name", nargs="?", help="one assignment (default: all)")
    validate.add_argument("--mistakes", action="store_true",
                          help="grade every catalogued mistake (solutions/NAME/mistakes.py): caught, points lost, "
                               "catching tests, other failing tests, diagnosed")

    skeleton = add("skeleton", "write assignments/NAME/<module>.py from the marked reference solution")
    skeleton.add_argument("name", nargs="?", help="one assignment (default: all)")

    release = add("release", "build the student course (or the Gradescope autograder zip), refusing any leak")
    release.add_argument("--out", type=Path, required=True, help="new or empty folder for the student release; "
                         "with --gradescope, the zip file to write")
    release.add_argument("--zip", action="store_true", help="also pack the release into OUT.zip")
    release.add_argument("--assignment", action="append", metavar="NAME",
                         help="release only this assignment (repeatable; default: all)")
    release.add_argument("--gradescope", action="store_true", help="build the Gradescope autograder zip "
                         "(the release plus solutions/ of these assignments and the course secret)")
    release.add_argument("--public-only", action="store_true",
                         help="with --gradescope: leave solutions/ and the secret out (public tests only)")
    release.add_argument("--wheel", type=Path, help="the grader wheel to ship (default: built with pip wheel "
                         "from the grader's source tree)")
    serve_command.add_parser(add("serve", "the submission website (grader serve tokens: login tokens from a roster)"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return serve_command.run(args) if args.command == "serve" else run_command(args)
    except CommandError as exc:
        sys.stderr.write(f"grader: error: {exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("grader: interrupted\n")
        return 130


def entry() -> None:
    """The ``grader`` command (and ``python -m grader``): ``main``, then ``exit_now``."""
    exit_now(main())


def exit_now(code: int) -> NoReturn:
    """Exit without the interpreter's teardown. Freeing every module and object one by one costs
    a grading process ~0.13 CPU-s (NumPy, SciPy, pytest and the graded assignments' objects are
    loaded) and nobody waits for it: the reports are written and closed by then. The exit
    handlers still run (temporary folders, weakref finalizers, logging) and the standard streams
    are flushed; while any non-daemon thread still runs, the ordinary exit waits for it instead."""
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.exit(code)
    atexit._run_exitfuncs()   # what the ordinary exit runs first
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    entry()
