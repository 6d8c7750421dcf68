"""Each assignment's skeleton, generated from its marked reference, and the checks that keep the
committed skeleton (``assignments/<name>/<module>.py``, what tests and `grader check` read in the
course repository) equal to it and its interface equal to the reference's."""
from __future__ import annotations

from ..course import AssignmentSpec
from ..files import atomic_write
from .markers import MarkerError, has_markers, skeleton_source
from .signatures import signature_problems


def _where(spec: AssignmentSpec, path) -> str:
    try:
        return path.relative_to(spec.folder.parent.parent).as_posix()
    except ValueError:
        return str(path)


def generated_skeleton(spec: AssignmentSpec) -> str | None:
    """The skeleton generated from the reference, or None when the reference has no markers (a
    course that keeps a hand-written skeleton). MarkerError for malformed markers."""
    source = spec.solution_file.read_text(encoding="utf-8")
    return skeleton_source(source, _where(spec, spec.solution_file)) if has_markers(source) else None


def skeleton_text(spec: AssignmentSpec) -> str:
    """What students get: the generated skeleton, else the committed one."""
    if spec.has_solution:
        generated = generated_skeleton(spec)
        if generated is not None:
            return generated
    return spec.skeleton_file.read_text(encoding="utf-8")


def skeleton_problems(spec: AssignmentSpec) -> list[str]:
    """Lines for `grader validate`: markers, a committed skeleton out of date, signatures."""
    try:
        generated = generated_skeleton(spec)
    except MarkerError as exc:
        return [f"solution markers: {exc}"]
    committed = spec.skeleton_file.read_text(encoding="utf-8") if spec.skeleton_file.is_file() else None
    problems = []
    if generated is not None and committed != generated:
        problems.append(f"{_where(spec, spec.skeleton_file)} is not the skeleton generated from "
                        f"{_where(spec, spec.solution_file)} (run: grader skeleton {spec.name})")
    skeleton = committed if committed is not None else generated
    if skeleton is None:
        return [*problems, f"no skeleton: {_where(spec, spec.skeleton_file)} is missing"]
    reference = spec.solution_file.read_text(encoding="utf-8")
    return problems + [f"signature: {p}" for p in signature_problems(skeleton, reference)]


def write_skeleton(spec: AssignmentSpec) -> bool | None:
    """Write the generated skeleton to assignments/<name>/<module>.py; True when it changed,
    None when the reference has no markers (nothing generated)."""
    generated = generated_skeleton(spec)
    if generated is None:
        return None
    if spec.skeleton_file.is_file() and spec.skeleton_file.read_text(encoding="utf-8") == generated:
        return False
    atomic_write(spec.skeleton_file, generated)
    return True
