"""The student release, built from the one source of each assignment and checked by the leak guard
before anything is written: statements, generated skeletons, public tests, ``assignment.toml``
with ``hidden_points`` counted from the hidden tests, the report templates, a student README, the
grader's wheel and the manifest. Nothing else: no solutions/, hidden tests, framework tests,
examples, scripts or git history."""
from __future__ import annotations

import io
import json
import re
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

from .. import __version__
from ..course import AssignmentSpec, Course
from ..files import atomic_write
from ..inventory import count_points
from .guard import SKIPPED, course_secrets, guard
from .manifest import MANIFEST, make_manifest, now
from .markers import MarkerError
from .skeletons import skeleton_text

README = Path(__file__).with_name("student_readme.md")
EXCLUDED_SUFFIXES = (".pyc", ".pyo")


class ReleaseError(Exception):
    """The release cannot be built (a one-line reason)."""


@dataclass
class Release:
    files: dict[str, bytes]                       # release path -> content
    manifest: dict
    executables: set[str] = field(default_factory=set)


def folder_files(folder: Path, prefix: str) -> dict[str, bytes]:
    """The plain files below `folder` (caches and compiled Python left out), as release paths."""
    files = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if SKIPPED & set(rel.parts) or path.suffix in EXCLUDED_SUFFIXES:
            continue
        if path.is_symlink() or not (path.is_file() or path.is_dir()):
            raise ReleaseError(f"{path} is a link or not a regular file; a release holds plain files only")
        if path.is_dir():
            continue
        files[f"{prefix}/{rel.as_posix()}"] = path.read_bytes()
    return files


def with_hidden_points(toml: str, points: float) -> str:
    line = f"hidden_points = {points:g}   # counted from the hidden tests by grader release"
    if re.search(r"(?m)^hidden_points\s*=.*$", toml):
        return re.sub(r"(?m)^hidden_points\s*=.*$", line, toml, count=1)
    return toml.rstrip("\n") + "\n" + line + "\n"


def skeletons(course: Course) -> dict[str, str]:
    try:
        return {s.name: skeleton_text(s) for s in course.assignments if s.skeleton_file.is_file() or s.has_solution}
    except MarkerError as exc:
        raise ReleaseError(f"solution markers: {exc}") from None
    except OSError as exc:
        raise ReleaseError(f"no skeleton: {exc}") from None


def _assignment(spec: AssignmentSpec, skeleton: str) -> tuple[dict[str, bytes], dict]:
    if not spec.has_solution:
        raise ReleaseError(f"{spec.name}: a release is built from the instructor's course: "
                           f"no reference and hidden tests under {spec.solution_folder}")
    points = count_points(spec)
    files = folder_files(spec.folder, f"assignments/{spec.name}")
    files[f"assignments/{spec.name}/{spec.filename}"] = skeleton.encode()
    toml = f"assignments/{spec.name}/assignment.toml"
    files[toml] = with_hidden_points(files[toml].decode("utf-8"), points.hidden).encode()
    return files, {"title": spec.title, "module": spec.module, "public_points": points.public,
                   "hidden_points": points.hidden}


def _readme(specs: list[AssignmentSpec], info: dict, wheel: str, created: str) -> bytes:
    listing = "\n".join(f"- **{s.name}** — {s.title}: `assignments/{s.name}/{s.filename}` "
                        f"({info[s.name]['public_points']:g} points in public tests, "
                        f"{info[s.name]['hidden_points']:g} in hidden tests)" for s in specs)
    text = Template(README.read_text(encoding="utf-8")).substitute(
        title="Assignments", created=created[:10], version=__version__, wheel=wheel, first=specs[0].name,
        module=specs[0].filename, assignments=listing)
    return text.encode()


def student_release(course: Course, specs: list[AssignmentSpec], wheel: Path) -> Release:
    """The student release of `specs`, with the grader wheel at `wheel`; LeakError if it would leak."""
    if not specs:
        raise ReleaseError("no assignment to release")
    given = skeletons(course)
    files, info = {}, {}
    for spec in specs:
        assignment_files, info[spec.name] = _assignment(spec, given[spec.name])
        files.update(assignment_files)
    if course.templates.is_dir():
        files.update(folder_files(course.templates, "templates"))
    files[f"dist/{wheel.name}"] = wheel.read_bytes()
    created = now()
    files["README.md"] = _readme(specs, info, wheel.name, created)
    manifest = make_manifest(files, __version__, created, info)
    files[MANIFEST] = (json.dumps(manifest, indent=2) + "\n").encode()
    guard(files, course_secrets(course, given))
    return Release(files, manifest)


def write_folder(release: Release, out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ReleaseError(f"{out} exists and is not an empty folder")
    for path, data in release.files.items():
        atomic_write(out / path, data)
        if path in release.executables:
            (out / path).chmod(0o755)


def zip_bytes(release: Release) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(release.files):
            info = zipfile.ZipInfo(path, date_time=time.localtime()[:6])
            info.external_attr = (0o100755 if path in release.executables else 0o100644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, release.files[path])
    return buffer.getvalue()


def write_zip(release: Release, path: Path) -> None:
    atomic_write(path, zip_bytes(release))
