"""Hidden tests for arch.py: parameter counts, layer tables, FC layers as convolutions.

Counts are checked exactly against integers written out here (computed by hand from the
formulas and matching the lecture's rounded figures); fc_to_conv is checked numerically by
running a fully connected layer and a trusted convolution (below) on the same inputs.
"""
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from grader.checks import CheckFailure, assert_close, expect_array, expect_raises, quote


def _expect_int(value, expected, *, func, case, what="result"):
    if isinstance(value, bool) or not isinstance(value, int):
        raise CheckFailure(f"{func} ({case}): {what} should be an int, got {type(value).__name__} {quote(value)}")
    if value != expected:
        raise CheckFailure(f"{func} ({case}): {what} is {quote(value)}, expected {expected}")


# -- parameter counts --------------------------------------------------------------------------

CONV_COUNTS = [  # (case id, (c, d, f), expected)
    ("lecture shared weights: 3 channels, 1 filter 3x3 -> 28", (3, 1, 3), 28),
    ("lecture 4 filters 3x3x3 -> 112", (3, 4, 3), 112),
    ("VGG conv3-64 on RGB -> 1.7k", (3, 64, 3), 1792),
    ("VGG conv3-512 on 512 channels -> 2.4M", (512, 512, 3), 2359808),
    ("1x1 convolution, 7 channels, 5 filters", (7, 5, 1), 40),
]


@pytest.mark.points(1)
@pytest.mark.tags("counts", "params")
@pytest.mark.parametrize("args, expected", [pytest.param(a, e, id=n) for n, a, e in CONV_COUNTS])
def test_conv_param_count(student, args, expected):
    """conv_param_count gives F^2 C D + D"""
    c, d, f = args
    _expect_int(student.conv_param_count(c, d, f), expected, func="conv_param_count",
                case=f"c={c}, d={d}, f={f}")


FC_COUNTS = [  # (case id, (n_in, n_out), expected)
    ("lecture 32x32 -> 32x32 fully connected, ~1M", (1024, 1024), 1049600),
    ("VGG FC-4096 on 7x7x512 -> 103M", (25088, 4096), 102764544),
    ("10 inputs, 1 unit", (10, 1), 11),
]


@pytest.mark.points(1)
@pytest.mark.tags("counts", "params")
@pytest.mark.parametrize("args, expected", [pytest.param(a, e, id=n) for n, a, e in FC_COUNTS])
def test_fc_param_count(student, args, expected):
    """fc_param_count gives n_out (n_in + 1)"""
    n_in, n_out = args
    _expect_int(student.fc_param_count(n_in, n_out), expected, func="fc_param_count",
                case=f"n_in={n_in}, n_out={n_out}")


LOCAL_COUNTS = [  # (case id, args, kwargs, expected)
    ("lecture grayscale 30x30 outputs, 3x3 fields -> 9k", (30, 30, 1, 3), {}, 9000),
    ("lecture RGB 30x30 outputs, 3x3x3 fields -> 25k", (30, 30, 3, 3), {}, 25200),
    ("RGB, 4 feature maps", (30, 30, 3, 3), {"d": 4}, 100800),
    ("5x7 outputs, 2 channels, 2x2 fields, 3 maps", (5, 7, 2, 2), {"d": 3}, 945),
]


@pytest.mark.points(1)
@pytest.mark.tags("counts", "params")
@pytest.mark.parametrize("args, kwargs, expected", [pytest.param(a, k, e, id=n) for n, a, k, e in LOCAL_COUNTS])
def test_locally_connected_param_count(student, args, kwargs, expected):
    """locally_connected_param_count gives h_out w_out d (F^2 C + 1)"""
    h_out, w_out, c, f = args
    _expect_int(student.locally_connected_param_count(h_out, w_out, c, f, **kwargs), expected,
                func="locally_connected_param_count",
                case=f"h_out={h_out}, w_out={w_out}, c={c}, f={f}, d={kwargs.get('d', 1)}")


BAD_COUNTS = [  # (case id, function, args)
    ("conv_param_count c=0", "conv_param_count", (0, 4, 3)),
    ("conv_param_count d=-1", "conv_param_count", (3, -1, 3)),
    ("fc_param_count n_out=0", "fc_param_count", (10, 0)),
    ("locally_connected_param_count f=0", "locally_connected_param_count", (30, 30, 3, 0)),
]


@pytest.mark.points(0.5)
@pytest.mark.tags("counts", "value_error")
@pytest.mark.parametrize("func, args", [pytest.param(f, a, id=n) for n, f, a in BAD_COUNTS])
def test_counts_reject_non_positive(student, func, args):
    """parameter counts raise ValueError for arguments < 1"""
    expect_raises(ValueError, lambda: getattr(student, func)(*args), func=func,
                  case=f"arguments {args}")


# -- layer tables --------------------------------------------------------------------------------

def _table(value, n_layers, *, case):
    """The student's layer table as a list of ((H, W, C), n_params, n_activations) of ints."""
    func = "layer_table"
    if not isinstance(value, (list, tuple)) or len(value) != n_layers:
        got = f"{type(value).__name__} of length {len(value)}" if isinstance(value, (list, tuple)) \
            else type(value).__name__
        raise CheckFailure(f"{func} ({case}): should return a list of {n_layers} rows, got {got}")
    rows = []
    for k, row in enumerate(value):
        where = f"row {k}"
        if not isinstance(row, (list, tuple)) or len(row) != 3:
            raise CheckFailure(f"{func} ({case}): {where} should be (output_shape, n_params, n_activations), "
                               f"got {quote(row)}")
        shape, n_params, n_acts = row
        if not isinstance(shape, (list, tuple)) or len(shape) != 3 \
                or any(isinstance(s, bool) or not isinstance(s, int) for s in shape):
            raise CheckFailure(f"{func} ({case}): {where} output_shape should be three ints (H, W, C), "
                               f"got {quote(shape)}")
        for what, number in (("n_params", n_params), ("n_activations", n_acts)):
            if isinstance(number, bool) or not isinstance(number, int):
                raise CheckFailure(f"{func} ({case}): {where} {what} should be an int, got {quote(number)}")
        rows.append((tuple(shape), n_params, n_acts))
    return rows


# VGG-16 (configuration D) on a 224 x 224 x 3 image, as in the lecture's table. Each row:
# (layer, name, output shape (H, W, C), parameters, activations, the lecture's rounded figures).
VGG16 = [
    (("conv", 64, 3, 1, 1), "conv3-64", (224, 224, 64), 1792, 3211264, "1.7k / 3.2M"),
    (("conv", 64, 3, 1, 1), "conv3-64", (224, 224, 64), 36928, 3211264, "37k / 3.2M"),
    (("pool", 2, 2), "MP", (112, 112, 64), 0, 802816, "- / 800k"),
    (("conv", 128, 3, 1, 1), "conv3-128", (112, 112, 128), 73856, 1605632, "74k / 1.6M"),
    (("conv", 128, 3, 1, 1), "conv3-128", (112, 112, 128), 147584, 1605632, "147k / 1.6M"),
    (("pool", 2, 2), "MP", (56, 56, 128), 0, 401408, "- / 400k"),
    (("conv", 256, 3, 1, 1), "conv3-256", (56, 56, 256), 295168, 802816, "295k / 800k"),
    (("conv", 256, 3, 1, 1), "conv3-256", (56, 56, 256), 590080, 802816, "590k / 800k"),
    (("conv", 256, 3, 1, 1), "conv3-256", (56, 56, 256), 590080, 802816, "590k / 800k"),
    (("pool", 2, 2), "MP", (28, 28, 256), 0, 200704, "- / 200k"),
    (("conv", 512, 3, 1, 1), "conv3-512", (28, 28, 512), 1180160, 401408, "1.2M / 400k"),
    (("conv", 512, 3, 1, 1), "conv3-512", (28, 28, 512), 2359808, 401408, "2.4M / 400k"),
    (("conv", 512, 3, 1, 1), "conv3-512", (28, 28, 512), 2359808, 401408, "2.4M / 400k"),
    (("pool", 2, 2), "MP", (14, 14, 512), 0, 100352, "- / 100k"),
    (("conv", 512, 3, 1, 1), "conv3-512", (14, 14, 512), 2359808, 100352, "2.4M / 100k"),
    (("conv", 512, 3, 1, 1), "conv3-512", (14, 14, 512), 2359808, 100352, "2.4M / 100k"),
    (("conv", 512, 3, 1, 1), "conv3-512", (14, 14, 512), 2359808, 100352, "2.4M / 100k"),
    (("pool", 2, 2), "MP", (7, 7, 512), 0, 25088, "- / 25k"),
    (("fc", 4096), "FC-4096", (1, 1, 4096), 102764544, 4096, "103M / 4096"),
    (("fc", 4096), "FC-4096", (1, 1, 4096), 16781312, 4096, "16.7M / 4096"),
    (("fc", 1000), "FC-1000", (1, 1, 1000), 4097000, 1000, "4M / 1000"),
    (("softmax",), "softmax", (1, 1, 1000), 0, 1000, "- / 1000"),
]
VGG16_SPEC = [row[0] for row in VGG16]
VGG16_TOTAL_PARAMS = 138357544  # the lecture's "~138M"
VGG16_BLOCKS = [  # (block id, first row, end row)
    ("block 1: conv3-64 x2, MP", 0, 3),
    ("block 2: conv3-128 x2, MP", 3, 6),
    ("block 3: conv3-256 x3, MP", 6, 10),
    ("block 4: conv3-512 x3, MP", 10, 14),
    ("block 5: conv3-512 x3, MP", 14, 18),
    ("head: FC-4096, FC-4096, FC-1000, softmax", 18, 22),
]
VGG_CASE = "VGG-16 on a 224x224x3 input"


def _vgg_rows(student):
    return _table(student.layer_table(VGG16_SPEC, (224, 224, 3)), len(VGG16), case=VGG_CASE)


def _row_name(k):
    return f"row {k} ({VGG16[k][1]})"


@pytest.mark.points(1)
@pytest.mark.tags("table", "activations")
@pytest.mark.parametrize("start, end", [pytest.param(s, e, id=n) for n, s, e in VGG16_BLOCKS])
def test_vgg16_output_shapes_and_activations(student, start, end):
    """layer_table on VGG-16: output shapes and activations, row by row"""
    rows = _vgg_rows(student)
    for k in range(start, end):
        _, name, shape, _, acts, lecture = VGG16[k]
        if rows[k][0] != shape:
            raise CheckFailure(f"layer_table ({VGG_CASE}): {_row_name(k)} output_shape is {quote(rows[k][0])}, "
                               f"expected {shape}")
        _expect_int(rows[k][2], acts, func="layer_table", case=VGG_CASE,
                    what=f"{_row_name(k)} n_activations (lecture: {lecture.split(' / ')[1]})")


@pytest.mark.points(1)
@pytest.mark.tags("table", "params")
@pytest.mark.parametrize("start, end", [pytest.param(s, e, id=n) for n, s, e in VGG16_BLOCKS])
def test_vgg16_parameters(student, start, end):
    """layer_table on VGG-16: parameters, row by row"""
    rows = _vgg_rows(student)
    for k in range(start, end):
        _, name, _, params, _, lecture = VGG16[k]
        _expect_int(rows[k][1], params, func="layer_table", case=VGG_CASE,
                    what=f"{_row_name(k)} n_params (lecture: {lecture.split(' / ')[0]})")


@pytest.mark.points(2)
@pytest.mark.tags("table", "params")
def test_vgg16_total_parameters(student):
    """layer_table on VGG-16: about 138M parameters in total"""
    rows = _vgg_rows(student)
    total = sum(r[1] for r in rows)
    if total != VGG16_TOTAL_PARAMS:
        raise CheckFailure(f"layer_table ({VGG_CASE}): the parameters add up to {quote(total)}, expected "
                           f"{VGG16_TOTAL_PARAMS} (~138M)")


OTHER_TABLES = [  # (case id, input_shape, spec, expected rows)
    ("strided padded conv, pool, fc on a 32x48x3 input", (32, 48, 3),
     [("conv", 8, 4, 2, 1), ("relu",), ("pool", 2, 2), ("fc", 10)],
     [((16, 24, 8), 392, 3072), ((16, 24, 8), 0, 3072), ((8, 12, 8), 0, 768), ((1, 1, 10), 7690, 10)]),
    ("AlexNet-style 11x11 stride-4 conv and overlapping 3x3 stride-2 pool on 227x227x3", (227, 227, 3),
     [("conv", 96, 11, 4, 0), ("relu",), ("pool", 3, 2)],
     [((55, 55, 96), 34944, 290400), ((55, 55, 96), 0, 290400), ((27, 27, 96), 0, 69984)]),
    ("1x1 conv on 7x7x64, then fc, fc, softmax", (7, 7, 64),
     [("conv", 16, 1, 1, 0), ("fc", 32), ("fc", 5), ("softmax",)],
     [((7, 7, 16), 1040, 784), ((1, 1, 32), 25120, 32), ((1, 1, 5), 165, 5), ((1, 1, 5), 0, 5)]),
]


@pytest.mark.points(1)
@pytest.mark.tags("table", "activations", "params")
@pytest.mark.parametrize("input_shape, spec, expected",
                         [pytest.param(i, s, e, id=n) for n, i, s, e in OTHER_TABLES])
def test_layer_table_other_networks(student, input_shape, spec, expected):
    """layer_table on other layer combinations (strides, padding, H != W, fc chains)"""
    case = f"input {input_shape}, spec {spec}"
    rows = _table(student.layer_table(spec, input_shape), len(spec), case=case)
    for k, (got, want) in enumerate(zip(rows, expected)):
        if got != want:
            raise CheckFailure(f"layer_table ({case}): row {k} {spec[k]} is "
                               f"(output_shape, n_params, n_activations) = {quote(got)}, expected {want}")


BAD_TABLES = [  # (case id, input_shape, spec)
    ("unknown layer kind 'dropout'", (32, 32, 3), [("conv", 8, 3, 1, 1), ("dropout", 0.5)]),
    ("conv F=3 S=2 P=0 on 32 pixels: (32 - 3) % 2 != 0", (32, 32, 3), [("conv", 8, 3, 2, 0)]),
    ("pool F=2 S=2 on 7 pixels: (7 - 2) % 2 != 0", (8, 8, 3), [("conv", 4, 2, 1, 0), ("pool", 2, 2)]),
    ("conv filter 5x5 larger than a 3x3 input", (3, 3, 1), [("conv", 4, 5, 1, 0)]),
    ("conv layer with 3 entries instead of 5", (32, 32, 3), [("conv", 8, 3)]),
    ("input_shape with two entries", (224, 224), [("conv", 64, 3, 1, 1)]),
]


@pytest.mark.points(0.5)
@pytest.mark.tags("table", "value_error")
@pytest.mark.parametrize("input_shape, spec", [pytest.param(i, s, id=n) for n, i, s in BAD_TABLES])
def test_layer_table_rejects_bad_specs(student, input_shape, spec):
    """layer_table raises ValueError for a bad spec"""
    expect_raises(ValueError, lambda: student.layer_table(spec, input_shape), func="layer_table",
                  case=f"input {input_shape}, spec {spec}")


# -- fully connected layers as convolutions ---------------------------------------------------

def trusted_conv(x, w, b):
    """Cross-correlation with stride 1, no padding: x (N, C, H, W), w (D, C, FH, FW), b (D,)."""
    windows = sliding_window_view(x, w.shape[2:], axis=(2, 3))  # (N, C, H', W', FH, FW)
    return np.einsum("nchwij,dcij->ndhw", windows, w) + b[None, :, None, None]


def fc_layer(x, w_fc, b_fc):
    """The FC layer with the documented flattening order: x (N, C, H, W) -> (N, D)."""
    return x.reshape(x.shape[0], -1) @ w_fc + b_fc


FC_CASES = [  # (case id, in_shape (C, H, W), D)
    ("C=3, 4x4, D=5", (3, 4, 4), 5),
    ("C=2, 3x5 (H != W), D=4", (2, 3, 5), 4),
    ("C=16, 2x2, D=7", (16, 2, 2), 7),
]


def _random_layer(rng, in_shape, n_out):
    return rng.standard_normal((int(np.prod(in_shape)), n_out)), rng.standard_normal(n_out)


def _student_filters(student, w_fc, b_fc, in_shape, n_out, case):
    result = student.fc_to_conv(w_fc, b_fc, in_shape)
    if not isinstance(result, tuple) or len(result) != 2:
        raise CheckFailure(f"fc_to_conv ({case}): should return a tuple (w_conv, b_conv)")
    w_conv = expect_array(result[0], func="fc_to_conv", case=case, shape=(n_out,) + tuple(in_shape), what="w_conv")
    b_conv = expect_array(result[1], func="fc_to_conv", case=case, shape=(n_out,), what="b_conv")
    return w_conv, b_conv


@pytest.mark.points(1)
@pytest.mark.tags("fc_to_conv")
@pytest.mark.parametrize("in_shape, n_out", [pytest.param(s, d, id=n) for n, s, d in FC_CASES])
def test_fc_to_conv_matches_fc_layer(student, rng, in_shape, n_out):
    """fc_to_conv: the convolution reproduces the FC layer on its own input size"""
    w_fc, b_fc = _random_layer(rng, in_shape, n_out)
    case = f"in_shape (C, H, W) = {in_shape}, D = {n_out}, 3 random inputs"
    w_conv, b_conv = _student_filters(student, w_fc, b_fc, in_shape, n_out, case)
    x = rng.standard_normal((3,) + tuple(in_shape))
    got = trusted_conv(x, w_conv, b_conv)  # (N, D, 1, 1)
    # rtol 1e-12: the same products summed in a different order (float64).
    assert_close(got.reshape(3, n_out), fc_layer(x, w_fc, b_fc), func="fc_to_conv", case=case,
                 rtol=1e-12, what="convolution output vs FC output")


@pytest.mark.points(1)
@pytest.mark.tags("fc_to_conv")
@pytest.mark.parametrize("in_shape, n_out, big_hw", [
    pytest.param((3, 4, 4), 5, (6, 7), id="C=3, 4x4 filters on a 6x7 input"),
    pytest.param((2, 3, 2), 3, (5, 5), id="C=2, 3x2 filters on a 5x5 input"),
])
def test_fc_to_conv_slides_over_larger_inputs(student, rng, in_shape, n_out, big_hw):
    """fc_to_conv: on a larger input the convolution applies the FC layer at every position"""
    w_fc, b_fc = _random_layer(rng, in_shape, n_out)
    case = f"in_shape (C, H, W) = {in_shape}, D = {n_out}, input (2, {in_shape[0]}, {big_hw[0]}, {big_hw[1]})"
    w_conv, b_conv = _student_filters(student, w_fc, b_fc, in_shape, n_out, case)
    c, h, w = in_shape
    x = rng.standard_normal((2, c) + tuple(big_hw))
    got = trusted_conv(x, w_conv, b_conv)
    out_h, out_w = big_hw[0] - h + 1, big_hw[1] - w + 1
    expected = np.empty((2, n_out, out_h, out_w))
    for k in range(out_h):
        for l in range(out_w):
            expected[:, :, k, l] = fc_layer(x[:, :, k:k + h, l:l + w], w_fc, b_fc)
    # rtol 1e-12: the same products summed in a different order (float64).
    assert_close(got, expected, func="fc_to_conv", case=case, rtol=1e-12,
                 what="convolution output vs FC layer at each position")


@pytest.mark.points(0.5)
@pytest.mark.tags("fc_to_conv", "value_error")
@pytest.mark.parametrize("w_rows, b_len, why", [
    pytest.param(47, 5, "w_fc has 47 rows, C*H*W = 48", id="w_fc rows != C*H*W"),
    pytest.param(48, 4, "b_fc has 4 entries, w_fc has 5 columns", id="b_fc length != D"),
])
def test_fc_to_conv_rejects_mismatched_shapes(student, w_rows, b_len, why):
    """fc_to_conv raises ValueError when the weights do not match in_shape"""
    w_fc, b_fc = np.zeros((w_rows, 5)), np.zeros(b_len)
    expect_raises(ValueError, lambda: student.fc_to_conv(w_fc, b_fc, (3, 4, 4)), func="fc_to_conv",
                  case=f"in_shape (3, 4, 4): {why}")
