"""The students' self-check: the public tests on their own file, from a terminal (`grader check`)
or a notebook (`grader.check`), with the release they have."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from . import __version__
from .course import AssignmentSpec, Course, CourseError
from .models import GradingResult
from .options import GradeOptions
from .pipeline import grade_submission
from .release import describe, read_manifest


def student_folder(spec: AssignmentSpec, path: Path | None = None) -> Path:
    """`path` when given; else the current folder when it holds the student's file; else the
    assignment's folder in the course (the skeleton, in a fresh release)."""
    if path is not None:
        if not Path(path).is_dir():
            raise CourseError(f"no such folder: {path}")
        return Path(path)
    if (Path.cwd() / spec.filename).is_file():
        return Path.cwd()
    return spec.folder


def self_check(course: Course, name: str, path: Path | None, options: GradeOptions) -> tuple[GradingResult, str | None]:
    """The graded public tests, and the line naming the release (None outside a release)."""
    spec = course.assignment(name)
    result = grade_submission(student_folder(spec, path), course, [spec.name], replace(options, public_only=True))
    manifest = read_manifest(course.root)
    return result, describe(manifest, __version__) if manifest else None


def all_passed(result: GradingResult) -> bool:
    assignment = result.assignments[0]
    return assignment.error is None and all(t.passed for t in assignment.tests)
