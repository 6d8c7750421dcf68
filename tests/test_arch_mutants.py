"""Wrong-but-plausible architecture arithmetic loses exactly the tests of what it breaks."""
import pytest

import helpers
from helpers import assignment_score, declared, grade, lost, mistake_submission


def _numbers(tests):
    return sorted(t["number"] for t in tests)


def _check_losses(results, expected):
    """The mutant loses all points of the `expected` tests and no others."""
    assert _numbers(lost(results, "arch")) == _numbers(expected)
    assert all(t["score"] == 0 for t in expected)
    score, max_score = assignment_score(results, "arch")
    assert score == max_score - sum(t["max_score"] for t in expected)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("arch-mutants")


def test_counts_without_biases_lose_parameter_tests(workdir):
    # Weights only: F^2 C D instead of F^2 C D + D (conv and locally connected), n_in n_out
    # instead of n_out (n_in + 1) (fully connected); layer_table inherits the error.
    name = "biases-not-counted"
    sub = mistake_submission(workdir, "arch", name)
    results = grade(sub, ["arch"])
    expected = declared(results, "arch", name)
    assert expected == [t for t in helpers.assignment_tests(results, "arch") if "params" in t["tags"]]
    assert len(expected) >= 20
    _check_losses(results, expected)


def test_fc_weights_flattened_in_hwc_order_lose_fc_to_conv_tests(workdir):
    # Rows of w_fc read as (H, W, C) instead of the documented (C, H, W) order.
    name = "fc-weights-in-hwc-order"
    sub = mistake_submission(workdir, "arch", name)
    results = grade(sub, ["arch"])
    expected = declared(results, "arch", name)
    assert expected == [t for t in helpers.assignment_tests(results, "arch")
                        if "fc_to_conv" in t["tags"] and "value_error" not in t["tags"]]
    assert len(expected) >= 6
    _check_losses(results, expected)


def test_floor_division_instead_of_valueerror_loses_geometry_tests(workdir):
    # Windows that do not tile the input are silently floored (as some libraries do) instead
    # of raising ValueError.
    name = "floor-instead-of-valueerror"
    sub = mistake_submission(workdir, "arch", name)
    results = grade(sub, ["arch"])
    expected = declared(results, "arch", name)
    assert len(expected) == 2
    _check_losses(results, expected)
