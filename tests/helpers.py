"""Shared helpers for the framework's own tests: build submissions, grade them, read scores."""
from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from grader.course import Course, find_course
from grader.mistakes import Mistake, find
from grader.pipeline import GradeOptions, grade_submission
from grader.reports.results_json import results_dict

ROOT = Path(__file__).resolve().parents[1]
COURSE: Course = find_course(ROOT)


def make_submission(tmp_path: Path, assignment: str, *, replace: tuple[tuple[str, str], ...] = (),
                    append: str = "", source: str | None = None, name: str = "student") -> Path:
    """Write a submission folder holding the reference solution of `assignment`, edited.

    `replace` holds (old, new) pairs applied in order to the reference source; each `old` must
    occur in it (so a mutant cannot silently stop being one when the reference changes).
    `append` is added at the end (redefine a function there to override it). `source`, if given,
    replaces the whole file. Returns the submission folder.
    """
    spec = COURSE.assignment(assignment)
    text = source if source is not None else spec.solution_file.read_text()
    for old, new in replace:
        if old not in text:
            raise AssertionError(f"mutant edit does not apply: {old!r} not in the reference")
        text = text.replace(old, new)
    folder = tmp_path / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / spec.filename).write_text(text + ("\n" + append if append else ""))
    return folder


def load_module(path: Path, name: str):
    """Import the file at `path` as a module called `name`, in this process (for the framework's
    own tests only: a reference, a hidden test module or a mutant compared in process)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def mistake(assignment: str, name: str) -> Mistake:
    """The catalogued mistake `name` of `assignment` (solutions/<assignment>/mistakes.py)."""
    return find(COURSE.assignment(assignment), name)


def mistake_submission(tmp_path: Path, assignment: str, name: str) -> Path:
    """A submission folder holding the reference of `assignment` with the catalogued mistake made."""
    entry = mistake(assignment, name)
    return make_submission(tmp_path, assignment, replace=entry.replace, append=entry.append, name=name)


def declared(results: dict, assignment: str, name: str) -> list[dict]:
    """The tests of `assignment` the catalogued mistake `name` declares it must fail."""
    entry = mistake(assignment, name)
    return [t for t in assignment_tests(results, assignment) if entry.declared(t["name"], t["tags"])]


def skeleton_submission(tmp_path: Path, assignment: str) -> Path:
    spec = COURSE.assignment(assignment)
    folder = tmp_path / "skeleton"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(spec.skeleton_file, folder / spec.filename)
    return folder


def grade(submission: Path, assignments: list[str] | None = None, **options) -> dict:
    """Grade `submission` in this process and return the results.json dictionary."""
    result = grade_submission(submission, COURSE, assignments=assignments,
                              options=GradeOptions(**options))
    return results_dict(result)


def assignment_tests(results: dict, assignment: str) -> list[dict]:
    return [t for t in results["tests"] if t["number"].startswith(assignment + ".")]


def lost(results: dict, assignment: str) -> list[dict]:
    """Tests of `assignment` that did not earn full points."""
    return [t for t in assignment_tests(results, assignment) if t["score"] < t["max_score"]]


def assignment_score(results: dict, assignment: str) -> tuple[float, float]:
    for a in results["assignments"]:
        if a["name"] == assignment:
            return a["score"], a["max_score"]
    raise KeyError(assignment)
