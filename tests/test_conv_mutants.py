"""Wrong-but-plausible convolution solutions lose exactly the tests of what they break.

Each submission is graded once (module-scoped fixtures); the assertions name the lost tests
by their tags and by the stride in their case id (N..-C..-H..-W..-D..-F..-S<stride>-P..).
"""
import re

import numpy as np
import pytest

import helpers
from helpers import (COURSE, assignment_score, declared, grade, lost, make_submission, mistake_submission,
                     skeleton_submission)

# The mutants are the catalogued mistakes (solutions/conv/mistakes.py): their edits and the
# tests each must fail are read from there. Each one is checked by a test below.
CHECKED = {"flipped-kernel", "stride-ignored-in-backward", "bias-gradient-missing", "vectorised-calls-the-loops",
           "crop-with-negative-pad", "weight-gradient-from-one-image", "bias-gradient-not-summed-over-batch",
           "output-size-floored", "transposed-kernel", "padding-on-one-side", "float32-output"}


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


@pytest.fixture(scope="module")
def graded(workdir):
    """graded(name): the results of the catalogued mistake `name`, graded once for the module."""
    cache = {}

    def results(name):
        if name not in cache:
            cache[name] = grade(mistake_submission(workdir, "conv", name), ["conv"])
        return cache[name]
    return results


def _pad(test):
    """The padding in the test's case id, or None for tests without one."""
    match = re.search(r"-S\d+-P(\d+)", test["name"])
    return int(match.group(1)) if match else None


def _named(tests, start):
    return [t for t in tests if t["name"].startswith(start)]


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


def test_every_catalogued_mistake_is_checked_here():
    from grader.mistakes import catalogue
    assert {m.name for m in catalogue(COURSE.assignment("conv"))} == CHECKED


def test_crop_with_negative_pad_loses_the_unpadded_dx_tests(graded):
    # dx_pad[:, :, P:-P] is right for P >= 1 and empty for P = 0 ([0:-0]): only the two P = 0
    # hidden cases' dx tests fail, on the shape; the public gradient checks and speed tests use P = 1.
    results = graded("crop-with-negative-pad")
    expected = declared(results, "conv", "crop-with-negative-pad")
    assert expected == [t for t in _tagged(results, all_of=("dx",)) if _pad(t) == 0]
    assert len(expected) == 4
    assert all("dx has shape" in t["output"] and "0, 0)" in t["output"] for t in expected)
    _check_losses(results, expected)


def test_weight_gradient_from_one_image_loses_every_dw_test(graded):
    # Every case has N >= 2, so every dw check fails, the timed backward included (its outputs are
    # compared); dx, db and the naive-versus-vectorised check (both wrong alike) stay right.
    results = graded("weight-gradient-from-one-image")
    expected = declared(results, "conv", "weight-gradient-from-one-image")
    assert expected == _tagged(results, all_of=("dw",))
    assert len(expected) >= 16
    _check_losses(results, expected)


def test_bias_gradient_not_summed_over_the_batch_loses_the_db_tests_on_the_shape(graded):
    # db of shape (N, D): every db test fails, and so does the public consistency check of the
    # backward passes, which checks the naive db's shape before comparing.
    results = graded("bias-gradient-not-summed-over-batch")
    expected = declared(results, "conv", "bias-gradient-not-summed-over-batch")
    consistency = _tagged(results, all_of=("consistency",))
    assert expected == [t for t in _tests(results) if "db" in t["tags"] or t in _named(consistency, "conv2d_backward")]
    assert len(expected) >= 17
    hidden = _named(expected, "Backward pass: db matches the reference")
    assert len(hidden) == 14 and all("db has shape" in t["output"] for t in hidden)
    _check_losses(results, expected)


def test_floored_output_size_loses_only_the_not_an_integer_checks(graded):
    # Valid geometry still gets the right size, so every value test passes; the checks that some
    # geometry whose windows do not tile raises ValueError fail.
    results = graded("output-size-floored")
    expected = declared(results, "conv", "output-size-floored")
    assert expected and all("errors" in t["tags"] for t in expected)
    assert set(_numbers(_tagged(results, all_of=("output_size", "errors")))) <= set(_numbers(expected))
    assert len(expected) == 5
    kept = _tagged(results, all_of=("output_size",), none_of=("errors",))
    assert kept and not set(_numbers(kept)) & set(_numbers(lost(results, "conv")))
    _check_losses(results, expected)


def test_transposed_kernel_loses_the_forward_tests_but_not_the_corner_picker(graded):
    # Like the flipped kernel, every forward test with an asymmetric kernel fails, except the
    # public one whose only 1 is at w[0, 0]: that kernel is its own transpose.
    results = graded("transposed-kernel")
    expected = declared(results, "conv", "transposed-kernel")
    assert len(expected) >= 15
    corner = _named(_tests(results), "A kernel with its only 1 in the top-left corner")
    assert len(corner) == 2 and not set(_numbers(corner)) & set(_numbers(lost(results, "conv")))
    assert not set(_numbers(_tagged(results, all_of=("backward",)))) & set(_numbers(lost(results, "conv")))
    _check_losses(results, expected)


def test_padding_on_one_side_loses_only_padded_forward_and_dw_tests(graded):
    # The image in the top-left corner of x~ shifts every padded window: forward and dw go wrong
    # wherever P >= 1 (the public hand-made P = 1 cases and the speed case too); dx does not read
    # x~ and is cut at the right rows, db is a plain sum of dz: both stay right, as does P = 0.
    results = graded("padding-on-one-side")
    expected = declared(results, "conv", "padding-on-one-side")
    lost_tests = lost(results, "conv")
    assert all(_pad(t) != 0 for t in lost_tests)
    assert not [t for t in lost_tests if {"dx", "db"} & set(t["tags"]) and "speed" not in t["tags"]]
    assert [t for t in _tagged(results, any_of=("forward", "dw"), none_of=("shape",)) if (_pad(t) or 0) > 0] \
        == [t for t in expected if _pad(t)]
    assert len(expected) >= 20
    _check_losses(results, expected)


def test_float32_output_loses_the_float64_forward_tests(graded):
    # float32 keeps ~7 digits: the float64 forward cases (rtol 1e-8, the public 1x1 case 1e-10)
    # fail, naming the dtype; the float32 case, the hand-made cases with exactly representable
    # results, the speed test (rtol 1e-6) and every backward test pass.
    # Float32 rounding is ~3e-8 of the output's scale, near the hidden cases' 1e-8: a case whose
    # single output channel happens to round well can pass (seen once in 4 fresh clones), so at
    # least 10 of the 12 must fail, and nothing outside the declared tests.
    results = graded("float32-output")
    expected = declared(results, "conv", "float32-output")
    assert all("forward" in t["tags"] and "float32" not in t["name"] for t in expected)
    hidden = _named(expected, "Forward pass matches the reference")
    failed = [t for t in hidden if t["score"] == 0]
    assert len(hidden) == 12 and len(failed) >= 10
    assert all("(dtype float32, expected float64)" in t["output"] for t in failed)
    public = _named(expected, "1x1 filters")
    assert len(public) == 2 and all(t["score"] == 0 for t in public)
    assert set(_numbers(lost(results, "conv"))) <= set(_numbers(expected))


def _load_reference():
    return helpers.load_module(COURSE.assignment("conv").solution_file, "conv_reference_for_tests")


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
