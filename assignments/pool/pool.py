"""Max pooling: forward and backward passes.

Layout NCHW. A pooling layer with window size F and stride S maps x of shape
(N, C, H, W) to z of shape (N, C, H', W') with H' = (H - F)/S + 1 and
W' = (W - F)/S + 1, channel by channel:

    z_kl = max_{(i,j) in Omega(k,l)} x_ij,   Omega(k,l) = {kS..kS+F-1} x {lS..lS+F-1}.

Only numpy (and optionally cupy) may be imported here. Functions must be pure:
no caches, no globals, no state kept between calls.
"""
import numpy as np


def array_module(x):
    """Return the array module of `x`: cupy for a cupy array, numpy otherwise."""
    try:
        import cupy
    except ImportError:
        return np
    return cupy.get_array_module(x)


def pool_output_shape(shape, size, stride):
    """Return (H', W') for an input of shape (N, C, H, W).

    A helper for the two functions below (it is not graded by itself).

    Raises ValueError unless `shape` has four entries, size >= 1, stride >= 1,
    size <= H, size <= W, and (H - size) and (W - size) are multiples of stride.
    """
    # TODO: check the geometry and return (H', W').
    raise NotImplementedError("pool_output_shape")


def maxpool_forward(x, size=2, stride=2):
    """Max pooling forward pass.

    Inputs:
    - x: array of shape (N, C, H, W)
    - size: window size F (int >= 1)
    - stride: stride S (int >= 1)

    Returns z of shape (N, C, H', W') and the dtype of x, with
    z[n, c, k, l] = max over the F x F window of x[n, c] starting at (k*S, l*S).

    Raises ValueError when the geometry does not fit (see pool_output_shape).

    Vectorise: no Python loop over the output positions (k, l); a loop over the
    F*F offsets inside the window is fine.
    """
    # TODO: implement the forward pass (xp = array_module(x) for any array you create).
    raise NotImplementedError("maxpool_forward")


def maxpool_backward(dz, x, size=2, stride=2):
    """Max pooling backward pass.

    Inputs:
    - dz: upstream gradient dL/dz, shape (N, C, H', W')
    - x: the forward input, shape (N, C, H, W)
    - size, stride: as in maxpool_forward

    Returns dx of shape (N, C, H, W) and the dtype of x:

        delta_ij = sum_{k,l} delta_kl * I{(i,j) = argmax_{(i',j') in Omega(k,l)} x_i'j'}

    The argmax is the first maximum of the window in row-major order; where
    windows overlap (stride < size) the contributions add up.

    Raises ValueError when the geometry does not fit or dz has the wrong shape.

    Vectorise as in maxpool_forward.
    """
    # TODO: implement the backward pass (xp = array_module(x) for any array you create).
    raise NotImplementedError("maxpool_backward")
