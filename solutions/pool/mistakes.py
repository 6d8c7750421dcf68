"""Typical mistakes in the max-pooling assignment (instructor only; grader/mistakes.py says the format).

`grader validate --mistakes pool` grades each one; tests/test_pool_mutants.py checks them in detail.
"""
ROUTE = "dx[window_entry] += is_first_max * dz"
# Names of the value tests whose case has a stride S > 1: all but the F1 S1 and F3 S1 cases (and the
# public output-shape test, whose shape is right).
STRIDE_ABOVE_1 = r"^(?!.*(S1\b|S = 1\b|returns shape))"

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
    {"name": "last-tied-maximum",
     "explanation": "on ties the last maximal entry gets the gradient (offsets visited in reverse, or argmax "
                    "of the flipped window); the lecture routes it to the first maximum",
     "replace": [("""    for i in range(size):
        for j in range(size):
            window_entry""", """    for i in reversed(range(size)):
        for j in reversed(range(size)):
            window_entry""")],
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
    {"name": "stride-ignored-windows-step-by-1",
     "explanation": "the windows step by 1 instead of by the stride S: window (k, l) starts at (k, l), not at "
                    "(kS, lS) (Omega(k,l) = {kS..kS+F-1} x {lS..lS+F-1})",
     "replace": [("slice(offset_i, offset_i + stride * (out_h - 1) + 1, stride)",
                  "slice(offset_i, offset_i + out_h)"),
                 ("slice(offset_j, offset_j + stride * (out_w - 1) + 1, stride)",
                  "slice(offset_j, offset_j + out_w)")],
     # Every value test with S > 1 (all but the F1 S1 and F3 S1 cases); the output shape and the
     # geometry checks are right.
     "fails": [{"any_of": ["forward", "backward"], "none_of": ["value_error"], "name": STRIDE_ABOVE_1}]},
    {"name": "last-window-padded",
     "explanation": "windows that do not tile the input are completed by padding the input (ceil((H - F)/S) "
                    "+ 1 outputs); pooling has no padding: (H - F)/S + 1 must be an integer, else ValueError",
     "replace": [("""    if (height - size) % stride or (width - size) % stride:
        raise ValueError(f"windows of size {size} with stride {stride} do not tile "
                         f"a {height}x{width} input: (H - F) and (W - F) must be multiples of S")
    return (height - size) // stride + 1, (width - size) // stride + 1""",
                  """    return -(-(height - size) // stride) + 1, -(-(width - size) // stride) + 1"""),
                 ("""    out_h, out_w = pool_output_shape(x.shape, size, stride)
""", """    out_h, out_w = pool_output_shape(x.shape, size, stride)
    height, width = x.shape[2:]
    x = xp.pad(x, ((0, 0), (0, 0), (0, (out_h - 1) * stride + size - height),
                   (0, (out_w - 1) * stride + size - width)), constant_values=-xp.inf)
"""),
                 ("    return dx\n", "    return dx[..., :height, :width]\n")],
     # The forward geometry checks, and the backward's (it also passes dz of the padded shape)
     "fails": [{"all_of": ["value_error"], "name": "% stride != 0|multiple of S"},
               {"all_of": ["backward", "value_error"], "name": "geometry that does not fit"}]},
    {"name": "argmax-row-column-swapped",
     "explanation": "the maximum's position in the window is unravelled in the wrong axis order ((j, i) "
                    "instead of (i, j)), so delta_kl lands on the wrong pixel",
     "replace": [(ROUTE, "dx[_window_slices(j, i, out_h, out_w, stride)] += is_first_max * dz")],
     # A constant input's first maximum is the top-left entry, where (i, j) = (j, i).
     "fails": [{"all_of": ["backward"], "none_of": ["value_error"], "name": "^(?!.*constant input)"}]},
]
