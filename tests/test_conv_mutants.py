"""Wrong-but-plausible convolution solutions lose exactly the tests of what they break.

Each submission is graded once (module-scoped fixtures); the assertions name the lost tests
by their tags and by the stride in their case id (N..-C..-H..-W..-D..-F..-S<stride>-P..).
"""
import importlib.util
import re

import numpy as np
import pytest

import helpers
from helpers import (COURSE, assignment_score, declared, grade, lost, make_submission, mistake_submission,
                     skeleton_submission)

# The mutants are the catalogued mistakes (solutions/conv/mistakes.py): their edits and the
# tests each must fail are read from there.


def _numbers(tests):
    return sorted(t["number"] for t in tests)


def _tests(results):
    return helpers.assignment_tests(results, "conv")


def _tagged(results, *, any_of=(), all_of=(), none_of=()):
    return [t for t in _tests(results)
            if set(all_of) <= set(t["tags"]) and (not any_of or set(any_of) & set(t["tags"]))
            and not set(none_of) & set(t["tags"])]


def _stride(test):
    """The stride in the test's case id, or None for tests without one."""
    match = re.search(r"-S(\d+)-P\d+", test["name"])
    return int(match.group(1)) if match else None


def _check_losses(results, expected):
    """The submission loses all points of the `expected` tests and no others."""
    assert _numbers(lost(results, "conv")) == _numbers(expected), \
        sorted(t["name"] for t in lost(results, "conv"))
    assert all(t["score"] == 0 for t in expected)
    score, max_score = assignment_score(results, "conv")
    assert score == max_score - sum(t["max_score"] for t in expected)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("conv-mutants")


@pytest.fixture(scope="module")
def reference_results(workdir):
    return grade(make_submission(workdir, "conv", name="reference"), ["conv"])


@pytest.fixture(scope="module")
def loops_results(workdir):
    return grade(mistake_submission(workdir, "conv", "vectorised-calls-the-loops"), ["conv"])


@pytest.fixture(scope="module")
def flipped_results(workdir):
    return grade(mistake_submission(workdir, "conv", "flipped-kernel"), ["conv"])


@pytest.fixture(scope="module")
def stride_ignored_results(workdir):
    return grade(mistake_submission(workdir, "conv", "stride-ignored-in-backward"), ["conv"])


@pytest.fixture(scope="module")
def no_bias_gradient_results(workdir):
    return grade(mistake_submission(workdir, "conv", "bias-gradient-missing"), ["conv"])


def test_reference_scores_full_marks(reference_results):
    score, max_score = assignment_score(reference_results, "conv")
    assert score == max_score > 0, [t["output"] for t in lost(reference_results, "conv")]
    assert max_score == sum(t["max_score"] for t in _tests(reference_results))
    hidden = [t for t in _tests(reference_results) if t["visibility"] == "after_due_date"]
    assert sum(t["max_score"] for t in hidden) == COURSE.assignment("conv").hidden_points


def test_skeleton_scores_zero(tmp_path):
    results = grade(skeleton_submission(tmp_path, "conv"), ["conv"])
    assert assignment_score(results, "conv")[0] == 0
    assert len(_tests(results)) > 0


def test_loops_as_vectorised_versions_lose_only_the_speed_tests(loops_results):
    expected = declared(loops_results, "conv", "vectorised-calls-the-loops")
    assert expected == _tagged(loops_results, all_of=("speed",))
    assert len(expected) == 2
    _check_losses(loops_results, expected)


def test_flipped_kernel_loses_the_forward_tests(flipped_results):
    # Lost: every forward value test whose kernel is not symmetric under a 180-degree rotation
    # (hidden: random kernels; public: the hand-made asymmetric ones) and the forward speed test
    # (its outputs are compared too). The mutant keeps the reference's backward, and when grading
    # the gradient checks differentiate the reference forward: they pass.
    expected = declared(flipped_results, "conv", "flipped-kernel")
    assert len(expected) >= 15
    _check_losses(flipped_results, expected)
    kept = _tagged(flipped_results, all_of=("output_size",))
    assert kept and not set(_numbers(kept)) & set(_numbers(lost(flipped_results, "conv")))


def test_backward_ignoring_the_stride_loses_only_stride_2_tests(stride_ignored_results):
    # dx and dw go wrong wherever S > 1; db (a plain sum of dz) and every S = 1 case stay right.
    lost_tests = lost(stride_ignored_results, "conv")
    assert lost_tests and all((_stride(t) or 1) > 1 for t in lost_tests)
    expected = declared(stride_ignored_results, "conv", "stride-ignored-in-backward")
    assert expected == [t for t in _tagged(stride_ignored_results, any_of=("dx", "dw")) if (_stride(t) or 1) > 1]
    assert len(expected) >= 16
    _check_losses(stride_ignored_results, expected)


def test_missing_bias_gradient_loses_only_the_db_tests(no_bias_gradient_results):
    expected = declared(no_bias_gradient_results, "conv", "bias-gradient-missing")
    assert len(expected) >= 10
    _check_losses(no_bias_gradient_results, expected)


def _load_reference():
    spec = importlib.util.spec_from_file_location("conv_reference_for_tests", COURSE.assignment("conv").solution_file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("H, stride, pad", [(8, 1, 0), (9, 2, 1), (8, 3, 2)])
def test_reference_agrees_with_scipy_correlate(H, stride, pad):
    """The reference itself, against an independent implementation (scipy.signal.correlate)."""
    from scipy.signal import correlate
    ref = _load_reference()
    rng = np.random.default_rng(stride * 10 + pad)
    x, w, b = rng.standard_normal((2, 3, H, 11)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    H_out, W_out = ref.conv_output_size(H, 3, stride, pad), ref.conv_output_size(11, 3, stride, pad)
    expected = np.array([[correlate(padded[n], w[d], mode="valid")[0, ::stride, ::stride] + b[d]
                          for d in range(4)] for n in range(2)])
    assert expected.shape == (2, 4, H_out, W_out)
    for forward in (ref.conv2d_forward, ref.conv2d_forward_naive):
        np.testing.assert_allclose(forward(x, w, b, stride, pad), expected, rtol=1e-12, atol=1e-12)
    # Backward: L = sum(z * g) is linear, so one centred difference per entry is exact up to rounding.
    g = rng.standard_normal(expected.shape)
    for backward in (ref.conv2d_backward, ref.conv2d_backward_naive):
        dx, dw, db = backward(g, x, w, b, stride, pad)
        for grad, (k, arr) in zip((dx, dw, db), enumerate((x, w, b))):
            numeric = np.zeros_like(arr)
            for idx in np.ndindex(arr.shape):
                args = [x.copy(), w.copy(), b.copy()]
                args[k][idx] += 1e-6
                plus = np.sum(ref.conv2d_forward(*args, stride, pad) * g)
                args[k][idx] -= 2e-6
                minus = np.sum(ref.conv2d_forward(*args, stride, pad) * g)
                numeric[idx] = (plus - minus) / 2e-6
            np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-7)
