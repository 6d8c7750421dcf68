"""2-D convolutional layer: forward and backward passes.

Layout NCHW. A layer with D filters of size F x F over C input channels, stride S
and zero padding P maps x of shape (N, C, H, W) to z of shape (N, D, H', W') with

    H' = (H - F + 2P)/S + 1,    W' = (W - F + 2P)/S + 1.

With x~ the zero-padded input and 0-based indices, for every image n it computes
the cross-correlation of the lecture (the kernel is not flipped):

    z[n, d, k, l] = b[d] + sum_{c, i, j} x~[n, c, S*k + i, S*l + j] * w[d, c, i, j]

which for S = 1, P = 0 is z_kld = b_d + sum_{i,j,c} x_{k+i-1, l+j-1, c} w_ijcd.

Only numpy (and optionally cupy) may be imported here. Functions must be pure:
no caches, no globals, no state kept between calls. Use xp = array_module(x)
instead of np inside the functions so that they also run on cupy arrays.
"""
import numpy as np


def array_module(x):
    """Return the array module of `x`: cupy for a cupy array, numpy otherwise."""
    if type(x).__module__.split(".")[0] == "cupy":
        try:
            import cupy
            return cupy
        except ImportError:
            pass
    return np


def conv_output_size(n, f, stride=1, pad=0):
    """Output size of a convolution along one spatial axis.

    Inputs:
    - n: input size (H or W), int >= 1
    - f: filter size F, int >= 1
    - stride: stride S, int >= 1
    - pad: zero padding P on each side, int >= 0

    Returns (n - f + 2*pad) / stride + 1 as an int.

    Raises ValueError when an argument is not an integer or out of range, when the
    filter does not fit (f > n + 2*pad), or when (n - f + 2*pad) is not a multiple
    of the stride (the filter would not tile the padded input exactly).
    """
    # TODO: check the arguments and return the output size.
    raise NotImplementedError("conv_output_size")


def conv2d_forward_naive(x, w, b, stride=1, pad=0):
    """Convolutional layer forward pass with explicit loops.

    Inputs:
    - x: input of shape (N, C, H, W)
    - w: filters of shape (D, C, F, F)
    - b: biases of shape (D,)
    - stride: S, pad: P (see conv_output_size)

    Returns z of shape (N, D, H', W'):
        z[n, d, k, l] = b[d] + sum_{c, i, j} x~[n, c, S*k + i, S*l + j] * w[d, c, i, j]
    where x~ is x zero-padded by P on each spatial side.

    Raises ValueError when the shapes do not fit: x or w not 4-D, b not 1-D, channel
    count of w different from x, non-square filter, len(b) != D, or an output size
    that is not a positive integer.

    Write it straight from the formula: loop over n, d, k, l (the sum over c, i, j
    may be one array expression). It is your ground truth for the fast version.
    """
    xp = array_module(x)
    # TODO: implement the forward pass with loops.
    raise NotImplementedError("conv2d_forward_naive")


def conv2d_forward(x, w, b, stride=1, pad=0):
    """Convolutional layer forward pass, vectorised.

    Same inputs, output and errors as conv2d_forward_naive.

    No Python loop over the output positions (n, d, k, l): use array operations
    (im2col and a matrix product, einsum or tensordot over a window view, or a loop
    over the F*F filter offsets). It is timed against the reference solution.
    """
    xp = array_module(x)
    # TODO: implement the vectorised forward pass.
    raise NotImplementedError("conv2d_forward")


def conv2d_backward_naive(dz, x, w, b, stride=1, pad=0):
    """Convolutional layer backward pass with explicit loops.

    Inputs:
    - dz: upstream gradient dL/dz of shape (N, D, H', W') (delta^{l+1} in the lecture)
    - x, w, b, stride, pad: as given to the forward pass

    Returns (dx, dw, db) with the shapes of x, w and b:
        db[d]          = sum_{n, k, l} dz[n, d, k, l]
        dw[d, c, i, j] = sum_{n, k, l} dz[n, d, k, l] * x~[n, c, S*k + i, S*l + j]
        dx~[n, c, m, q] = sum_{d, k, l} dz[n, d, k, l] * w[d, c, m - S*k, q - S*l]
                          (terms with the filter index outside 0..F-1 left out)
    and dx = dx~ with the padding cut off (rows and columns P .. P+H-1, P .. P+W-1).

    Raises ValueError for the geometry errors of the forward pass and when dz does
    not have shape (N, D, H', W').
    """
    xp = array_module(x)
    # TODO: implement the backward pass with loops.
    raise NotImplementedError("conv2d_backward_naive")


def conv2d_backward(dz, x, w, b, stride=1, pad=0):
    """Convolutional layer backward pass, vectorised.

    Same inputs, outputs and errors as conv2d_backward_naive; vectorise as in
    conv2d_forward. It is timed against the reference solution.
    """
    xp = array_module(x)
    # TODO: implement the vectorised backward pass.
    raise NotImplementedError("conv2d_backward")
