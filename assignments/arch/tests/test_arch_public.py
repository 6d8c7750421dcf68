"""Public tests for arch.py. Run them with `grader check arch`.

They check the lecture's parameter counts for a 32x32 input, the first block of VGG-16 and
fc_to_conv on one small layer; the hidden tests check the whole VGG-16 table, other
networks, bad specs and more.
"""
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from grader.checks import CheckFailure, assert_close, expect_array, expect_raises, quote


def _expect_int(value, expected, *, func, case):
    if isinstance(value, bool) or not isinstance(value, int):
        raise CheckFailure(f"{func} ({case}): should return an int, got {type(value).__name__} {quote(value)}")
    if value != expected:
        raise CheckFailure(f"{func} ({case}): returned {quote(value)}, expected {expected}")


@pytest.mark.points(2)
@pytest.mark.tags("counts", "params")
def test_lecture_fully_connected_count(student):
    """fc_param_count: 32x32 pixels fully connected to 32x32 features, 32^2 (32^2 + 1) ~ 1M"""
    _expect_int(student.fc_param_count(32 * 32, 32 * 32), 32 ** 2 * (32 ** 2 + 1),
                func="fc_param_count", case="n_in = n_out = 32*32")


@pytest.mark.points(2)
@pytest.mark.tags("counts", "params")
def test_lecture_locally_connected_counts(student):
    """locally_connected_param_count: 3x3 receptive fields, 30^2 (3^2 + 1) = 9k and 30^2 (3 3^2 + 1) ~ 25k"""
    _expect_int(student.locally_connected_param_count(30, 30, 1, 3), 30 ** 2 * (3 ** 2 + 1),
                func="locally_connected_param_count", case="30x30 outputs, grayscale, 3x3 fields")
    _expect_int(student.locally_connected_param_count(30, 30, 3, 3), 30 ** 2 * (3 * 3 ** 2 + 1),
                func="locally_connected_param_count", case="30x30 outputs, 3 channels, 3x3 fields")


@pytest.mark.points(2)
@pytest.mark.tags("counts", "params")
def test_lecture_shared_weight_counts(student):
    """conv_param_count: one shared 3x3x3 filter has 3 3^2 + 1 = 28 parameters, four have 112"""
    _expect_int(student.conv_param_count(3, 1, 3), 28, func="conv_param_count", case="c=3, d=1, f=3")
    _expect_int(student.conv_param_count(3, 4, 3), 112, func="conv_param_count", case="c=3, d=4, f=3")


@pytest.mark.points(3)
@pytest.mark.tags("table", "params", "activations")
def test_vgg16_first_block(student):
    """layer_table: VGG-16's first block (conv3-64, conv3-64, MP) on 224x224x3"""
    spec = [("conv", 64, 3, 1, 1), ("conv", 64, 3, 1, 1), ("pool", 2, 2)]
    case = "VGG-16 block 1 on a 224x224x3 input"
    # The lecture's table: 1.7k and 37k parameters, 3.2M, 3.2M and 800k activations.
    expected = [((224, 224, 64), 1792, 3211264), ((224, 224, 64), 36928, 3211264), ((112, 112, 64), 0, 802816)]
    rows = student.layer_table(spec, (224, 224, 3))
    if not isinstance(rows, (list, tuple)) or len(rows) != 3:
        raise CheckFailure(f"layer_table ({case}): should return a list of 3 rows, got {quote(rows)}")
    for k, (row, want) in enumerate(zip(rows, expected)):
        well_formed = (isinstance(row, (list, tuple)) and len(row) == 3 and isinstance(row[0], (list, tuple))
                       and all(type(v) is int for v in (*row[0], row[1], row[2])))
        if not well_formed:
            raise CheckFailure(f"layer_table ({case}): row {k} should be ((H, W, C), n_params, n_activations) "
                               f"made of ints, got {quote(row)}")
        got = (tuple(row[0]), row[1], row[2])
        if got != want:
            raise CheckFailure(f"layer_table ({case}): row {k} {spec[k]} is {quote(got)}, expected {want}")


@pytest.mark.points(1)
@pytest.mark.tags("table", "value_error")
def test_layer_table_rejects_unknown_kind(student):
    """layer_table raises ValueError for an unknown layer kind"""
    expect_raises(ValueError, lambda: student.layer_table([("dropout", 0.5)], (32, 32, 3)),
                  func="layer_table", case="spec [('dropout', 0.5)]")


@pytest.mark.points(3)
@pytest.mark.tags("fc_to_conv")
def test_fc_to_conv_small_layer(student, rng):
    """fc_to_conv: filters (D, C, F, F) that reproduce the FC layer"""
    c, f, d = 2, 3, 4
    w_fc, b_fc = rng.standard_normal((c * f * f, d)), rng.standard_normal(d)
    case = f"in_shape (C, H, W) = ({c}, {f}, {f}), D = {d}"
    w_conv, b_conv = student.fc_to_conv(w_fc, b_fc, (c, f, f))
    w_conv = expect_array(w_conv, func="fc_to_conv", case=case, shape=(d, c, f, f), what="w_conv")
    b_conv = expect_array(b_conv, func="fc_to_conv", case=case, shape=(d,), what="b_conv")
    x = rng.standard_normal((5, c, f, f))
    fc_out = x.reshape(5, -1) @ w_fc + b_fc
    # An F x F filter on an F x F input (P = 0, S = 1) has one output position.
    windows = sliding_window_view(x, (f, f), axis=(2, 3))  # (N, C, 1, 1, F, F)
    conv_out = np.einsum("nchwij,dcij->ndhw", windows, w_conv) + b_conv[None, :, None, None]
    # rtol 1e-12: the same products summed in a different order (float64).
    assert_close(conv_out.reshape(5, d), fc_out, func="fc_to_conv", case=case, rtol=1e-12,
                 what="convolution output vs FC output")
