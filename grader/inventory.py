"""What an assignment's tests are worth, counted by collecting them (no student code runs)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from .course import AssignmentSpec
from .testing.points import points_of
from .testing.runner import run_pytest


@dataclass(frozen=True)
class Points:
    public: float
    hidden: float
    public_tests: int
    hidden_tests: int


class _Counter:
    def __init__(self, hidden_dir: Path):
        self.hidden_dir = hidden_dir
        self.points = {"public": 0.0, "hidden": 0.0}
        self.counts = {"public": 0, "hidden": 0}

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            test = points_of(item, self.hidden_dir)
            side = "hidden" if test.hidden else "public"
            self.points[side] += test.points
            self.counts[side] += 1


def count_points(spec: AssignmentSpec) -> Points:
    paths = [str(p) for p in (spec.public_tests, spec.hidden_tests) if p.is_dir()]
    counter = _Counter(spec.hidden_tests)
    if paths:
        run_pytest(paths, spec.folder.parent.parent, [counter], ["--collect-only"])
    return Points(counter.points["public"], counter.points["hidden"],
                  counter.counts["public"], counter.counts["hidden"])
