"""Speed verdicts that background work cannot rig: loops plus burners lose both conv speed tests."""
from __future__ import annotations

import pytest

from tests.helpers import assignment_tests, grade, make_submission
from tests.speed_rigs import RIGS

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("kind", sorted(RIGS))
def test_loops_with_background_burners_lose_both_speed_tests(tmp_path, kind):
    results = grade(make_submission(tmp_path, "conv", append=RIGS[kind], name=f"rig-{kind}"), ["conv"],
                    keyword="speed")
    speed = [t for t in assignment_tests(results, "conv") if "speed" in t["tags"]]
    assert len(speed) == 2
    assert all(t["score"] == 0 for t in speed), [t["output"] for t in speed]
