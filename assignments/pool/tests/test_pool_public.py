"""Public tests for pool.py. Run them with `grader check pool`.

They use the lecture's worked example (a 6x6 input, F = 2, S = 2) and a few small
cases; the hidden tests check more shapes, strides, dtypes, ties and speed.
"""
import numpy as np
import pytest

from grader.checks import assert_close, batched, check_gradient, expect_array, expect_raises

# The lecture's example: one 6x6 channel, pooled with F = 2, S = 2.
LECTURE_X = np.array([
    [2, 2, 0, 4, 3, 4],
    [0, 0, 5, 0, 4, 1],
    [4, 5, 2, 5, 1, 4],
    [5, 2, 1, 0, 2, 1],
    [2, 3, 3, 3, 5, 3],
    [0, 3, 0, 4, 0, 1],
], dtype=np.float64).reshape(1, 1, 6, 6)

LECTURE_Z = np.array([
    [2, 5, 4],
    [5, 5, 4],
    [3, 4, 5],
], dtype=np.float64).reshape(1, 1, 3, 3)

# With dz = 1 everywhere, dx marks the entry each window selected. Two windows hold a tied
# maximum: the top-left one (2 at (0,0) and (0,1)) and the top-right one (4 at (0,5) and
# (1,4)); the first maximum in row-major order is the one selected.
LECTURE_DX = np.array([
    [1, 0, 0, 0, 0, 1],
    [0, 0, 1, 0, 0, 0],
    [0, 1, 0, 1, 0, 1],
    [0, 0, 0, 0, 0, 0],
    [0, 1, 0, 0, 1, 0],
    [0, 0, 0, 1, 0, 0],
], dtype=np.float64).reshape(1, 1, 6, 6)

LECTURE_CASE = "the lecture's 6x6 example, size 2, stride 2"


@pytest.mark.points(3)
@pytest.mark.tags("forward")
def test_forward_lecture_example(student):
    """maxpool_forward reproduces the lecture's 6x6 example"""
    z = student.maxpool_forward(LECTURE_X, size=2, stride=2)
    # rtol 0: a maximum is one of the inputs, no arithmetic is involved.
    assert_close(z, LECTURE_Z, func="maxpool_forward", case=LECTURE_CASE, rtol=0)


@pytest.mark.points(3)
@pytest.mark.tags("backward", "ties")
def test_backward_lecture_example(student):
    """maxpool_backward sends each window's gradient to its (first) maximum"""
    dx = student.maxpool_backward(np.ones((1, 1, 3, 3)), LECTURE_X, size=2, stride=2)
    # rtol 0: dx holds copies of dz = 1 and zeros.
    assert_close(dx, LECTURE_DX, func="maxpool_backward", case=LECTURE_CASE + ", dz = 1", rtol=0, what="dx")


@pytest.mark.points(2)
@pytest.mark.tags("forward", "overlap")
def test_forward_output_shape(student, rng):
    """maxpool_forward returns shape (N, C, H', W') with H' = (H - F)/S + 1"""
    x = rng.standard_normal((2, 3, 7, 9))
    expect_array(student.maxpool_forward(x, size=3, stride=2), func="maxpool_forward",
                 case="x shape (2, 3, 7, 9), size 3, stride 2", shape=(2, 3, 3, 4))


@pytest.mark.points(3)
@pytest.mark.tags("backward", "overlap", "gradient")
def test_backward_gradient_check_overlapping(student, differentiated, rng):
    """maxpool_backward agrees with finite differences of maxpool_forward (F = 3, S = 1)"""
    shape, size, stride = (1, 2, 5, 4), 3, 1
    # Distinct values 0.1 apart: a step of eps = 1e-6 never changes which entry is a maximum,
    # so the loss is linear around x and centred differences are exact up to rounding.
    x = rng.permutation(40).reshape(shape) * 0.1
    g = rng.standard_normal((1, 2, 3, 2))
    case = f"x shape {shape}, size {size}, stride {stride}, loss = sum(z * g)"

    def forward(x_point):  # yours in a self-check; the reference's when grading
        return expect_array(differentiated.module.maxpool_forward(x_point, size=size, stride=stride),
                            func="maxpool_forward", case=case, shape=g.shape)

    dx = student.maxpool_backward(g, x, size=size, stride=stride)
    # rtol 1e-5: rounding of the finite differences is ~1e-10 here; a wrong routing is off by O(1).
    # forward_dtype: the noise of finite differences depends on the dtype your forward returns.
    # All the points are evaluated in one round trip to your sandboxed code (``batched``).
    check_gradient(None, x, dx, func="maxpool_backward",
                   case=case, wrt="x", rng=rng, rtol=1e-5, eps=1e-6, forward_dtype=forward(x).dtype,
                   of=differentiated.of, losses=lambda points: [
                       float(np.sum(expect_array(z, func="maxpool_forward", case=case, shape=g.shape) * g))
                       for z in batched(differentiated.module, "maxpool_forward",
                                        [((p,), {"size": size, "stride": stride}) for p in points])])


@pytest.mark.points(2)
@pytest.mark.tags("forward", "value_error")
def test_forward_rejects_windows_that_do_not_tile(student):
    """maxpool_forward raises ValueError when (H - F) is not a multiple of S"""
    x = np.zeros((1, 1, 6, 6))
    expect_raises(ValueError, lambda: student.maxpool_forward(x, size=3, stride=2),
                  func="maxpool_forward", case="x shape (1, 1, 6, 6), size 3, stride 2")
