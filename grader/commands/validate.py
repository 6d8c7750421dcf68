"""`grader validate [NAME]`: each reference earns every point, each untouched skeleton none."""
from __future__ import annotations

import argparse

from .. import console
from ..inventory import count_points
from ..pipeline import grade_submission
from .common import CommandError, course_of, options_of


def run(args: argparse.Namespace) -> int:
    course = course_of(args)
    specs = course.select([args.name] if args.name else None)
    rows = []
    for spec in specs:
        if not spec.has_solution:
            raise CommandError(f"{spec.name}: no reference solution and hidden tests under {spec.solution_folder}")
        reference = grade_submission(spec.solution_folder, course, [spec.name], options_of(args)).assignments[0]
        skeleton = grade_submission(spec.folder, course, [spec.name], options_of(args)).assignments[0]
        points = count_points(spec)
        problems = []
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
