"""Public tests for conv.py. Run them with `grader check conv`.

Every expected value here is worked out by hand in the comments, so a failing test
tells you what your function should have returned. The hidden tests check many more
shapes, strides and paddings against the reference solution, float32 inputs, and
the speed of conv2d_forward and conv2d_backward.

Case names read N2-C3-H7-W5-D4-F3-S2-P1: batch N, channels C, input height H and
width W, D filters of size F x F, stride S, padding P.
"""
import numpy as np
import pytest

from grader.checks import CheckFailure, assert_close, batched, check_gradient, expect_array, expect_raises, quote

# Hand-computed expectations in float64: only rounding differs (~1e-16), so 1e-10 has a wide
# margin, while a wrong index or a missing term is off by O(1).
RTOL = 1e-10

FORWARDS = ["conv2d_forward_naive", "conv2d_forward"]


def image(rows, cols):
    """A (1, 1, rows, cols) 'ramp' image with x[m, q] = cols * m + q: 0, 1, 2, ... row by row."""
    return np.arange(rows * cols, dtype=np.float64).reshape(1, 1, rows, cols)


def one_filter(kernel):
    """Weights (1, 1, F, F) holding one F x F kernel, for one input channel."""
    return np.asarray(kernel, dtype=np.float64).reshape(1, 1, *np.shape(kernel))


# -- output size ----------------------------------------------------------------------------

@pytest.mark.points(1)
@pytest.mark.tags("output_size")
@pytest.mark.parametrize("n, f, stride, pad, expected", [
    pytest.param(32, 3, 1, 0, 30, id="32 input, 3x3 receptive field: 30"),
    pytest.param(32, 3, 1, 1, 32, id="zero padding P=1 keeps 32"),
    pytest.param(227, 11, 4, 0, 55, id="AlexNet CONV1 11x11 S=4: 55"),
    pytest.param(7, 3, 2, 1, 4, id="7 input, F=3 S=2 P=1: 4"),
])
def test_output_size_examples(student, n, f, stride, pad, expected):
    """conv_output_size computes (n - f + 2*pad)/stride + 1"""
    got = student.conv_output_size(n, f, stride=stride, pad=pad)
    case = f"n={n}, f={f}, stride={stride}, pad={pad}"
    if type(got) is not int:
        raise CheckFailure(f"conv_output_size ({case}): returned {quote(got)} ({type(got).__name__}), "
                           f"expected the int {expected} (use // once you know the division is exact)")
    if got != expected:
        raise CheckFailure(f"conv_output_size ({case}): returned {quote(got)}, expected "
                           f"({n} - {f} + 2*{pad})/{stride} + 1 = {expected}")


@pytest.mark.points(2)
@pytest.mark.tags("output_size", "errors")
def test_output_size_rejects_impossible_geometry(student):
    """conv_output_size raises ValueError when the filter cannot tile the padded input"""
    cases = {
        "n=6, f=3, stride=2, pad=0: (6 - 3)/2 is not an integer": (6, 3, 2, 0),
        "n=3, f=5, stride=1, pad=0: the filter is larger than the input": (3, 5, 1, 0),
        "n=5, f=3, stride=0, pad=0: stride must be >= 1": (5, 3, 0, 0),
        "n=5, f=3, stride=1, pad=-1: pad must be >= 0": (5, 3, 1, -1),
        "n=5, f=0, stride=1, pad=0: filter size must be >= 1": (5, 0, 1, 0),
    }
    for case, (n, f, stride, pad) in cases.items():
        expect_raises(ValueError, lambda: student.conv_output_size(n, f, stride=stride, pad=pad),
                      func="conv_output_size", case=case)


# -- forward: small cases worked out by hand ------------------------------------------------

@pytest.mark.points(1)
@pytest.mark.tags("forward", "symmetric_kernel")
@pytest.mark.parametrize("func", FORWARDS)
def test_identity_kernel_with_padding(student, func):
    """The lecture's identity kernel with P=1 returns the image unchanged"""
    # Only the centre weight is 1, so z[k, l] = x~[k + 1, l + 1] = x[k, l]; with P = 1 the
    # output keeps the input size (4 - 3 + 2)/1 + 1 = 4, and the bias 0.5 is added everywhere.
    x = image(4, 5)
    w = one_filter([[0, 0, 0], [0, 1, 0], [0, 0, 0]])
    z = getattr(student, func)(x, w, np.array([0.5]), stride=1, pad=1)
    assert_close(z, x + 0.5, func=func, case="N1-C1-H4-W5-D1-F3-S1-P1, identity kernel, b=0.5", rtol=RTOL)


@pytest.mark.points(1)
@pytest.mark.tags("forward", "symmetric_kernel")
@pytest.mark.parametrize("func", FORWARDS)
def test_box_blur(student, func):
    """The lecture's (normalised) box blur averages each 3x3 window"""
    # On the ramp x[m, q] = 5m + q the mean of a 3x3 window is its centre value, so without
    # padding z[k, l] = x[k + 1, l + 1]: rows 1..2 and columns 1..3 of the image.
    x = image(4, 5)
    w = one_filter(np.full((3, 3), 1 / 9))
    z = getattr(student, func)(x, w, np.zeros(1), stride=1, pad=0)
    expected = np.array([[6, 7, 8], [11, 12, 13]], dtype=np.float64).reshape(1, 1, 2, 3)
    assert_close(z, expected, func=func, case="N1-C1-H4-W5-D1-F3-S1-P0, box blur", rtol=RTOL)


@pytest.mark.points(1)
@pytest.mark.tags("forward")
@pytest.mark.parametrize("func", FORWARDS)
def test_kernel_is_not_flipped(student, func):
    """A kernel with its only 1 in the top-left corner picks the window's top-left pixel"""
    # The lecture's layer is a cross-correlation: w[i, j] multiplies x[k + i, l + j], so
    # w[0, 0] = 1 gives z[k, l] = x[k, l], i.e. x[0:2, 0:3] = [[0, 1, 2], [5, 6, 7]].
    # A textbook convolution flips the kernel and would give x[2:4, 2:5] = [[12, 13, 14], ...].
    x = image(4, 5)
    w = one_filter([[1, 0, 0], [0, 0, 0], [0, 0, 0]])
    z = getattr(student, func)(x, w, np.zeros(1), stride=1, pad=0)
    expected = np.array([[0, 1, 2], [5, 6, 7]], dtype=np.float64).reshape(1, 1, 2, 3)
    assert_close(z, expected, func=func, case="N1-C1-H4-W5-D1-F3-S1-P0, w[0, 0] = 1 only", rtol=RTOL)


@pytest.mark.points(1)
@pytest.mark.tags("forward")
@pytest.mark.parametrize("func", FORWARDS)
def test_zero_padding_by_hand(student, func):
    """Zero padding: each corner of a 2x2 image of ones sees a different part of the kernel"""
    # Kernel w = [[1, 2, 3], [4, 5, 6], [7, 8, 9]], P = 1, output (2 - 3 + 2)/1 + 1 = 2.
    # The window of z[0, 0] covers padded rows/columns 0..2; the image sits at 1..2, so it sums
    # w[1:3, 1:3] = 5 + 6 + 8 + 9 = 28. Likewise z[0, 1] = w[1:3, 0:2] = 4 + 5 + 7 + 8 = 24,
    # z[1, 0] = w[0:2, 1:3] = 2 + 3 + 5 + 6 = 16 and z[1, 1] = w[0:2, 0:2] = 1 + 2 + 4 + 5 = 12.
    x = np.ones((1, 1, 2, 2))
    w = one_filter([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    z = getattr(student, func)(x, w, np.zeros(1), stride=1, pad=1)
    expected = np.array([[28, 24], [16, 12]], dtype=np.float64).reshape(1, 1, 2, 2)
    assert_close(z, expected, func=func, case="N1-C1-H2-W2-D1-F3-S1-P1, ones image", rtol=RTOL)


@pytest.mark.points(1)
@pytest.mark.tags("forward")
@pytest.mark.parametrize("func", FORWARDS)
def test_stride_by_hand(student, func):
    """Stride 2 moves the window two pixels at a time"""
    # On the ramp x[m, q] = 6m + q (4 x 6), F = 2 and S = 2 give (4 - 2)/2 + 1 = 2 rows and
    # (6 - 2)/2 + 1 = 3 columns of non-overlapping 2x2 windows. The kernel [[0, 1], [0, 0]]
    # picks each window's top-right pixel: z[k, l] = x[2k, 2l + 1] = [[1, 3, 5], [13, 15, 17]].
    x = image(4, 6)
    w = one_filter([[0, 1], [0, 0]])
    z = getattr(student, func)(x, w, np.zeros(1), stride=2, pad=0)
    expected = np.array([[1, 3, 5], [13, 15, 17]], dtype=np.float64).reshape(1, 1, 2, 3)
    assert_close(z, expected, func=func, case="N1-C1-H4-W6-D1-F2-S2-P0, top-right picker", rtol=RTOL)


@pytest.mark.points(1)
@pytest.mark.tags("forward", "symmetric_kernel")
@pytest.mark.parametrize("func", FORWARDS)
def test_one_by_one_filters_mix_channels(student, func, rng):
    """1x1 filters mix the channels at every pixel: z[n, d] = b[d] + sum_c w[d, c] x[n, c]"""
    # With F = 1 there is no spatial extent: each output pixel is a dense layer applied to the
    # C channel values of that pixel (the lecture's FC <-> 1x1 convolution correspondence).
    x = rng.standard_normal((2, 3, 4, 5))
    w = rng.standard_normal((4, 3, 1, 1))
    b = rng.standard_normal(4)
    expected = np.einsum("dc,nchw->ndhw", w[:, :, 0, 0], x) + b.reshape(1, 4, 1, 1)
    z = getattr(student, func)(x, w, b, stride=1, pad=0)
    assert_close(z, expected, func=func, case="N2-C3-H4-W5-D4-F1-S1-P0", rtol=RTOL)


@pytest.mark.points(1)
@pytest.mark.tags("forward", "shape")
@pytest.mark.parametrize("func", FORWARDS)
def test_output_shapes(student, func, rng):
    """The output has shape (N, D, H', W') with H' = (H - F + 2P)/S + 1"""
    for (N, C, H, W, D, F, S, P) in [(2, 3, 7, 5, 4, 3, 2, 1), (3, 2, 6, 9, 5, 2, 1, 0), (1, 1, 5, 5, 2, 5, 1, 2)]:
        x, w, b = rng.standard_normal((N, C, H, W)), rng.standard_normal((D, C, F, F)), rng.standard_normal(D)
        expected_shape = (N, D, (H - F + 2 * P) // S + 1, (W - F + 2 * P) // S + 1)
        z = getattr(student, func)(x, w, b, stride=S, pad=P)
        expect_array(z, func=func, case=f"N{N}-C{C}-H{H}-W{W}-D{D}-F{F}-S{S}-P{P}", shape=expected_shape)


# -- errors ---------------------------------------------------------------------------------

@pytest.mark.points(1)
@pytest.mark.tags("errors")
@pytest.mark.parametrize("func", FORWARDS)
def test_forward_rejects_bad_geometry(student, func):
    """The forward pass raises ValueError when the shapes do not fit together"""
    x, w, b = np.zeros((2, 3, 6, 6)), np.zeros((4, 3, 3, 3)), np.zeros(4)
    cases = {
        "x has 3 channels, w expects 2": (x, np.zeros((4, 2, 3, 3)), b, 1, 0),
        "non-square filter 3x2": (x, np.zeros((4, 3, 3, 2)), b, 1, 0),
        "4 filters but 3 biases": (x, w, np.zeros(3), 1, 0),
        "H=6, F=3, S=2, P=0: (6 - 3)/2 is not an integer": (x, w, b, 2, 0),
    }
    for case, (x_, w_, b_, stride, pad) in cases.items():
        expect_raises(ValueError, lambda: getattr(student, func)(x_, w_, b_, stride=stride, pad=pad),
                      func=func, case=case)


# -- backward: finite differences of your own forward ---------------------------------------

GRAD_CASE = dict(N=2, C=2, H=5, W=7, D=3, F=3, S=2, P=1)     # output 3 x 4
GRAD_ID = "N2-C2-H5-W7-D3-F3-S2-P1"


def gradient_problem(rng):
    """Random x, w, b and an upstream gradient g of the output's shape (N, D, 3, 4)."""
    c = GRAD_CASE
    x = rng.standard_normal((c["N"], c["C"], c["H"], c["W"]))
    w = rng.standard_normal((c["D"], c["C"], c["F"], c["F"]))
    b = rng.standard_normal(c["D"])
    g = rng.standard_normal((c["N"], c["D"], 3, 4))
    return x, w, b, g


def forward(student, x, w, b, g):
    return expect_array(student.conv2d_forward(x, w, b, stride=GRAD_CASE["S"], pad=GRAD_CASE["P"]),
                        func="conv2d_forward", case=GRAD_ID, shape=g.shape)


def losses_of(module, vary, x, w, b, g):
    """L = sum(z * g) at many values of one of x, w, b (`vary`: 0, 1 or 2), all evaluated in one
    round trip to your sandboxed code (``batched``). Its gradient wrt z is g, so backward(g, ...)
    must return dL/dx, dL/dw, dL/db."""
    def losses(points):
        arg_sets = [(tuple(p if i == vary else a for i, a in enumerate((x, w, b))),
                     {"stride": GRAD_CASE["S"], "pad": GRAD_CASE["P"]}) for p in points]
        return [float(np.sum(expect_array(z, func="conv2d_forward", case=GRAD_ID, shape=g.shape) * g))
                for z in batched(module, "conv2d_forward", arg_sets)]
    return losses


def backward_parts(student, x, w, b, g):
    grads = student.conv2d_backward(g, x, w, b, stride=GRAD_CASE["S"], pad=GRAD_CASE["P"])
    if not isinstance(grads, (tuple, list)) or len(grads) != 3:
        raise CheckFailure(f"conv2d_backward ({GRAD_ID}): should return the tuple (dx, dw, db)")
    return grads


# check_gradient's default rtol 1e-5 with eps 1e-6: the loss is linear in each of x, w, b, so
# centred differences are exact up to rounding (~1e-10 relative here), and a wrong index is off by O(1).
# forward_dtype: the rounding noise of the differences is that of the dtype the forward returns.
# When grading, `differentiated` is the reference forward (a forward recognising the probe points
# then gains nothing); in your self-check it is your own conv2d_forward.

@pytest.mark.points(2)
@pytest.mark.tags("backward", "gradient", "dx")
@pytest.mark.parametrize("case_id", [GRAD_ID])
def test_gradient_check_dx(student, differentiated, rng, case_id):
    """conv2d_backward's dx agrees with finite differences of conv2d_forward"""
    x, w, b, g = gradient_problem(rng)
    dx = backward_parts(student, x, w, b, g)[0]
    check_gradient(None, x, dx, func="conv2d_backward",
                   case=case_id + ", L = sum(z * g)", wrt="x", rng=rng,
                   forward_dtype=forward(differentiated.module, x, w, b, g).dtype, of=differentiated.of,
                   losses=losses_of(differentiated.module, 0, x, w, b, g))


@pytest.mark.points(2)
@pytest.mark.tags("backward", "gradient", "dw")
@pytest.mark.parametrize("case_id", [GRAD_ID])
def test_gradient_check_dw(student, differentiated, rng, case_id):
    """conv2d_backward's dw agrees with finite differences of conv2d_forward"""
    x, w, b, g = gradient_problem(rng)
    dw = backward_parts(student, x, w, b, g)[1]
    check_gradient(None, w, dw, func="conv2d_backward",
                   case=case_id + ", L = sum(z * g)", wrt="w", rng=rng,
                   forward_dtype=forward(differentiated.module, x, w, b, g).dtype, of=differentiated.of,
                   losses=losses_of(differentiated.module, 1, x, w, b, g))


@pytest.mark.points(1)
@pytest.mark.tags("backward", "gradient", "db")
@pytest.mark.parametrize("case_id", [GRAD_ID])
def test_gradient_check_db(student, differentiated, rng, case_id):
    """conv2d_backward's db agrees with finite differences of conv2d_forward"""
    x, w, b, g = gradient_problem(rng)
    db = backward_parts(student, x, w, b, g)[2]
    check_gradient(None, b, db, func="conv2d_backward",
                   case=case_id + ", L = sum(z * g)", wrt="b", rng=rng,
                   forward_dtype=forward(differentiated.module, x, w, b, g).dtype, of=differentiated.of,
                   losses=losses_of(differentiated.module, 2, x, w, b, g))


# -- your naive and vectorised versions agree -------------------------------------------------

CONSISTENCY_ID = "N2-C3-H7-W9-D4-F5-S2-P2"


@pytest.mark.points(1)
@pytest.mark.tags("consistency")
@pytest.mark.parametrize("case_id", [CONSISTENCY_ID])
def test_forward_naive_and_vectorised_agree(student, rng, case_id):
    """conv2d_forward returns what conv2d_forward_naive returns"""
    x, w, b = rng.standard_normal((2, 3, 7, 9)), rng.standard_normal((4, 3, 5, 5)), rng.standard_normal(4)
    naive = expect_array(student.conv2d_forward_naive(x, w, b, stride=2, pad=2),
                         func="conv2d_forward_naive", case=case_id, shape=(2, 4, 4, 5))
    # rtol 1e-8: both are float64 sums of the same 75 products in different orders (rounding ~1e-15).
    assert_close(student.conv2d_forward(x, w, b, stride=2, pad=2), naive,
                 func="conv2d_forward", case=case_id + ", compared with your conv2d_forward_naive", rtol=1e-8)


@pytest.mark.points(1)
@pytest.mark.tags("consistency")
@pytest.mark.parametrize("case_id", [CONSISTENCY_ID])
def test_backward_naive_and_vectorised_agree(student, rng, case_id):
    """conv2d_backward returns what conv2d_backward_naive returns"""
    x, w, b = rng.standard_normal((2, 3, 7, 9)), rng.standard_normal((4, 3, 5, 5)), rng.standard_normal(4)
    dz = rng.standard_normal((2, 4, 4, 5))
    naive = student.conv2d_backward_naive(dz, x, w, b, stride=2, pad=2)
    fast = student.conv2d_backward(dz, x, w, b, stride=2, pad=2)
    for func, value in (("conv2d_backward_naive", naive), ("conv2d_backward", fast)):
        if not isinstance(value, (tuple, list)) or len(value) != 3:
            raise CheckFailure(f"{func} ({case_id}): should return the tuple (dx, dw, db)")
    for name, want, got, shape in zip(("dx", "dw", "db"), naive, fast, (x.shape, w.shape, b.shape)):
        want = expect_array(want, func="conv2d_backward_naive", case=case_id, shape=shape, what=name)
        # rtol 1e-8: float64 sums of the same terms in different orders (rounding ~1e-15).
        assert_close(got, want, func="conv2d_backward",
                     case=case_id + ", compared with your conv2d_backward_naive", rtol=1e-8, what=name)
