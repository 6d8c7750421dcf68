"""The course on disk: where it is, which assignments it has, where their files and tests are."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


DEFAULT_IMPORTS = ("numpy",)   # assignment.toml `imports`; CuPy is added on a GPU


class CourseError(Exception):
    """The course folder or an assignment is missing or malformed (a one-line message)."""


@dataclass(frozen=True)
class AssignmentSpec:
    name: str
    title: str
    module: str
    order: int
    hidden_points: float | None
    imports: tuple[str, ...]   # third-party modules a submission may import (with the standard library)
    folder: Path               # assignments/<name>
    solution_folder: Path      # solutions/<name> (may not exist on a student's copy)

    @property
    def filename(self) -> str:
        return self.module + ".py"

    @property
    def skeleton_file(self) -> Path:
        return self.folder / self.filename

    @property
    def solution_file(self) -> Path:
        return self.solution_folder / self.filename

    @property
    def public_tests(self) -> Path:
        return self.folder / "tests"

    @property
    def hidden_tests(self) -> Path:
        return self.solution_folder / "tests"

    @property
    def has_solution(self) -> bool:
        return self.solution_file.is_file() and self.hidden_tests.is_dir()


@dataclass(frozen=True)
class Course:
    root: Path
    assignments: tuple[AssignmentSpec, ...]

    def assignment(self, name: str) -> AssignmentSpec:
        for spec in self.assignments:
            if spec.name == name:
                return spec
        known = ", ".join(s.name for s in self.assignments) or "none"
        raise CourseError(f"unknown assignment {name!r} (known: {known})")

    def select(self, names: list[str] | None) -> list[AssignmentSpec]:
        return [self.assignment(n) for n in names] if names else list(self.assignments)

    @property
    def templates(self) -> Path:
        return self.root / "templates"

    @property
    def has_solutions(self) -> bool:
        return (self.root / "solutions").is_dir()


def _is_course(path: Path) -> bool:
    return (path / "assignments").is_dir()


def find_course(start: Path | str | None = None) -> Course:
    """The course from `start` (--course), else $GRADER_COURSE, else the cwd and its parents."""
    if start is not None:
        candidates = [Path(start)]
    elif os.environ.get("GRADER_COURSE"):
        candidates = [Path(os.environ["GRADER_COURSE"])]
    else:
        cwd = Path.cwd()
        candidates = [cwd, *cwd.parents]
    for candidate in candidates:
        if _is_course(candidate):
            return load_course(candidate.resolve())
    if start is not None or os.environ.get("GRADER_COURSE"):
        raise CourseError(f"{candidates[0]} is not a course folder (it has no assignments/ folder)")
    raise CourseError("no course folder here or above (a folder with assignments/); use --course DIR")


def load_course(root: Path) -> Course:
    specs = []
    for folder in sorted((root / "assignments").iterdir()):
        meta_file = folder / "assignment.toml"
        if not meta_file.is_file():
            continue
        try:
            meta = tomllib.loads(meta_file.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise CourseError(f"{meta_file}: {exc}") from None
        specs.append(AssignmentSpec(
            name=folder.name, title=str(meta.get("title", folder.name)),
            module=str(meta.get("module", folder.name)), order=int(meta.get("order", 99)),
            hidden_points=meta.get("hidden_points"), folder=folder,
            imports=tuple(str(m) for m in meta.get("imports", DEFAULT_IMPORTS)),
            solution_folder=root / "solutions" / folder.name))
    specs.sort(key=lambda s: (s.order, s.name))
    return Course(root=root, assignments=tuple(specs))
