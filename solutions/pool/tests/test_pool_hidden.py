"""Hidden tests for pool.py: max pooling forward and backward.

Every case is small except in the speed tests. Inputs are float64 unless a test
says otherwise; random inputs come from the `rng` fixture (seeded per test).
"""
import numpy as np
import pytest

from grader.checks import CheckFailure, assert_close, check_gradient, expect_array, expect_raises

# (case id, x shape (N, C, H, W), size F, stride S)
NON_OVERLAPPING = [
    ("F2 S2 x(2,3,6,8)", (2, 3, 6, 8), 2, 2),
    ("F2 S3 with gaps x(2,2,5,8)", (2, 2, 5, 8), 2, 3),
    ("F4 S4 x(3,2,4,8)", (3, 2, 4, 8), 4, 4),
]
OVERLAPPING = [
    ("F3 S2 x(2,3,7,9)", (2, 3, 7, 9), 3, 2),
    ("F3 S1 x(2,2,5,6)", (2, 2, 5, 6), 3, 1),
]
ONE_BY_ONE = ("F1 S1 x(1,2,3,4)", (1, 2, 3, 4), 1, 1)


def _params(cases, *extra_marks):
    return [pytest.param(shape, size, stride, id=name, marks=list(extra_marks)) for name, shape, size, stride in cases]


def _case(shape, size, stride, dtype=np.float64):
    return f"x shape {shape}, size {size}, stride {stride}, {np.dtype(dtype).name}"


def _output_shape(shape, size, stride):
    n, c, h, w = shape
    return (n, c, (h - size) // stride + 1, (w - size) // stride + 1)


def _expect_dtype(value, dtype, *, func, case, what):
    if value.dtype != dtype:
        raise CheckFailure(f"{func} ({case}): {what} has dtype {value.dtype}, expected {np.dtype(dtype).name} "
                           f"(the dtype of x)")


# -- forward ------------------------------------------------------------------------------

@pytest.mark.points(1)
@pytest.mark.tags("forward")
@pytest.mark.parametrize("shape, size, stride",
                         _params(NON_OVERLAPPING + [ONE_BY_ONE]) + _params(OVERLAPPING, pytest.mark.tags("overlap")))
def test_forward_matches_reference(student, reference, rng, shape, size, stride):
    """maxpool_forward matches the reference"""
    x = rng.standard_normal(shape)
    expected = reference.maxpool_forward(x, size=size, stride=stride)
    got = student.maxpool_forward(x, size=size, stride=stride)
    # rtol 0: a maximum is one of the inputs, no arithmetic is involved.
    assert_close(got, expected, func="maxpool_forward", case=_case(shape, size, stride), rtol=0)


@pytest.mark.points(1)
@pytest.mark.tags("forward")
@pytest.mark.parametrize("shape, size, stride",
                         _params(NON_OVERLAPPING[:1]) + _params(OVERLAPPING[1:], pytest.mark.tags("overlap")))
def test_forward_float32(student, reference, rng, shape, size, stride):
    """maxpool_forward keeps float32 and matches the reference"""
    x = rng.standard_normal(shape).astype(np.float32)
    case = _case(shape, size, stride, np.float32)
    got = student.maxpool_forward(x, size=size, stride=stride)
    got = expect_array(got, func="maxpool_forward", case=case, shape=_output_shape(shape, size, stride))
    _expect_dtype(got, np.float32, func="maxpool_forward", case=case, what="output")
    # rtol 0: a maximum is one of the inputs, no arithmetic is involved.
    assert_close(got, reference.maxpool_forward(x, size=size, stride=stride),
                 func="maxpool_forward", case=case, rtol=0)


# -- backward -----------------------------------------------------------------------------

@pytest.mark.points(1)
@pytest.mark.tags("backward")
@pytest.mark.parametrize("shape, size, stride",
                         _params(NON_OVERLAPPING) + _params(OVERLAPPING, pytest.mark.tags("overlap")))
def test_backward_matches_reference(student, reference, rng, shape, size, stride):
    """maxpool_backward matches the reference"""
    x = rng.standard_normal(shape)
    dz = rng.standard_normal(_output_shape(shape, size, stride))
    expected = reference.maxpool_backward(dz, x, size=size, stride=stride)
    got = student.maxpool_backward(dz, x, size=size, stride=stride)
    # rtol 1e-12: each dx element is a sum of at most F*F entries of dz; only the order of
    # the additions may differ (float64 rounding, ~1e-16 per addition).
    assert_close(got, expected, func="maxpool_backward", case=_case(shape, size, stride), rtol=1e-12, what="dx")


@pytest.mark.points(1)
@pytest.mark.tags("backward")
@pytest.mark.parametrize("shape, size, stride",
                         _params(NON_OVERLAPPING[:1]) + _params(OVERLAPPING[1:], pytest.mark.tags("overlap")))
def test_backward_float32(student, reference, rng, shape, size, stride):
    """maxpool_backward keeps float32 and matches the reference"""
    x = rng.standard_normal(shape).astype(np.float32)
    dz = rng.standard_normal(_output_shape(shape, size, stride)).astype(np.float32)
    case = _case(shape, size, stride, np.float32)
    got = student.maxpool_backward(dz, x, size=size, stride=stride)
    got = expect_array(got, func="maxpool_backward", case=case, shape=shape, what="dx")
    _expect_dtype(got, np.float32, func="maxpool_backward", case=case, what="dx")
    # rtol 1e-6: sums of at most F*F = 9 float32 values in any order; float32 rounding is
    # 6e-8 per addition.
    assert_close(got, reference.maxpool_backward(dz, x, size=size, stride=stride),
                 func="maxpool_backward", case=case, rtol=1e-6, what="dx")


# -- ties: the first maximum in row-major order gets the gradient ---------------------------

@pytest.mark.points(2)
@pytest.mark.tags("backward", "ties")
@pytest.mark.parametrize("shape, size, stride",
                         _params(NON_OVERLAPPING[:1]) + _params(OVERLAPPING[1:], pytest.mark.tags("overlap")))
def test_backward_ties_go_to_first_maximum(student, reference, rng, shape, size, stride):
    """maxpool_backward routes a tied window's gradient to its first maximum (row-major)"""
    # Values in {0, 1, 2}: almost every window holds a tied maximum.
    x = rng.integers(0, 3, size=shape).astype(np.float64)
    dz = rng.standard_normal(_output_shape(shape, size, stride))
    case = _case(shape, size, stride) + ", integer values 0..2 with many ties"
    got = student.maxpool_backward(dz, x, size=size, stride=stride)
    # rtol 1e-12: sums of at most F*F entries of dz, in any order.
    assert_close(got, reference.maxpool_backward(dz, x, size=size, stride=stride),
                 func="maxpool_backward", case=case, rtol=1e-12, what="dx")


@pytest.mark.points(1)
@pytest.mark.tags("backward", "ties", "overlap")
def test_backward_constant_input(student, reference, rng):
    """maxpool_backward on a constant input sends each window's gradient to its top-left entry"""
    shape, size, stride = (1, 2, 7, 5), 3, 2
    x = np.full(shape, 0.5)
    dz = rng.standard_normal(_output_shape(shape, size, stride))
    case = _case(shape, size, stride) + ", every entry 0.5"
    got = student.maxpool_backward(dz, x, size=size, stride=stride)
    # rtol 1e-12: each window's top-left entry is distinct, so dx is dz placed at (kS, lS).
    assert_close(got, reference.maxpool_backward(dz, x, size=size, stride=stride),
                 func="maxpool_backward", case=case, rtol=1e-12, what="dx")


# -- gradient check against the reference forward ----------------------------------------------
# Graded, so the finite differences are of the reference maxpool_forward (run in the grader),
# never of the student's: a student forward that recognises the probe calls (x +- eps next to
# the last backward's input) could otherwise make an all-zero backward look right.

@pytest.mark.points(2)
@pytest.mark.tags("backward", "gradient")
@pytest.mark.parametrize("shape, size, stride",
                         _params(NON_OVERLAPPING[:2]) + _params(OVERLAPPING, pytest.mark.tags("overlap")))
def test_backward_gradient_check(student, reference, rng, shape, size, stride):
    """maxpool_backward agrees with finite differences of the reference maxpool_forward"""
    # Max pooling is piecewise linear: with distinct values spaced 0.1 apart, a step of
    # eps = 1e-6 never changes which entry is a window's maximum, so centred differences are
    # exact up to rounding.
    x = (rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1 - 5.0).astype(np.float64)
    g = rng.standard_normal(_output_shape(shape, size, stride))
    case = _case(shape, size, stride) + ", loss = sum(z * g)"

    def loss(x_point):
        return float(np.sum(reference.maxpool_forward(x_point, size=size, stride=stride) * g))

    dx = student.maxpool_backward(g, x, size=size, stride=stride)
    # rtol 1e-5 (the default): finite differences of a piecewise-linear loss are exact up to
    # rounding, ~1e-16 * |loss| / eps ~ 1e-9 here; a wrong routing is off by O(1).
    # 24 sampled entries plus 4 random directions: a direction mixes every entry, so one
    # misrouted gradient still shows.
    check_gradient(loss, x, dx, func="maxpool_backward", case=case, wrt="x", rng=rng, eps=1e-6,
                   max_elements=24, n_directions=4, of="the reference maxpool_forward")


# -- geometry that does not fit --------------------------------------------------------------

FORWARD_ERRORS = [
    ("x with 3 dimensions", (2, 6, 6), 2, 2),
    ("size 0", (1, 1, 6, 6), 0, 2),
    ("stride 0", (1, 1, 6, 6), 2, 0),
    ("(H - size) % stride != 0, x(1,1,6,6) F3 S2", (1, 1, 6, 6), 3, 2),
    ("(W - size) % stride != 0 only, x(1,1,5,6) F3 S2", (1, 1, 5, 6), 3, 2),
    ("window larger than H, x(1,1,2,5) F3 S1", (1, 1, 2, 5), 3, 1),
]


@pytest.mark.points(0.5)
@pytest.mark.tags("forward", "value_error")
@pytest.mark.parametrize("shape, size, stride", _params(FORWARD_ERRORS))
def test_forward_rejects_bad_geometry(student, shape, size, stride):
    """maxpool_forward raises ValueError for geometry that does not fit"""
    x = np.zeros(shape)
    expect_raises(ValueError, lambda: student.maxpool_forward(x, size=size, stride=stride),
                  func="maxpool_forward", case=_case(shape, size, stride))


@pytest.mark.points(0.5)
@pytest.mark.tags("backward", "value_error")
def test_backward_rejects_wrong_dz_shape(student):
    """maxpool_backward raises ValueError when dz does not have the output's shape"""
    x, dz = np.zeros((2, 3, 6, 8)), np.zeros((2, 3, 4, 3))
    expect_raises(ValueError, lambda: student.maxpool_backward(dz, x, size=2, stride=2),
                  func="maxpool_backward", case="x shape (2, 3, 6, 8), size 2, stride 2, dz shape (2, 3, 4, 3) "
                                                "instead of (2, 3, 3, 4)")


@pytest.mark.points(0.5)
@pytest.mark.tags("backward", "value_error")
def test_backward_rejects_bad_geometry(student):
    """maxpool_backward raises ValueError for geometry that does not fit"""
    x = np.zeros((1, 1, 6, 6))
    # dz of the floored output shape (2, 2) and of the padded ("ceil mode") one (3, 3): neither
    # makes the geometry fit, so a backward that pads the last window must raise too
    for dz_shape in ((1, 1, 2, 2), (1, 1, 3, 3)):
        expect_raises(ValueError, lambda: student.maxpool_backward(np.zeros(dz_shape), x, size=3, stride=2),
                      func="maxpool_backward",
                      case=f"x shape (1, 1, 6, 6), size 3, stride 2: (6 - 3) % 2 != 0, dz shape {dz_shape}")


# -- speed -------------------------------------------------------------------------------------
# One large channel so that a Python loop over the output positions runs 65,536 times, in
# float32 so that moving the arrays in and out of the sandbox (part of every timed call) stays
# small next to the work. Median student / reference ratios measured through the sandbox on
# the course's 2-core CPU, in four runs with other jobs loading the machine (load 3.5 to 8.5):
#   honest vectorisations, forward / backward:
#     F*F offset loop (as the reference)               0.7-1.6 / 1.0-1.3
#     sliding_window_view + max, argmax + np.add.at     2.9-4.0 / 1.9-3.0
#     sliding_window_view, argmax + np.bincount         1.3-4.2 / 1.9-2.2
#     reshape to (N, C, H', F, W', F)                   2.4-4.1 / 1.5-1.6
#   a loop over output rows only (not required to fail) 5.2-6.2 / 3.1-3.3
#   a loop over the output positions (k, l)             102-112 / 103-137
# The threshold 20 sits ~5x above the slowest honest variant and ~5x below the loop, which
# is stopped after 2 * 20 reference medians (at least 0.2 s), so it fails quickly. Since the
# reference is served by a fork of the grader (grader/sandbox/forked.py), the reference timed
# against itself gives a median ratio of 1.25 over 50 gradings (0.8-0.9 when it had a sandbox
# of its own): the honest variants' ratios above grow by up to that factor, still ~3x below 20.
SPEED_SHAPE = (1, 1, 512, 512)
SPEED_THRESHOLD = 20


def _speed_input(rng):
    """x for a timed call, of SPEED_SHAPE (2^18 entries): the values k / 2^17 - 1 (k = 0 .. 2^18 - 1)
    in a random order.

    Every value is distinct and exact in float32, so no window holds a tie. Where the maximum is
    tied, the lecture's first-maximum rule is judged by the ties tests alone: a timed call, which
    checks its output against the reference's, must not fail a student for it by chance (standard
    normal float32 inputs tie at some window's maximum in about 1 timed call in 100).
    """
    n = int(np.prod(SPEED_SHAPE))
    return ((rng.permutation(n) - n // 2) / (n // 2)).astype(np.float32).reshape(SPEED_SHAPE)


def _speed_forward_case(rng):
    return (_speed_input(rng),), {"size": 2, "stride": 2}


def _speed_backward_case(rng):
    x = _speed_input(rng)
    dz = rng.standard_normal(_output_shape(SPEED_SHAPE, 2, 2)).astype(np.float32)
    return (dz, x), {"size": 2, "stride": 2}


@pytest.mark.points(4)
@pytest.mark.tags("forward", "speed")
def test_forward_speed(speed):
    """maxpool_forward is vectorised (speed against the reference)"""
    speed.compare("maxpool_forward", _speed_forward_case, threshold=SPEED_THRESHOLD,
                  case=f"x shape {SPEED_SHAPE} float32, size 2, stride 2")


@pytest.mark.points(4)
@pytest.mark.tags("backward", "speed")
def test_backward_speed(speed):
    """maxpool_backward is vectorised (speed against the reference)"""
    speed.compare("maxpool_backward", _speed_backward_case, threshold=SPEED_THRESHOLD,
                  case=f"x shape {SPEED_SHAPE} float32, size 2, stride 2")
