"""Wrong-but-plausible max pooling solutions lose exactly the tests of what they break."""
import re

import numpy as np
import pytest

import helpers
from helpers import COURSE, assignment_score, declared, grade, load_module, lost, mistake, mistake_submission

# The mutants are the catalogued mistakes (solutions/pool/mistakes.py): edits and declared tests.


def _numbers(tests):
    return sorted(t["number"] for t in tests)


def _tagged(results, *, all_of=(), any_of=(), none_of=()):
    return [t for t in helpers.assignment_tests(results, "pool")
            if set(all_of) <= set(t["tags"]) and (not any_of or set(any_of) & set(t["tags"]))
            and not set(none_of) & set(t["tags"])]


def _stride_one(test):
    """Whether the test's case has stride 1 (case ids "F1 S1 ...", "F3 S1 ...", or "(F = 3, S = 1)")."""
    return re.search(r"\bS1\b|\bS = 1\b", test["name"]) is not None


def _diagnosed(results, name):
    """Whether the grading names the catalogued mistake `name` as the likely one."""
    (pool,) = [a for a in results["assignments"] if a["name"] == "pool"]
    return any(d.startswith(mistake("pool", name).diagnosis) for d in pool["diagnoses"])


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


def test_gradient_to_the_last_tied_maximum_loses_the_same_ties_tests_and_is_named(workdir):
    # The offsets visited in reverse: on ties delta_kl goes to the last maximum; without ties,
    # the one maximum gets it, so only the ties tests can tell.
    name = "last-tied-maximum"
    results = grade(mistake_submission(workdir, "pool", name), ["pool"])
    expected = declared(results, "pool", name)
    assert expected == _tagged(results, all_of=("ties",)) and len(expected) >= 4
    _check_losses(results, expected)
    assert _diagnosed(results, name)


def test_loop_over_output_positions_loses_speed_tests_only(workdir):
    # Correct results everywhere, but a Python loop over every output position (k, l).
    name = "loop-over-output-positions"
    sub = mistake_submission(workdir, "pool", name)
    results = grade(sub, ["pool"])
    expected = declared(results, "pool", name)
    assert expected == _tagged(results, all_of=("speed",))
    assert len(expected) == 2
    _check_losses(results, expected)


# -- entries graded once per module (the sharper assertions below share a grading) -------------

@pytest.fixture(scope="module")
def stride_step_1_results(workdir):
    return grade(mistake_submission(workdir, "pool", "stride-ignored-windows-step-by-1"), ["pool"])


@pytest.fixture(scope="module")
def padded_results(workdir):
    return grade(mistake_submission(workdir, "pool", "last-window-padded"), ["pool"])


@pytest.fixture(scope="module")
def swapped_results(workdir):
    return grade(mistake_submission(workdir, "pool", "argmax-row-column-swapped"), ["pool"])


def test_windows_stepping_by_1_lose_every_value_test_with_a_stride_above_1(stride_step_1_results):
    # Window (k, l) starts at (k, l) instead of (kS, lS): the output shape is right (it comes from
    # the formula) but the values are those of stride 1.
    results, name = stride_step_1_results, "stride-ignored-windows-step-by-1"
    expected = declared(results, "pool", name)
    values = _tagged(results, any_of=("forward", "backward"), none_of=("value_error",))
    assert expected == [t for t in values if not _stride_one(t) and "returns shape" not in t["name"]]
    assert len(expected) >= 15
    assert {"maxpool_forward is vectorised (speed against the reference)",
            "maxpool_backward is vectorised (speed against the reference)"} <= {t["name"] for t in expected}
    _check_losses(results, expected)
    # With S = 1 the windows step by 1 anyway: those cases (F1 S1, F3 S1, public F = 3, S = 1) pass.
    stride_one = [t for t in values if _stride_one(t)]
    assert len(stride_one) >= 7 and all(t["score"] == t["max_score"] for t in stride_one)
    assert _diagnosed(results, name)


def test_padding_the_last_window_loses_the_tiling_checks_only(padded_results):
    # ceil((H - F)/S) + 1 windows with the input padded, instead of ValueError: the forward's
    # "(H - F) % S != 0" checks catch it, and the backward's, which also passes dz of the padded shape.
    results, name = padded_results, "last-window-padded"
    expected = declared(results, "pool", name)
    forward = [t for t in _tagged(results, all_of=("forward", "value_error"))
               if re.search(r"% stride != 0|multiple of S", t["name"])]
    backward = [t for t in _tagged(results, all_of=("backward", "value_error"))
                if "geometry that does not fit" in t["name"]]
    assert len(forward) == 3 and len(backward) == 1
    assert _numbers(expected) == _numbers(forward + backward)
    _check_losses(results, expected)
    # Every value test passes: where the windows tile, nothing is padded.
    assert all(t["score"] == t["max_score"] for t in _tagged(results, none_of=("value_error",)))
    assert _diagnosed(results, name)


def test_swapped_argmax_axes_lose_backward_tests_but_the_constant_input(swapped_results):
    # The window's maximum at (i, j) sends delta_kl to (j, i): every backward value test fails
    # except the constant input, whose first maximum is the top-left entry (i = j = 0).
    results, name = swapped_results, "argmax-row-column-swapped"
    expected = declared(results, "pool", name)
    backward = _tagged(results, all_of=("backward",), none_of=("value_error",))
    assert expected == [t for t in backward if "constant input" not in t["name"]]
    assert len(expected) == len(backward) - 1 >= 15
    _check_losses(results, expected)
    assert all(t["score"] == t["max_score"] for t in _tagged(results, all_of=("forward",)))
    assert _diagnosed(results, name)


@pytest.mark.parametrize("name", ["every-tied-maximum", "last-tied-maximum"])
def test_timed_inputs_never_hold_a_tie_so_a_tie_rule_mistake_passes_the_speed_tests(workdir, name):
    # The speed tests check every timed output against the reference's, on inputs drawn afresh in
    # each grading: a tie at some window's maximum would fail a tie-rule mistake there by chance
    # (it did: 1 grading in 40 with standard normal float32 inputs). Here on 30 seeds, in process.
    hidden = load_module(COURSE.assignment("pool").hidden_tests / "test_pool_hidden.py", "pool_hidden_for_tests")
    reference = load_module(COURSE.assignment("pool").solution_file, "pool_reference_for_tests")
    folder = mistake_submission(workdir, "pool", name)
    mutant = load_module(folder / COURSE.assignment("pool").filename, f"pool_mutant_{name.replace('-', '_')}")
    for seed in range(30):
        (dz, x), kwargs = hidden._speed_backward_case(np.random.default_rng(seed))
        assert x.dtype == np.float32 and np.unique(x).size == x.size
        np.testing.assert_array_equal(mutant.maxpool_backward(dz, x, **kwargs),
                                      reference.maxpool_backward(dz, x, **kwargs))
