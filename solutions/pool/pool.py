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
    # BEGIN SOLUTION: check the geometry and return (H', W').
    if len(shape) != 4:
        raise ValueError(f"expected an input of shape (N, C, H, W), got shape {tuple(shape)}")
    if size < 1 or stride < 1:
        raise ValueError(f"size and stride must be >= 1, got size={size}, stride={stride}")
    _, _, height, width = shape
    if size > height or size > width:
        raise ValueError(f"window size {size} larger than the input ({height}x{width})")
    if (height - size) % stride or (width - size) % stride:
        raise ValueError(f"windows of size {size} with stride {stride} do not tile "
                         f"a {height}x{width} input: (H - F) and (W - F) must be multiples of S")
    return (height - size) // stride + 1, (width - size) // stride + 1
    # END SOLUTION


# BEGIN SOLUTION
def _window_slices(offset_i, offset_j, out_h, out_w, stride):
    """Index selecting x[..., k*S + offset_i, l*S + offset_j] for all (k, l)."""
    return (Ellipsis,
            slice(offset_i, offset_i + stride * (out_h - 1) + 1, stride),
            slice(offset_j, offset_j + stride * (out_w - 1) + 1, stride))
# END SOLUTION


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
    # BEGIN SOLUTION: implement the forward pass (xp = array_module(x) for any array you create).
    xp = array_module(x)
    out_h, out_w = pool_output_shape(x.shape, size, stride)
    z = x[_window_slices(0, 0, out_h, out_w, stride)].copy()
    for i in range(size):
        for j in range(size):
            xp.maximum(z, x[_window_slices(i, j, out_h, out_w, stride)], out=z)
    return z
    # END SOLUTION


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
    # BEGIN SOLUTION: implement the backward pass (xp = array_module(x) for any array you create).
    xp = array_module(x)
    out_h, out_w = pool_output_shape(x.shape, size, stride)
    expected = tuple(x.shape[:2]) + (out_h, out_w)
    if tuple(dz.shape) != expected:
        raise ValueError(f"dz has shape {tuple(dz.shape)}, expected {expected}")
    z = maxpool_forward(x, size, stride)
    dz = dz.astype(x.dtype, copy=False)
    dx = xp.zeros(x.shape, dtype=x.dtype)
    # Visit the window offsets in row-major order; `routed` marks the windows whose
    # maximum was already found, so on ties only the first maximum gets delta_kl.
    routed = xp.zeros(z.shape, dtype=bool)
    for i in range(size):
        for j in range(size):
            window_entry = _window_slices(i, j, out_h, out_w, stride)
            is_first_max = (x[window_entry] == z) & ~routed
            dx[window_entry] += is_first_max * dz
            routed |= is_first_max
    return dx
    # END SOLUTION
