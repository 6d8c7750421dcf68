"""Wrong-but-plausible architecture arithmetic loses exactly the tests of what it breaks."""
import pytest

import helpers
from helpers import assignment_score, declared, grade, lost, mistake, mistake_submission


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


@pytest.fixture(scope="module")
def wrong_depth_results(workdir):
    return grade(mistake_submission(workdir, "arch", "depth-from-the-wrong-layer"), ["arch"])


def test_conv_depth_from_the_wrong_layer_loses_table_parameters_where_the_depth_changes(wrong_depth_results):
    # F^2 D D + D instead of F^2 C D + D in layer_table: wrong wherever a conv layer changes the
    # depth (VGG-16's blocks 1 to 4 each open with one, block 5 keeps 512, the head has none).
    results, name = wrong_depth_results, "depth-from-the-wrong-layer"
    expected = declared(results, "arch", name)
    tables = [t for t in helpers.assignment_tests(results, "arch") if {"table", "params"} <= set(t["tags"])]
    unchanged = [t for t in tables if "block 5" in t["name"] or "head" in t["name"]]
    assert expected == [t for t in tables if t not in unchanged]
    assert len(expected) >= 8 and len(unchanged) == 2
    assert any("total" in t["name"] for t in expected)
    _check_losses(results, expected)
    # Block 5 and the head pass (and, by _check_losses, the shapes, activations, counts and fc_to_conv).
    assert all(t["score"] == t["max_score"] for t in unchanged)
    (arch,) = [a for a in results["assignments"] if a["name"] == "arch"]
    assert any(d.startswith(mistake("arch", name).diagnosis) for d in arch["diagnoses"])
