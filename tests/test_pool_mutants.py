"""Wrong-but-plausible max pooling solutions lose exactly the tests of what they break."""
import pytest

import helpers
from helpers import assignment_score, declared, grade, lost, mistake_submission

# The mutants are the catalogued mistakes (solutions/pool/mistakes.py): edits and declared tests.


def _numbers(tests):
    return sorted(t["number"] for t in tests)


def _tagged(results, *, all_of=(), none_of=()):
    return [t for t in helpers.assignment_tests(results, "pool")
            if set(all_of) <= set(t["tags"]) and not set(none_of) & set(t["tags"])]


def _check_losses(results, expected):
    """The mutant loses all points of the `expected` tests and no others."""
    assert _numbers(lost(results, "pool")) == _numbers(expected)
    assert all(t["score"] == 0 for t in expected)
    score, max_score = assignment_score(results, "pool")
    assert score == max_score - sum(t["max_score"] for t in expected)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("pool-mutants")


def test_gradient_spread_over_the_window_loses_backward_tests(workdir):
    # Every entry of the window gets delta_kl / F^2, as in average pooling.
    name = "gradient-spread-over-window"
    sub = mistake_submission(workdir, "pool", name)
    results = grade(sub, ["pool"])
    expected = declared(results, "pool", name)
    assert expected == _tagged(results, all_of=("backward",), none_of=("value_error",))
    assert len(expected) >= 15
    _check_losses(results, expected)


def test_assigning_instead_of_accumulating_loses_overlap_tests(workdir):
    # dx[...] = instead of +=: where windows overlap (S < F) later offsets overwrite earlier ones.
    name = "assigned-not-accumulated"
    sub = mistake_submission(workdir, "pool", name)
    results = grade(sub, ["pool"])
    expected = declared(results, "pool", name)
    assert expected == _tagged(results, all_of=("backward", "overlap"))
    assert len(expected) >= 6
    _check_losses(results, expected)


def test_gradient_to_every_tied_maximum_loses_ties_tests(workdir):
    # Every entry equal to the window's maximum gets delta_kl, not only the first one.
    name = "every-tied-maximum"
    sub = mistake_submission(workdir, "pool", name)
    results = grade(sub, ["pool"])
    expected = declared(results, "pool", name)
    assert expected == _tagged(results, all_of=("ties",))
    assert len(expected) >= 4
    _check_losses(results, expected)


def test_loop_over_output_positions_loses_speed_tests_only(workdir):
    # Correct results everywhere, but a Python loop over every output position (k, l).
    name = "loop-over-output-positions"
    sub = mistake_submission(workdir, "pool", name)
    results = grade(sub, ["pool"])
    expected = declared(results, "pool", name)
    assert expected == _tagged(results, all_of=("speed",))
    assert len(expected) == 2
    _check_losses(results, expected)
