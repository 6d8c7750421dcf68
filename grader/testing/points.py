"""What one test is worth and who sees it: decided here only, for grading and for counting.

A test's points come from its ``points(n)`` marker (1 without one); its visibility from its
``visibility(name)`` marker, else from where it lives: hidden tests (under ``solutions/``) are
``after_due_date``, public ones ``visible``. Only Gradescope's visibility values are accepted.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

DEFAULT_POINTS = 1.0
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")  # Gradescope's values


class VisibilityError(ValueError):
    """A ``visibility`` marker with a value Gradescope does not know."""


@dataclass(frozen=True)
class TestPoints:
    points: float
    visibility: str
    hidden: bool        # lives with the hidden tests


def points_of(item: pytest.Item, hidden_dir: Path | None) -> TestPoints:
    """The points and visibility of `item`; `hidden_dir` holds the hidden tests (None: none)."""
    hidden = hidden_dir is not None and Path(item.path).is_relative_to(hidden_dir)
    marker = item.get_closest_marker("points")
    points = float(marker.args[0]) if marker else DEFAULT_POINTS
    marker = item.get_closest_marker("visibility")
    visibility = marker.args[0] if marker else ("after_due_date" if hidden else "visible")
    if visibility not in VISIBILITIES:
        raise VisibilityError(f"visibility {visibility!r} is not one of {', '.join(VISIBILITIES)}")
    return TestPoints(points, visibility, hidden)
