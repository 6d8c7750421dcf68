"""Typical mistakes in the convolution assignment (instructor only; grader/mistakes.py says the format).

`grader validate --mistakes conv` grades each one; tests/test_conv_mutants.py checks them in detail.
"""
NAIVE_PRODUCT = "z[n, d, k, l] = b[d] + xp.sum(window * w[d])"
VECTORISED_PRODUCT = 'z = xp.einsum("ncklij,dcij->ndkl", windows, w, optimize=True)'
NAIVE_DW = "dw[d] += dz[n, d, k, l] * x_pad[n, :, rows, cols]"
VECTORISED_DW = 'dw = xp.einsum("ndkl,ncklij->dcij", dz, windows, optimize=True).astype(dtype)'
DB = "db = dz.sum(axis=(0, 2, 3)).astype(dtype)"                        # in both backward passes
CROP = "return dx_pad[:, :, pad:pad + H, pad:pad + W], dw, db"          # in both backward passes
PAD = "return xp.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))"
STRIDE_2 = r"-S([2-9]|\d\d+)-P"   # a case id with stride > 1 (N..-C..-H..-W..-D..-F..-S<stride>-P..)
PAD_0 = r"-P0\b"                  # a case id without padding
PADDED = r"-P[1-9]"               # a case id with padding P >= 1
FLOAT64_CASE = r"-P\d+-conv2d"    # a hidden case id with float64 inputs (float32 ones end in -float32)

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
     "replace": [(DB, "db = xp.zeros(b.shape, dtype=dtype)")],
     "fails": [{"all_of": ["db"]}]},
    {"name": "vectorised-calls-the-loops",
     "explanation": "the vectorised functions call the naive loops: right values, but far too slow",
     "append": "conv2d_forward = conv2d_forward_naive\nconv2d_backward = conv2d_backward_naive\n",
     "fails": [{"all_of": ["speed"]}]},
    {"name": "crop-with-negative-pad",
     "explanation": "dx is cut out of the padded gradient as [P:-P]: with P = 0 that is [0:-0], an empty "
                    "array; take rows P .. P+H-1 ([P:P+H]) so that no padding works too",
     "replace": [(CROP, "return dx_pad[:, :, pad:-pad, pad:-pad], dw, db")],
     "fails": [{"all_of": ["dx"], "name": PAD_0}]},
    {"name": "weight-gradient-from-one-image",
     "explanation": "dw is the lecture's single-image formula applied to the first image only: the loss "
                    "sums over the batch, so dw sums dz * x~ over every image n as well as over (k, l)",
     "replace": [(NAIVE_DW, "if n == 0:\n" + " " * 24 + NAIVE_DW),
                 (VECTORISED_DW,
                  'dw = xp.einsum("dkl,cklij->dcij", dz[0], windows[0], optimize=True).astype(dtype)')],
     "fails": [{"all_of": ["dw"]}]},
    {"name": "bias-gradient-not-summed-over-batch",
     "explanation": "db sums dz over the two spatial axes only, one row per image (shape (N, D)): "
                    "the bias is shared by the whole batch, so db also sums over n and has shape (D,)",
     "replace": [(DB, "db = dz.sum(axis=(2, 3)).astype(dtype)")],
     # the public consistency test also checks that the naive db has b's shape
     "fails": [{"all_of": ["db"]}, {"all_of": ["consistency"], "name": "^conv2d_backward returns"}]},
    {"name": "output-size-floored",
     "explanation": "conv_output_size floors (n - f + 2P)/S + 1 when the windows do not tile the padded "
                    "input; the lecture requires an integer there, else a ValueError",
     "replace": [('    if span % stride:\n        raise ValueError(f"(n - f + 2*pad) / stride = '
                  '({n} - {f} + 2*{pad}) / {stride} is not an integer")\n', "")],
     "fails": [{"all_of": ["output_size", "errors"]},
               {"all_of": ["errors"], "name": r"output size not an integer|^The forward pass raises ValueError"}]},
    {"name": "transposed-kernel",
     "explanation": "the filter is transposed: w[d, c, i, j] must weight the pixel i rows down and j "
                    "columns right in the window (x~[S*k + i, S*l + j]), not j rows down and i columns right",
     "replace": [(NAIVE_PRODUCT, "z[n, d, k, l] = b[d] + xp.sum(window * w[d].transpose(0, 2, 1))"),
                 (VECTORISED_PRODUCT, 'z = xp.einsum("ncklij,dcji->ndkl", windows, w, optimize=True)')],
     # a kernel whose only 1 is at w[0, 0] is its own transpose
     "fails": [{"all_of": ["forward"], "none_of": ["shape", "symmetric_kernel"],
                "name": "^(?!A kernel with its only 1 in the top-left corner)"}]},
    {"name": "padding-on-one-side",
     "explanation": "the zero padding is all on one side: the image sits in the top-left corner with 2P "
                    "zeros after it, instead of P zeros on each side of each spatial axis",
     "replace": [(PAD, "return xp.pad(x, ((0, 0), (0, 0), (0, 2 * pad), (0, 2 * pad)))")],
     # dx is right: it does not depend on where x sits in x~, and it is cut at rows P .. P+H-1;
     # the speed tests' case has P = 1 and compare the outputs
     "fails": [{"any_of": ["forward", "dw"], "none_of": ["shape"], "name": PADDED},
               {"all_of": ["forward"], "name": r"with P=1|^Zero padding"},
               {"all_of": ["speed"], "any_of": ["forward", "dw"]}]},
    {"name": "float32-output",
     "explanation": "the forward pass returns float32 whatever the inputs' dtype: float64 inputs lose "
                    "half their digits; the output's dtype is the inputs' result type",
     "replace": [("z = xp.zeros((N, D, H_out, W_out), dtype=xp.result_type(x, w, b))",
                  "z = xp.zeros((N, D, H_out, W_out), dtype=xp.float32)"),
                 ("return z + b.reshape(1, D, 1, 1)", "return (z + b.reshape(1, D, 1, 1)).astype(xp.float32)")],
     # float64 cases compared at rtol 1e-8 (hidden) or 1e-10 (public 1x1 filters; the other
     # hand-made cases are small integers and sums of ninths, exact enough in float32); the
     # speed test compares at 1e-6, above float32's rounding
     "fails": [{"all_of": ["forward"], "name": FLOAT64_CASE},
               {"all_of": ["forward"], "name": "^1x1 filters mix the channels"}]},
]
