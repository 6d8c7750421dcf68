"""Gradescope mode: grade the one submission Gradescope hands us and write its results.json.

Run by ``gradescope/run_autograder`` as ``python -m grader.batch.gradescope``. Paths come
from environment variables so the same script runs locally for testing:

    GRADESCOPE_SUBMISSION_DIR   the student's files          (default /autograder/submission)
    GRADESCOPE_RESULTS_DIR      where results.json goes     (default /autograder/results)
    GRADER_COURSE               the course (assignments/, solutions/, templates/)
                                                             (default /autograder/source)
    GRADER_ASSIGNMENTS          assignments to grade, comma-separated (default: all)
    GRADER_SANDBOX, GRADER_DEVICE   as --sandbox / --device (default auto)

A results.json is always written, even when the submission is refused or the autograder is
misconfigured (score 0 and a one-line reason in "output"), so the student sees why.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from ..course import CourseError, find_course
from ..intake import SubmissionError, is_archive
from ..pipeline import GradeOptions, grade_submission
from ..reports.render import atomic_write
from ..reports.results_json import TEXT_FORMAT, results_dict
from ..reports.sanitize import clean

DEFAULTS = {"GRADESCOPE_SUBMISSION_DIR": "/autograder/submission",
            "GRADESCOPE_RESULTS_DIR": "/autograder/results",
            "GRADER_COURSE": "/autograder/source"}


def _setting(name: str) -> str:
    return os.environ.get(name) or DEFAULTS.get(name, "")


def submission_path(folder: Path) -> Path:
    """What to grade in Gradescope's submission folder: the folder itself, or, when it holds
    no Python file but exactly one archive (a student who uploaded a .zip), that archive."""
    if folder.is_dir() and not any(folder.rglob("*.py")):
        archives = [p for p in folder.iterdir() if p.is_file() and not p.is_symlink() and is_archive(p)]
        if len(archives) == 1:
            return archives[0]
    return folder


def failure_results(reason: str) -> dict:
    return {"score": 0.0, "execution_time": 0.0, "output": clean(f"Not graded: {reason}"),
            "output_format": TEXT_FORMAT, "stdout_visibility": "hidden", "tests": []}


def gradescope_results(submission: Path, course_root: Path, assignments: list[str] | None,
                       options: GradeOptions) -> dict:
    course = find_course(course_root)
    result = grade_submission(submission_path(submission), course, assignments, options)
    data = results_dict(result)
    notes = [f"{a['name']}: not graded ({a['error']})" for a in data["assignments"] if a["error"]]  # cleaned
    sandbox = f"sandbox: {result.isolation_summary}"
    data["output"] = clean("\n".join([*notes, f"{sandbox} · device: {result.device}"]))
    data["stdout_visibility"] = "hidden"
    return data


def main() -> int:
    results_dir = Path(_setting("GRADESCOPE_RESULTS_DIR"))
    names = [n.strip() for n in _setting("GRADER_ASSIGNMENTS").split(",") if n.strip()] or None
    options = GradeOptions(sandbox=_setting("GRADER_SANDBOX") or "auto", device=_setting("GRADER_DEVICE") or "auto",
                           hide=(str(results_dir.resolve()),))
    code = 0
    try:
        data = gradescope_results(Path(_setting("GRADESCOPE_SUBMISSION_DIR")), Path(_setting("GRADER_COURSE")),
                                  names, options)
    except SubmissionError as exc:
        data = failure_results(str(exc))
    except CourseError as exc:  # the autograder itself is broken: say so to staff (stdout) and student
        print(f"grader: autograder misconfigured: {exc}", file=sys.stderr)
        data, code = failure_results(f"the autograder is misconfigured ({exc}); please tell the course staff"), 2
    results_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(results_dir / "results.json", json.dumps(data, indent=2) + "\n")
    print(f"grader: score {data['score']:g}" + (f"/{data['max_score']:g}" if "max_score" in data else "")
          + f" -> {results_dir / 'results.json'}")
    return code


if __name__ == "__main__":
    sys.exit(main())
