"""`grader validate [NAME]`: each reference earns every point, each untouched skeleton none (the
skeleton generated from a marked reference, which must equal the committed one), and skeleton and
reference have the same public functions with the same signatures."""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from .. import console
from ..files import atomic_write
from ..inventory import count_points
from ..pipeline import grade_submission
from ..release import MarkerError, generated_skeleton, skeleton_problems
from .common import CommandError, course_of, options_of
from .mistakes import validate_mistakes


def _grade_skeleton(spec, course, options):
    """The generated skeleton, graded (the committed one where the reference has no markers)."""
    try:
        generated = generated_skeleton(spec)
    except MarkerError:
        generated = None  # reported by skeleton_problems
    if generated is None:
        return grade_submission(spec.folder, course, [spec.name], options).assignments[0]
    with tempfile.TemporaryDirectory(prefix="grader-skeleton-") as tmp:
        atomic_write(Path(tmp) / spec.filename, generated)
        return grade_submission(Path(tmp), course, [spec.name], options).assignments[0]


def run(args: argparse.Namespace) -> int:
    if getattr(args, "mistakes", False):
        return validate_mistakes(args)
    course = course_of(args)
    specs = course.select([args.name] if args.name else None)
    rows = []
    for spec in specs:
        if not spec.has_solution:
            raise CommandError(f"{spec.name}: no reference solution and hidden tests under {spec.solution_folder}")
        reference = grade_submission(spec.solution_folder, course, [spec.name], options_of(args)).assignments[0]
        skeleton = _grade_skeleton(spec, course, options_of(args))
        points = count_points(spec)
        problems = skeleton_problems(spec)
        if reference.error or reference.score < reference.max_score:
            lost = [t.name for t in reference.tests if not t.passed]
            problems.append(f"reference loses points: {reference.error or '; '.join(lost[:5])}")
        if skeleton.score > 0:
            problems.append("skeleton earns points: " + "; ".join(t.name for t in skeleton.tests if t.passed)[:300])
        if spec.hidden_points is not None and points.hidden != spec.hidden_points:
            problems.append(f"assignment.toml says hidden_points = {spec.hidden_points:g}, the hidden tests hold {points.hidden:g}")
        rows.append((spec, reference, skeleton, problems))
    console.print_validate(rows)
    return 1 if any(problems for *_, problems in rows) else 0
