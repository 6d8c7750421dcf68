"""Build the zip to upload as a Gradescope autograder for one or more assignments.

    python gradescope/make_autograder.py conv --out autograder-conv.zip

The zip holds, at its root: setup.sh and run_autograder (executable, with GRADER_ASSIGNMENTS
set to the assignments named here), and the course: pyproject.toml, README.md, grader/,
templates/, assignments/<name>/ and solutions/<name>/ for the named assignments only, plus the
course secret as solutions/.course-secret (the one local grading uses, from
$GRADER_COURSE_SECRET or solutions/.course-secret, created if missing), so Gradescope draws
the same hidden inputs as `grader grade` with the same seed. --public-only leaves solutions/
and the secret out: Gradescope then runs the public tests only.
"""
from __future__ import annotations

import argparse
import sys
import zipfile
from pathlib import Path

COURSE = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(COURSE))

from grader.course import CourseError  # noqa: E402
from grader.secret import FILENAME, read_secret  # noqa: E402
SKIPPED = {"__pycache__", ".pytest_cache", ".ipynb_checkpoints"}
ASSIGNMENTS_LINE = 'export GRADER_ASSIGNMENTS="${GRADER_ASSIGNMENTS-}"'


def _add_tree(archive: zipfile.ZipFile, folder: Path, prefix: str) -> None:
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_file() and not path.is_symlink() and not (set(rel.parts) & SKIPPED) and path.suffix != ".pyc":
            archive.write(path, f"{prefix}/{rel.as_posix()}")


def _add_executable(archive: zipfile.ZipFile, name: str, text: str) -> None:
    info = zipfile.ZipInfo(name)
    info.external_attr = 0o100755 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, text)


def build(assignments: list[str], out: Path, public_only: bool = False) -> Path:
    for name in assignments:
        if not (COURSE / "assignments" / name).is_dir() or not (COURSE / "solutions" / name).is_dir():
            raise SystemExit(f"make_autograder: no assignment {name!r} with a solution in {COURSE}")
    runner = (HERE / "run_autograder").read_text()
    if ASSIGNMENTS_LINE not in runner:
        raise SystemExit("make_autograder: run_autograder no longer has the GRADER_ASSIGNMENTS line")
    baked = f'export GRADER_ASSIGNMENTS="${{GRADER_ASSIGNMENTS-{",".join(assignments)}}}"'
    runner = runner.replace(ASSIGNMENTS_LINE, baked)
    try:
        secret = None if public_only else read_secret(COURSE / "solutions")
    except CourseError as exc:
        raise SystemExit(f"make_autograder: {exc}") from None
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        _add_executable(archive, "setup.sh", (HERE / "setup.sh").read_text())
        _add_executable(archive, "run_autograder", runner)
        for name in ("pyproject.toml", "README.md"):
            archive.write(COURSE / name, name)
        _add_tree(archive, COURSE / "grader", "grader")
        _add_tree(archive, COURSE / "templates", "templates")
        for name in assignments:
            _add_tree(archive, COURSE / "assignments" / name, f"assignments/{name}")
            if not public_only:
                _add_tree(archive, COURSE / "solutions" / name, f"solutions/{name}")
        if not public_only:
            archive.writestr(f"solutions/{FILENAME}", secret.hex() + "\n")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="+", help="assignment names, e.g. conv")
    parser.add_argument("--out", type=Path, default=Path("autograder.zip"))
    parser.add_argument("--public-only", action="store_true",
                        help="leave the reference solutions and hidden tests out of the zip")
    args = parser.parse_args(argv)
    print(build(args.assignments, args.out, args.public_only))
    return 0


if __name__ == "__main__":
    sys.exit(main())
