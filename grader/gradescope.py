"""Gradescope mode: grade the one submission Gradescope hands us and write its results.json.

Run by ``gradescope/run_autograder`` as ``python -m grader.gradescope``. Paths come
from environment variables so the same script runs locally for testing:

    GRADESCOPE_SUBMISSION_DIR   the student's files          (default /autograder/submission)
    GRADESCOPE_RESULTS_DIR      where results.json goes     (default /autograder/results)
    GRADER_COURSE               the course (assignments/, solutions/, templates/)
                                                             (default /autograder/source)
    GRADER_ASSIGNMENTS          assignments to grade, comma-separated (default: all)
    GRADER_SANDBOX, GRADER_DEVICE, GRADER_SEED, GRADER_ASSIGNMENT_BUDGET
                                as --sandbox / --device / --seed / --budget

A results.json is always written, even when the submission is refused or the autograder is
misconfigured (score 0 and a one-line reason in "output"), so the student sees why. Its
"output" (shown to students) names the assignments that could not be graded, the points
waiting in hidden tests when only public tests ran (an autograder built with --public-only),
and the sandbox and device.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from .course import CourseError, find_course
from .files import atomic_write
from .intake import SubmissionError, is_archive
from .models import TEXT_FORMAT, GradingResult, GradingStatus
from .options import GradeOptions, from_environment
from .pipeline import grade_submission
from .reports.results_json import results_dict
from .reports.sanitize import clean

DEFAULTS = {"GRADESCOPE_SUBMISSION_DIR": "/autograder/submission",
            "GRADESCOPE_RESULTS_DIR": "/autograder/results",
            "GRADER_COURSE": "/autograder/source"}


def _setting(name: str) -> str:
    return os.environ.get(name) or DEFAULTS.get(name, "")


def submission_path(folder: Path) -> Path:
    """What to grade in Gradescope's submission folder: the folder itself, or, when it holds
    no Python file or notebook but exactly one archive (a student who uploaded a .zip), that archive."""
    if folder.is_dir() and not any(p.suffix.lower() in (".py", ".ipynb") for p in folder.rglob("*")):
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
    data["output"] = clean(summary_output(result))
    data["stdout_visibility"] = "hidden"
    return data


def summary_output(result: GradingResult) -> str:
    """The text above the tests on Gradescope: an empty submission, each file graded and how it
    was found, what was not graded (once per assignment: its tests only point here), what waits
    in hidden tests, what was ignored, and where the code ran (not yet cleaned)."""
    notes = ["Empty submission: no file for any assignment was found."] \
        if result.status == GradingStatus.EMPTY else []
    for a in result.assignments:
        notes += ([f"{a.name}: graded {a.graded_path}"] if a.graded_path else []) + [f"{a.name}: {n}" for n in a.notes]
    notes += [f"{a.name}: not graded ({a.error})" for a in result.assignments if a.error]
    for a in result.assignments:
        if a.public_only:
            waiting = f"; {a.hidden_points:g} more points are in hidden tests run by course staff" \
                if a.hidden_points else ""
            notes.append(f"{a.name}: public tests only{waiting}")
    if result.ignored:
        notes.append(f"ignored (not needed for grading): {', '.join(result.ignored)}")
    return "\n".join([*notes, f"sandbox: {result.isolation_summary} · device: {result.device}"])


def main() -> int:
    results_dir = Path(_setting("GRADESCOPE_RESULTS_DIR"))
    names = [n.strip() for n in _setting("GRADER_ASSIGNMENTS").split(",") if n.strip()] or None
    options = from_environment(os.environ).with_outputs(results_dir)
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
