"""Wrong-but-plausible max pooling solutions lose exactly the tests of what they break."""
import pytest

import helpers
from helpers import assignment_score, grade, lost, make_submission

# The reference's line that routes each window's gradient in maxpool_backward.
ROUTE = "dx[window_entry] += is_first_max * dz"
FIRST_MAX = "is_first_max = (x[window_entry] == z) & ~routed"


def _numbers(tests):
    return sorted(t["number"] for t in tests)


def _tagged(results, *, all_of=(), none_of=()):
    return [t for t in helpers.assignment_tests(results, "pool")
            if set(all_of) <= set(t["tags"]) and not set(none_of) & set(t["tags"])]


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
    sub = make_submission(workdir, "pool", name="spread",
                          replace=((ROUTE, "dx[window_entry] += dz / (size * size)"),))
    results = grade(sub, ["pool"])
    expected = _tagged(results, all_of=("backward",), none_of=("value_error",))
    assert len(expected) >= 15
    _check_losses(results, expected)


def test_assigning_instead_of_accumulating_loses_overlap_tests(workdir):
    # dx[...] = instead of +=: where windows overlap (S < F) later offsets overwrite earlier ones.
    sub = make_submission(workdir, "pool", name="assign",
                          replace=((ROUTE, "dx[window_entry] = is_first_max * dz"),))
    results = grade(sub, ["pool"])
    expected = _tagged(results, all_of=("backward", "overlap"))
    assert len(expected) >= 6
    _check_losses(results, expected)


def test_gradient_to_every_tied_maximum_loses_ties_tests(workdir):
    # Every entry equal to the window's maximum gets delta_kl, not only the first one.
    sub = make_submission(workdir, "pool", name="all-maxima",
                          replace=((FIRST_MAX, "is_first_max = (x[window_entry] == z)"),))
    results = grade(sub, ["pool"])
    expected = _tagged(results, all_of=("ties",))
    assert len(expected) >= 4
    _check_losses(results, expected)


LOOP_OVER_OUTPUT_POSITIONS = '''
def maxpool_forward(x, size=2, stride=2):
    out_h, out_w = pool_output_shape(x.shape, size, stride)
    z = np.empty(tuple(x.shape[:2]) + (out_h, out_w), dtype=x.dtype)
    for k in range(out_h):
        for l in range(out_w):
            window = x[:, :, k * stride:k * stride + size, l * stride:l * stride + size]
            z[:, :, k, l] = window.max(axis=(2, 3))
    return z


def maxpool_backward(dz, x, size=2, stride=2):
    out_h, out_w = pool_output_shape(x.shape, size, stride)
    if tuple(dz.shape) != tuple(x.shape[:2]) + (out_h, out_w):
        raise ValueError("dz has the wrong shape")
    n, c = x.shape[:2]
    batch, channel = np.meshgrid(np.arange(n), np.arange(c), indexing="ij")
    dx = np.zeros_like(x)
    for k in range(out_h):
        for l in range(out_w):
            window = x[:, :, k * stride:k * stride + size, l * stride:l * stride + size]
            i, j = np.divmod(window.reshape(n, c, -1).argmax(axis=2), size)
            dx[batch, channel, k * stride + i, l * stride + j] += dz[:, :, k, l]
    return dx
'''


def test_loop_over_output_positions_loses_speed_tests_only(workdir):
    # Correct results everywhere, but a Python loop over every output position (k, l).
    sub = make_submission(workdir, "pool", name="loop", append=LOOP_OVER_OUTPUT_POSITIONS)
    results = grade(sub, ["pool"])
    expected = _tagged(results, all_of=("speed",))
    assert len(expected) == 2
    _check_losses(results, expected)
