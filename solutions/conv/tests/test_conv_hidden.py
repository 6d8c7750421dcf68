"""Hidden tests for conv.py: convolutional layer forward and backward passes.

Expected values come from the reference solution (the `reference` fixture), always
computed in float64. Random inputs come from the `rng` fixture (seeded per test); the
weights are Gaussian, so no kernel is symmetric and a flipped kernel (true convolution)
fails every forward case. All inputs are small except in the speed tests, so the naive
loops run in milliseconds.

Case ids read N2-C3-H7-W5-D4-F3-S2-P1 (batch, channels, height, width, filters, filter
size, stride, padding); "-float32" marks float32 inputs.
"""
from dataclasses import dataclass

import numpy as np
import pytest

from grader.checks import CheckFailure, assert_close, expect_raises, quote


@dataclass(frozen=True)
class Case:
    N: int
    C: int
    H: int
    W: int
    D: int
    F: int
    S: int
    P: int
    dtype: str = "float64"

    @property
    def id(self) -> str:
        text = f"N{self.N}-C{self.C}-H{self.H}-W{self.W}-D{self.D}-F{self.F}-S{self.S}-P{self.P}"
        return text if self.dtype == "float64" else f"{text}-{self.dtype}"

    @property
    def out_shape(self) -> tuple:
        return (self.N, self.D, (self.H - self.F + 2 * self.P) // self.S + 1,
                (self.W - self.F + 2 * self.P) // self.S + 1)

    @property
    def rtol(self) -> float:
        # float64: student and reference add the same products in different orders, rounding
        # ~1e-15 relative to the largest output; 1e-8 is far above that and far below the O(1)
        # error of any wrong index.
        # float32 (the one float32 case sums C*F*F = 27 products per output and N*H'*W' = 24
        # terms per dw, db entry): unit roundoff 6e-8; the worst relative error of the
        # reference's and an einsum solution's float32 results over 1500 seeds was 4e-7, so
        # 1e-4 leaves a margin of 200 and is still far below the O(1) error of a wrong index.
        return 1e-8 if self.dtype == "float64" else 1e-4

    def inputs(self, rng: np.random.Generator):
        """x, w, b and an upstream gradient dz, in this case's dtype."""
        dtype = np.dtype(self.dtype)
        x = rng.standard_normal((self.N, self.C, self.H, self.W)).astype(dtype)
        w = rng.standard_normal((self.D, self.C, self.F, self.F)).astype(dtype)
        b = rng.standard_normal(self.D).astype(dtype)
        dz = rng.standard_normal(self.out_shape).astype(dtype)
        return x, w, b, dz


# Together: stride 1 and 2; padding 0, 1, 2 (P = 0 catches x[P:-P]); C in {1, 3}; D in {1, 4};
# F in {1, 2, 3, 5}; H != W and N >= 2 everywhere; one float32 case.
CASES = [
    Case(N=2, C=1, H=5, W=7, D=1, F=1, S=1, P=0),
    Case(N=2, C=3, H=7, W=6, D=4, F=3, S=1, P=1),
    Case(N=3, C=3, H=8, W=6, D=4, F=2, S=2, P=0),
    Case(N=2, C=1, H=9, W=7, D=4, F=3, S=2, P=1),
    Case(N=2, C=3, H=6, W=8, D=1, F=5, S=1, P=2),
    Case(N=2, C=3, H=7, W=9, D=4, F=5, S=2, P=2),
    Case(N=2, C=3, H=7, W=5, D=4, F=3, S=2, P=1, dtype="float32"),
]

FORWARDS = ["conv2d_forward_naive", "conv2d_forward"]
BACKWARDS = ["conv2d_backward_naive", "conv2d_backward"]


def case_params():
    # A 1x1 kernel equals its 180-degree rotation: tagged so, as it cannot tell a flipped kernel.
    return [pytest.param(case, id=case.id, marks=[pytest.mark.tags("symmetric_kernel")] if case.F == 1 else [])
            for case in CASES]


def as_float64(*arrays):
    return tuple(np.asarray(a, dtype=np.float64) for a in arrays)


def in_case_dtype(case, expected):
    """The float64 reference result in the case's dtype, the dtype a correct solution returns (so a
    message names a dtype difference only where there is one); rounding it to float32 moves it by
    at most 6e-8 relative, far inside that case's 1e-4."""
    return np.asarray(expected).astype(case.dtype)


# -- conv_output_size ------------------------------------------------------------------------

@pytest.mark.points(2)
@pytest.mark.tags("output_size")
def test_output_size_matches_formula(student, reference):
    """conv_output_size returns (n - f + 2*pad)/stride + 1 as an int"""
    for n, f, stride, pad in [(5, 5, 1, 0), (1, 1, 1, 0), (1, 3, 1, 1), (224, 3, 1, 1), (225, 7, 2, 3),
                              (10, 4, 3, 0), (28, 5, 1, 2), (13, 3, 2, 0), (9, 1, 4, 0), (6, 2, 4, 2)]:
        expected = reference.conv_output_size(n, f, stride, pad)
        got = student.conv_output_size(n, f, stride=stride, pad=pad)
        case = f"n={n}, f={f}, stride={stride}, pad={pad}"
        if type(got) is not int or got != expected:
            raise CheckFailure(f"conv_output_size ({case}): returned {quote(got)} ({type(got).__name__}), "
                               f"expected the int ({n} - {f} + 2*{pad})/{stride} + 1 = {expected}")


@pytest.mark.points(2)
@pytest.mark.tags("output_size", "errors")
def test_output_size_rejects_invalid_arguments(student):
    """conv_output_size raises ValueError for geometry that does not fit"""
    cases = {
        "n=7, f=2, stride=2, pad=0: (7 - 2)/2 is not an integer": (7, 2, 2, 0),
        "n=8, f=3, stride=3, pad=1: (8 - 3 + 2)/3 is not an integer": (8, 3, 3, 1),
        "n=4, f=7, stride=1, pad=1: filter larger than the padded input": (4, 7, 1, 1),
        "n=5, f=3, stride=0, pad=1: stride below 1": (5, 3, 0, 1),
        "n=5, f=3, stride=-1, pad=0: stride below 1": (5, 3, -1, 0),
        "n=5, f=3, stride=1, pad=-2: negative padding": (5, 3, 1, -2),
        "n=5, f=0, stride=1, pad=0: filter size below 1": (5, 0, 1, 0),
    }
    for case, (n, f, stride, pad) in cases.items():
        expect_raises(ValueError, lambda: student.conv_output_size(n, f, stride=stride, pad=pad),
                      func="conv_output_size", case=case)


# -- forward ---------------------------------------------------------------------------------

@pytest.mark.points(1)
@pytest.mark.tags("forward")
@pytest.mark.parametrize("func", FORWARDS)
@pytest.mark.parametrize("case", case_params())
def test_forward_matches_reference(student, reference, rng, case, func):
    """Forward pass matches the reference"""
    x, w, b, _ = case.inputs(rng)
    expected = in_case_dtype(case, reference.conv2d_forward(*as_float64(x, w, b), stride=case.S, pad=case.P))
    got = getattr(student, func)(x, w, b, stride=case.S, pad=case.P)
    assert_close(got, expected, func=func, case=case.id, rtol=case.rtol)


BAD_FORWARD = {
    "channel mismatch: x has 3 channels, w expects 2": ((2, 3, 6, 5), (4, 2, 3, 3), (4,), 1, 0),
    "non-square filter 3x2": ((2, 3, 6, 5), (4, 3, 3, 2), (4,), 1, 0),
    "bias of length 3 for 4 filters": ((2, 3, 6, 5), (4, 3, 3, 3), (3,), 1, 0),
    "output size not an integer: H=6, F=3, S=2, P=0": ((2, 3, 6, 5), (4, 3, 3, 3), (4,), 2, 0),
    "x of shape (3, 6, 5) is not 4-D": ((3, 6, 5), (4, 3, 3, 3), (4,), 1, 0),
    "filter larger than the padded input: H=W=2, F=5, P=1": ((2, 3, 2, 2), (4, 3, 5, 5), (4,), 1, 1),
}


@pytest.mark.points(1)
@pytest.mark.tags("errors")
@pytest.mark.parametrize("kind", list(BAD_FORWARD))
def test_forward_rejects_bad_geometry(student, kind):
    """Forward passes raise ValueError for geometry that does not fit"""
    x_shape, w_shape, b_shape, stride, pad = BAD_FORWARD[kind]
    x, w, b = np.ones(x_shape), np.ones(w_shape), np.ones(b_shape)
    for func in FORWARDS:
        expect_raises(ValueError, lambda: getattr(student, func)(x, w, b, stride=stride, pad=pad),
                      func=func, case=f"{kind}; x {x_shape}, w {w_shape}, b {b_shape}, stride {stride}, pad {pad}")


# -- backward: dx, dw and db graded separately -----------------------------------------------

def check_backward_part(student, reference, rng, case, func, part):
    """Compare one of the student's (dx, dw, db) with the reference's (float64) for this case."""
    x, w, b, dz = case.inputs(rng)
    got = getattr(student, func)(dz, x, w, b, stride=case.S, pad=case.P)
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        length = f" of length {len(got)}" if isinstance(got, (tuple, list)) else ""
        raise CheckFailure(f"{func} ({case.id}): should return the tuple (dx, dw, db), "
                           f"got {type(got).__name__}{length}")
    expected = reference.conv2d_backward(*as_float64(dz, x, w, b), stride=case.S, pad=case.P)
    k = ("dx", "dw", "db").index(part)
    assert_close(got[k], in_case_dtype(case, expected[k]), func=func, case=case.id, rtol=case.rtol, what=part)


@pytest.mark.points(1)
@pytest.mark.tags("backward", "dx")
@pytest.mark.parametrize("func", BACKWARDS)
@pytest.mark.parametrize("case", case_params())
def test_backward_dx_matches_reference(student, reference, rng, case, func):
    """Backward pass: dx matches the reference"""
    check_backward_part(student, reference, rng, case, func, "dx")


@pytest.mark.points(1)
@pytest.mark.tags("backward", "dw")
@pytest.mark.parametrize("func", BACKWARDS)
@pytest.mark.parametrize("case", case_params())
def test_backward_dw_matches_reference(student, reference, rng, case, func):
    """Backward pass: dw matches the reference"""
    check_backward_part(student, reference, rng, case, func, "dw")


@pytest.mark.points(1)
@pytest.mark.tags("backward", "db")
@pytest.mark.parametrize("func", BACKWARDS)
@pytest.mark.parametrize("case", case_params())
def test_backward_db_matches_reference(student, reference, rng, case, func):
    """Backward pass: db matches the reference"""
    check_backward_part(student, reference, rng, case, func, "db")


BAD_BACKWARD = {
    "dz of shape (2, 4, 4, 3), expected (2, 4, 4, 5)": ((2, 4, 4, 3), (2, 3, 6, 7), (4, 3, 3, 3), (4,), 1, 0),
    "channel mismatch: x has 3 channels, w expects 2": ((2, 4, 4, 5), (2, 3, 6, 7), (4, 2, 3, 3), (4,), 1, 0),
}


@pytest.mark.points(1)
@pytest.mark.tags("errors")
@pytest.mark.parametrize("kind", list(BAD_BACKWARD))
def test_backward_rejects_bad_geometry(student, kind):
    """Backward passes raise ValueError for shapes that do not fit"""
    dz_shape, x_shape, w_shape, b_shape, stride, pad = BAD_BACKWARD[kind]
    dz, x, w, b = np.ones(dz_shape), np.ones(x_shape), np.ones(w_shape), np.ones(b_shape)
    for func in BACKWARDS:
        expect_raises(ValueError, lambda: getattr(student, func)(dz, x, w, b, stride=stride, pad=pad),
                      func=func, case=f"{kind}; x {x_shape}, w {w_shape}, stride {stride}, pad {pad}")


# -- speed -----------------------------------------------------------------------------------

# A first layer on a batch of small RGB images: N=16, C=3, 32x32, D=8 filters 3x3, S=1, P=1.
# Large enough that the arithmetic (~3.5M multiply-adds) dominates the per-call transfer
# overhead, small enough that the reference takes a few milliseconds per call.
SPEED = Case(N=16, C=3, H=32, W=32, D=8, F=3, S=1, P=1)

# Threshold 30. Measured through the sandbox on the 2-core grading machine (one BLAS thread,
# as in grading; the ~5-10 ms per-call transfer of 1.4 MB is in both medians), as ratios of
# medians to this reference:
#   honest vectorisations (im2col + matmul, im2col by fancy indexing + np.add.at, tensordot
#   or einsum over a window view, loops over the F*F offsets, dx as a full correlation):
#   forward 1.2-2.4x, backward 1.0-2.5x; plain np.einsum without optimize=True, the slowest
#   honest one: 3.5-4.8x forward, 3.2-3.4x backward;
#   loops over the output pixels (k, l) with vectorised sums: ~6x both ways;
#   the naive loops: forward ~220x, backward ~150x.
# 30 is 5x above the pixel loops and 5x below the naive backward.
SPEED_THRESHOLD = 30


def speed_case(rng):
    x, w, b, _ = SPEED.inputs(rng)
    return (x, w, b), {"stride": SPEED.S, "pad": SPEED.P}


def speed_case_backward(rng):
    x, w, b, dz = SPEED.inputs(rng)
    return (dz, x, w, b), {"stride": SPEED.S, "pad": SPEED.P}


@pytest.mark.points(3)
@pytest.mark.tags("forward", "speed")
def test_forward_speed(speed):
    """conv2d_forward is about as fast as the reference"""
    speed.compare("conv2d_forward", speed_case, threshold=SPEED_THRESHOLD, case=SPEED.id)


@pytest.mark.points(3)
@pytest.mark.tags("backward", "speed", "dx", "dw", "db")
def test_backward_speed(speed):
    """conv2d_backward is about as fast as the reference"""
    # Every timed call's (dx, dw, db) is also compared with the reference, hence the dx/dw/db tags.
    speed.compare("conv2d_backward", speed_case_backward, threshold=SPEED_THRESHOLD, case=SPEED.id,
                  outputs=("dx", "dw", "db"))
