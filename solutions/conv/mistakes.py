"""Typical mistakes in the convolution assignment (instructor only; grader/mistakes.py says the format).

`grader validate --mistakes conv` grades each one; tests/test_conv_mutants.py checks them in detail.
"""
NAIVE_PRODUCT = "z[n, d, k, l] = b[d] + xp.sum(window * w[d])"
VECTORISED_PRODUCT = 'z = xp.einsum("ncklij,dcij->ndkl", windows, w, optimize=True)'
STRIDE_2 = r"-S([2-9]|\d\d+)-P"   # a case id with stride > 1 (N..-C..-H..-W..-D..-F..-S<stride>-P..)

MISTAKES = [
    {"name": "flipped-kernel",
     "explanation": "a true convolution: the kernel is flipped; the lecture's layer is a cross-correlation",
     "replace": [(NAIVE_PRODUCT, "z[n, d, k, l] = b[d] + xp.sum(window * w[d, :, ::-1, ::-1])"),
                 (VECTORISED_PRODUCT,
                  'z = xp.einsum("ncklij,dcij->ndkl", windows, w[:, :, ::-1, ::-1], optimize=True)')],
     "fails": [{"all_of": ["forward"], "none_of": ["shape", "symmetric_kernel"]}]},
    {"name": "stride-ignored-in-backward",
     "explanation": "the backward pass ignores the stride: window (k, l) starts at (k, l), not at (S*k, S*l)",
     "replace": [("rows = slice(stride * k, stride * k + F)", "rows = slice(k, k + F)"),
                 ("cols = slice(stride * l, stride * l + F)", "cols = slice(l, l + F)"),
                 ("windows = _windows(xp, x_pad, F, stride, H_out, W_out)",
                  "windows = _windows(xp, x_pad, F, 1, H_out, W_out)"),
                 ("i:i + stride * (H_out - 1) + 1:stride", "i:i + H_out"),
                 ("j:j + stride * (W_out - 1) + 1:stride", "j:j + W_out")],
     "fails": [{"any_of": ["dx", "dw"], "name": STRIDE_2}]},
    {"name": "bias-gradient-missing",
     "explanation": "the bias gradient is missing: db is the sum of dz over the batch and both spatial axes",
     "replace": [("db = dz.sum(axis=(0, 2, 3)).astype(dtype)", "db = xp.zeros(b.shape, dtype=dtype)")],
     "fails": [{"all_of": ["db"]}]},
    {"name": "vectorised-calls-the-loops",
     "explanation": "the vectorised functions call the naive loops: right values, but far too slow",
     "append": "conv2d_forward = conv2d_forward_naive\nconv2d_backward = conv2d_backward_naive\n",
     "fails": [{"all_of": ["speed"]}]},
]
