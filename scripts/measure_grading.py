"""Wall time and peak memory of `check` and `grade` on one submission, in this process.

    python scripts/measure_grading.py conv [--append FILE]   # FILE: source appended to the reference

Peak memory: the grader is this process (ru_maxrss of self); a child is the largest sandboxed
child it waited for (ru_maxrss of children).
"""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grader.pipeline import GradeOptions, grade_submission  # noqa: E402
from tests.helpers import COURSE, make_submission  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("assignment")
    parser.add_argument("--append", type=Path, help="source appended to the reference (a mutant or an attack)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        append = args.append.read_text() if args.append else ""
        folder = make_submission(Path(tmp), args.assignment, append=append)
        for label, options in (("check (public tests)", GradeOptions(public_only=True)), ("grade (all tests)", GradeOptions())):
            started = time.perf_counter()
            result = grade_submission(folder, COURSE, [args.assignment], options)
            secs = time.perf_counter() - started
            print(f"{label}: {secs:.2f} s, score {result.score:g}/{result.max_score:g}, sandbox {result.sandbox}")
    print(f"peak memory: grader {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB, "
          f"largest child {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
