"""What an assignment's tests are worth, counted by collecting them (no student code runs)."""
from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path

import pytest

from .course import AssignmentSpec
from .testing.plugin import MARKERS

PYTEST_INI = Path(__file__).with_name("testing") / "pytest.ini"


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

    def pytest_configure(self, config: pytest.Config) -> None:
        for marker, text in MARKERS.items():
            config.addinivalue_line("markers", f"{marker}: {text}")

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            side = "hidden" if Path(item.path).is_relative_to(self.hidden_dir) else "public"
            marker = item.get_closest_marker("points")
            self.points[side] += float(marker.args[0]) if marker else 1.0
            self.counts[side] += 1


def count_points(spec: AssignmentSpec) -> Points:
    paths = [str(p) for p in (spec.public_tests, spec.hidden_tests) if p.is_dir()]
    counter = _Counter(spec.hidden_tests)
    if paths:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            pytest.main([*paths, "--collect-only", "-q", "-c", str(PYTEST_INI), "-p", "no:cacheprovider",
                         "--rootdir", str(spec.folder.parent.parent), "--import-mode=importlib"],
                        plugins=[counter])
    return Points(counter.points["public"], counter.points["hidden"],
                  counter.counts["public"], counter.counts["hidden"])
