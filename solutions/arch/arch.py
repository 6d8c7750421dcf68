"""Architecture arithmetic: parameter counts, layer tables, FC layers as convolutions.

Volumes in layer tables are written (H, W, C) as in the lecture ("224 x 224 x 3");
arrays are NCHW as everywhere else in the course. See README.md for the exact
conventions.

Only numpy (and optionally cupy) may be imported here. Functions must be pure:
no caches, no globals, no state kept between calls.
"""
import numpy as np
LAYER_KINDS = ("conv", "pool", "fc", "relu", "softmax")


def array_module(x):
    """Return the array module of `x`: cupy for a cupy array, numpy otherwise."""
    try:
        import cupy
    except ImportError:
        return np
    return cupy.get_array_module(x)


# BEGIN SOLUTION
def _check_positive(**values):
    """Raise ValueError unless every value is an integer >= 1."""
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
# END SOLUTION


def fc_param_count(n_in, n_out):
    """Parameters of a fully connected layer: n_out * (n_in + 1).

    Each of the n_out units has one weight per input and one bias.
    Raises ValueError unless n_in, n_out are integers >= 1.
    """
    # BEGIN SOLUTION: return the count as an int.
    _check_positive(n_in=n_in, n_out=n_out)
    return int(n_out) * (int(n_in) + 1)
    # END SOLUTION


def locally_connected_param_count(h_out, w_out, c, f, d=1):
    """Parameters of a locally connected layer: h_out * w_out * d * (F^2 C + 1).

    Every one of the h_out x w_out x d output units has its own F x F x C weights
    and its own bias (no sharing across positions).
    Raises ValueError unless all arguments are integers >= 1.
    """
    # BEGIN SOLUTION: return the count as an int.
    _check_positive(h_out=h_out, w_out=w_out, c=c, f=f, d=d)
    return int(h_out) * int(w_out) * int(d) * (int(f) * int(f) * int(c) + 1)
    # END SOLUTION


def conv_param_count(c, d, f):
    """Parameters of a convolutional layer with D filters of size F x F x C: F^2 C D + D.

    Weights are shared across positions, so the count does not depend on the input size.
    Raises ValueError unless c, d, f are integers >= 1.
    """
    # BEGIN SOLUTION: return the count as an int.
    _check_positive(c=c, d=d, f=f)
    return int(d) * (int(f) * int(f) * int(c) + 1)
    # END SOLUTION


# BEGIN SOLUTION
def _spatial_output(size, f, stride, pad, what):
    """(size - F + 2P)/S + 1, or ValueError when the windows do not tile the input."""
    span = size - f + 2 * pad
    if span < 0 or span % stride:
        raise ValueError(f"{what}: F={f}, S={stride}, P={pad} does not fit an input of size {size} "
                         f"((n - F + 2P) must be a multiple of S and >= 0)")
    return span // stride + 1


def _check_entries(layer, names):
    if len(layer) != len(names) + 1:
        raise ValueError(f"layer {layer!r}: expected ({layer[0]!r}, {', '.join(names)})")
# END SOLUTION


def layer_table(spec, input_shape):
    """Output shape, parameter count and activation count of every layer of a network.

    Inputs:
    - spec: sequence of layers, each a tuple:
        ("conv", D, F, S, P)  D filters F x F, stride S, zero padding P
        ("pool", F, S)        max pooling F x F, stride S (no parameters)
        ("fc", n_out)         fully connected on the flattened input volume;
                              output volume (1, 1, n_out)
        ("relu",), ("softmax",)  element-wise, shape unchanged, no parameters
    - input_shape: (H, W, C), the input volume

    Returns a list with one tuple (output_shape, n_params, n_activations) per layer:
    output_shape is (H', W', C') with H' = (H - F + 2P)/S + 1; n_params counts weights
    and biases (F^2 C D + D for conv, n_out (H W C + 1) for fc); n_activations is
    H' * W' * C'. All numbers are ints.

    Raises ValueError for an unknown layer kind, a layer with the wrong number of
    entries or entries < 1 (P < 0), an input_shape that is not three integers >= 1,
    and geometry that does not fit.
    """
    # BEGIN SOLUTION: walk through the layers, tracking the current volume (H, W, C).
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (H, W, C), got {input_shape!r}")
    height, width, channels = input_shape
    _check_positive(H=height, W=width, C=channels)
    table = []
    for index, layer in enumerate(spec):
        if not isinstance(layer, (tuple, list)) or not layer or layer[0] not in LAYER_KINDS:
            raise ValueError(f"layer {index}: unknown layer {layer!r} (kinds: {', '.join(LAYER_KINDS)})")
        kind, where = layer[0], f"layer {index} {tuple(layer)!r}"
        if kind == "conv":
            _check_entries(layer, ("D", "F", "S", "P"))
            _, n_filters, f, stride, pad = layer
            _check_positive(D=n_filters, F=f, S=stride)
            if isinstance(pad, bool) or not isinstance(pad, (int, np.integer)) or pad < 0:
                raise ValueError(f"{where}: P must be an integer >= 0")
            height = _spatial_output(height, f, stride, pad, where)
            width = _spatial_output(width, f, stride, pad, where)
            n_params = conv_param_count(channels, n_filters, f)
            channels = n_filters
        elif kind == "pool":
            _check_entries(layer, ("F", "S"))
            _, f, stride = layer
            _check_positive(F=f, S=stride)
            height = _spatial_output(height, f, stride, 0, where)
            width = _spatial_output(width, f, stride, 0, where)
            n_params = 0
        elif kind == "fc":
            _check_entries(layer, ("n_out",))
            n_params = fc_param_count(height * width * channels, layer[1])
            height, width, channels = 1, 1, layer[1]
        else:
            _check_entries(layer, ())
            n_params = 0
        shape = (int(height), int(width), int(channels))
        table.append((shape, int(n_params), shape[0] * shape[1] * shape[2]))
    return table
    # END SOLUTION


def fc_to_conv(w_fc, b_fc, in_shape):
    """Rewrite a fully connected layer on a C x H x W volume as D filters of size H x W.

    Inputs:
    - w_fc: weights of shape (C*H*W, D); the FC layer computes
      z = x.reshape(N, C*H*W) @ w_fc + b_fc for x of shape (N, C, H, W), so row
      c*H*W + i*W + j of w_fc belongs to input entry (c, i, j)
    - b_fc: biases of shape (D,)
    - in_shape: (C, H, W), the input volume

    Returns (w_conv, b_conv): w_conv of shape (D, C, H, W) with
    w_conv[d, c, i, j] = w_fc[c*H*W + i*W + j, d], and b_conv = b_fc, shape (D,).
    A convolution with these filters, P = 0, S = 1, gives on x exactly the FC output,
    as a (N, D, 1, 1) volume; on a larger input it applies the FC layer at every position.

    Raises ValueError when in_shape is not three integers >= 1, w_fc is not
    (C*H*W, D), or b_fc is not (D,).
    """
    # BEGIN SOLUTION: check the shapes, then rearrange the weights (no loops; xp = array_module(w_fc)).
    if len(in_shape) != 3:
        raise ValueError(f"in_shape must be (C, H, W), got {in_shape!r}")
    channels, height, width = in_shape
    _check_positive(C=channels, H=height, W=width)
    n_in = channels * height * width
    if w_fc.ndim != 2 or w_fc.shape[0] != n_in:
        raise ValueError(f"w_fc has shape {tuple(w_fc.shape)}, expected ({n_in}, D) for in_shape {tuple(in_shape)}")
    n_out = w_fc.shape[1]
    if tuple(b_fc.shape) != (n_out,):
        raise ValueError(f"b_fc has shape {tuple(b_fc.shape)}, expected ({n_out},)")
    xp = array_module(w_fc)
    w_conv = xp.ascontiguousarray(w_fc.T).reshape(n_out, channels, height, width)
    return w_conv, b_fc.copy()
    # END SOLUTION
