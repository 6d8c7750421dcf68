"""The trusted checks: messages name function, case and difference; gradient checks catch
single wrong elements; nothing of the student's value is trusted."""
import numpy as np
import pytest

from grader.checks import CheckFailure, assert_close, check_gradient, expect_array, expect_raises
from grader.sandbox.errors import raised


def test_assert_close_names_the_worst_element_without_dumping_the_array():
    expected = np.arange(1000, dtype=float).reshape(10, 100)
    got = expected.copy()
    got[3, 7] += 5
    with pytest.raises(CheckFailure) as info:
        assert_close(got, expected, func="conv2d_forward", case="stride 2, pad 1", rtol=1e-8)
    text = str(info.value)
    assert "conv2d_forward (stride 2, pad 1)" in text and "index (3, 7)" in text
    assert "expected 307" in text and "got 312" in text and "1 of 1000 elements off" in text
    assert len(text) < 400


@pytest.mark.parametrize("value,needle", [
    ([1.0, 2.0], "should be a numpy array, got list"),
    (np.zeros((2, 3)), "has shape (2, 3), expected (3, 2)"),
    (np.zeros((3, 2), dtype=np.int64), "dtype int64, expected a floating-point dtype"),
    (np.full((3, 2), np.nan), "6 NaN/inf value(s), first at index (0, 0)"),
])
def test_expect_array_says_what_is_wrong(value, needle):
    with pytest.raises(CheckFailure, match=None) as info:
        expect_array(value, func="f", case="c", shape=(3, 2))
    assert needle in str(info.value)


def test_relative_error_passes_within_tolerance():
    x = np.linspace(1, 2, 50)
    assert_close(x * (1 + 1e-9), x, func="f", rtol=1e-8)


def test_expect_raises_reports_what_happened_instead():
    expect_raises(ValueError, lambda: (_ for _ in ()).throw(raised("f", "ValueError", ["ValueError"], "m")), func="f")
    with pytest.raises(CheckFailure, match="should raise ValueError, but returned an array of shape \\(2,\\)"):
        expect_raises(ValueError, lambda: np.zeros(2), func="f", case="pad -1")
    with pytest.raises(CheckFailure, match="raised TypeError: nope"):
        expect_raises(ValueError, lambda: (_ for _ in ()).throw(raised("f", "TypeError", ["TypeError"], "nope")), func="f")


def quadratic_loss(a):
    return lambda x: float(np.sum(a * x ** 2))


def test_gradient_check_accepts_a_correct_gradient_small_and_large():
    rng = np.random.default_rng(0)
    for shape in [(3, 4), (6, 8, 9, 9)]:
        a = rng.standard_normal(shape)
        x = rng.standard_normal(shape)
        check_gradient(quadratic_loss(a), x, 2 * a * x, func="f", case=str(shape), wrt="x", rng=rng)


def test_gradient_check_catches_one_wrong_element_in_a_large_tensor():
    rng = np.random.default_rng(1)
    shape = (6, 8, 9, 9)  # 3888 elements: sampled coordinates + directional derivatives
    a, x = rng.standard_normal(shape), rng.standard_normal(shape)
    grad = 2 * a * x
    grad[5, 7, 8, 0] += 3.0
    with pytest.raises(CheckFailure, match="gradient wrt x disagrees with finite differences"):
        check_gradient(quadratic_loss(a), x, grad, func="f", case="big", wrt="x", rng=rng)


def test_gradient_check_rejects_a_wrong_shape():
    with pytest.raises(CheckFailure, match="gradient wrt w has shape"):
        check_gradient(lambda x: float(np.sum(x)), np.zeros((2, 2)), np.zeros(4), func="f", case="c", wrt="w",
                       rng=np.random.default_rng(0))


def test_gradient_check_names_a_float32_forward_instead_of_counting_elements():
    # A correct gradient of a float32 forward: its rounding swamps centred differences at
    # eps 1e-6, so the check says so and names the dtype rather than "n of n elements off".
    rng = np.random.default_rng(2)
    a, x = rng.standard_normal((4, 4)), rng.standard_normal((4, 4))
    loss32 = lambda x_: float(np.sum((a * x_ ** 2).astype(np.float32)))  # noqa: E731
    with pytest.raises(CheckFailure) as info:
        check_gradient(loss32, x, 2 * a * x, func="f", case="c", wrt="x", rng=rng, forward_dtype=np.float32)
    text = str(info.value)
    assert "your forward returned float32 for float64 input" in text and "agrees" in text
    assert "elements off" not in text
    # A gradient wrong beyond even that noise is reported as wrong, still naming the dtype.
    with pytest.raises(CheckFailure, match="returned float32 .* Even so, the gradient wrt x disagrees"):
        check_gradient(loss32, x, 2 * a * x + 1e3, func="f", case="c", wrt="x", rng=rng, forward_dtype=np.float32)


def test_gradient_check_names_the_forward_it_differentiates():
    with pytest.raises(CheckFailure, match="finite differences of the reference f at index"):
        check_gradient(lambda x: float(np.sum(x ** 2)), np.ones(3), np.zeros(3), func="f", case="c", wrt="x",
                       rng=np.random.default_rng(0), of="the reference f")


def test_assert_close_shows_enough_digits_and_names_a_dtype_difference():
    got, expected = np.float32([-6.798534]), np.float64([-6.7985341234])
    with pytest.raises(CheckFailure) as failure:
        assert_close(got, expected, func="f", case="c", rtol=1e-12)
    message = str(failure.value)
    assert "expected -6.7985341, got -6.7985339" in message            # 6 digits would read the same
    assert "(dtype float32, expected float64)" in message
    with pytest.raises(CheckFailure) as failure:
        assert_close(np.float64([1.0, 2.0]), np.float64([1.0, 3.0]), func="f", case="c", rtol=1e-12)
    assert "expected 3, got 2;" in str(failure.value) and "dtype" not in str(failure.value)


def test_a_narrow_gradient_dtype_is_named_first():
    """A float16 gradient of a float64 input fails (its rounding alone is ~1e-3) and says why first."""
    x = np.random.default_rng(0).standard_normal((3, 4))
    g = np.random.default_rng(1).standard_normal((3, 4))
    with pytest.raises(CheckFailure, match=r"^f \(c\): the gradient wrt x is float16 for float64 input; "):
        check_gradient(lambda p: float(np.sum(p * g)), x, g.astype(np.float16), func="f", case="c", wrt="x",
                       rng=np.random.default_rng(2))
