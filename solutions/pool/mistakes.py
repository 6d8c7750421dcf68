"""Typical mistakes in the max-pooling assignment (instructor only; grader/mistakes.py says the format).

`grader validate --mistakes pool` grades each one; tests/test_pool_mutants.py checks them in detail.
"""
ROUTE = "dx[window_entry] += is_first_max * dz"

MISTAKES = [
    {"name": "gradient-spread-over-window",
     "explanation": "the gradient is spread over the window as in average pooling; max pooling routes it "
                    "to the maximum only",
     "replace": [(ROUTE, "dx[window_entry] += dz / (size * size)")],
     "fails": [{"all_of": ["backward"], "none_of": ["value_error"]}]},
    {"name": "assigned-not-accumulated",
     "explanation": "the gradient is assigned instead of accumulated: where windows overlap (S < F) an "
                    "input gets the sum over every window it is the maximum of",
     "replace": [(ROUTE, "dx[window_entry] = is_first_max * dz")],
     "fails": [{"all_of": ["backward", "overlap"]}]},
    {"name": "every-tied-maximum",
     "explanation": "on ties every maximal entry gets the gradient; the lecture routes it to the first maximum",
     "replace": [("is_first_max = (x[window_entry] == z) & ~routed", "is_first_max = (x[window_entry] == z)")],
     "fails": [{"all_of": ["ties"]}]},
    {"name": "loop-over-output-positions",
     "explanation": "a Python loop over every output position (k, l): right values, but too slow",
     "append": '''
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
''',
     "fails": [{"all_of": ["speed"]}]},
]
