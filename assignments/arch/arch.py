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


def fc_param_count(n_in, n_out):
    """Parameters of a fully connected layer: n_out * (n_in + 1).

    Each of the n_out units has one weight per input and one bias.
    Raises ValueError unless n_in, n_out are integers >= 1.
    """
    # TODO: return the count as an int.
    raise NotImplementedError("fc_param_count")


def locally_connected_param_count(h_out, w_out, c, f, d=1):
    """Parameters of a locally connected layer: h_out * w_out * d * (F^2 C + 1).

    Every one of the h_out x w_out x d output units has its own F x F x C weights
    and its own bias (no sharing across positions).
    Raises ValueError unless all arguments are integers >= 1.
    """
    # TODO: return the count as an int.
    raise NotImplementedError("locally_connected_param_count")


def conv_param_count(c, d, f):
    """Parameters of a convolutional layer with D filters of size F x F x C: F^2 C D + D.

    Weights are shared across positions, so the count does not depend on the input size.
    Raises ValueError unless c, d, f are integers >= 1.
    """
    # TODO: return the count as an int.
    raise NotImplementedError("conv_param_count")


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
    # TODO: walk through the layers, tracking the current volume (H, W, C).
    raise NotImplementedError("layer_table")


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
    # TODO: check the shapes, then rearrange the weights (no loops; xp = array_module(w_fc)).
    raise NotImplementedError("fc_to_conv")
