"""The Gradescope autograder zip, from the same machinery as the student release.

The zip is the student release of the chosen assignments (checked by the leak guard) plus, at
its root, ``setup.sh`` and ``run_autograder`` (executable; ``GRADER_ASSIGNMENTS`` set to those
assignments), the guard run again on all of it but the instructor-only part, which is added
last: ``solutions/<name>/`` (reference and hidden tests) and the course secret as
``solutions/.course-secret``, the one local grading uses, so Gradescope draws the same hidden
inputs as `grader grade`. With ``public_only`` that part is left out and Gradescope runs the
public tests only. ``setup.sh`` installs the wheel from ``dist/``.
"""
from __future__ import annotations

from pathlib import Path

from ..course import AssignmentSpec, Course
from ..secret import FILENAME, read_secret
from .build import Release, ReleaseError, folder_files, skeletons, student_release
from .guard import course_secrets, guard
from .wheel import source_tree

SCRIPTS = ("setup.sh", "run_autograder")
ASSIGNMENTS_LINE = 'export GRADER_ASSIGNMENTS="${GRADER_ASSIGNMENTS-}"'


def _scripts(names: list[str]) -> dict[str, bytes]:
    tree = source_tree()
    folder = tree / "gradescope" if tree else None
    if folder is None or not all((folder / s).is_file() for s in SCRIPTS):
        raise ReleaseError("gradescope/setup.sh and gradescope/run_autograder are not beside the grader "
                           "package here (the autograder is built from the grader's source tree)")
    runner = (folder / "run_autograder").read_text(encoding="utf-8")
    if ASSIGNMENTS_LINE not in runner:
        raise ReleaseError("gradescope/run_autograder no longer has the GRADER_ASSIGNMENTS line")
    runner = runner.replace(ASSIGNMENTS_LINE, f'export GRADER_ASSIGNMENTS="${{GRADER_ASSIGNMENTS-{",".join(names)}}}"')
    return {"setup.sh": (folder / "setup.sh").read_bytes(), "run_autograder": runner.encode()}


def autograder_release(course: Course, specs: list[AssignmentSpec], wheel: Path, public_only: bool = False) -> Release:
    release = student_release(course, specs, wheel)
    files = {**release.files, **_scripts([s.name for s in specs])}
    guard(files, course_secrets(course, skeletons(course)))     # everything but the instructor-only part
    if not public_only:
        for spec in specs:
            files.update(folder_files(spec.solution_folder, f"solutions/{spec.name}"))
        files[f"solutions/{FILENAME}"] = (read_secret(course.root / "solutions").hex() + "\n").encode()
    return Release(files, release.manifest, set(SCRIPTS))
