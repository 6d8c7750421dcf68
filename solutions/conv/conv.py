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
# BEGIN SOLUTION
import numbers

# END SOLUTION
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
    # BEGIN SOLUTION: check the arguments and return the output size.
    for name, value in (("n", n), ("f", f), ("stride", stride), ("pad", pad)):
        if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
            raise ValueError(f"{name} must be an integer, got {value!r}")
    n, f, stride, pad = int(n), int(f), int(stride), int(pad)
    if n < 1 or f < 1:
        raise ValueError(f"input size and filter size must be >= 1, got n={n}, f={f}")
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    if pad < 0:
        raise ValueError(f"pad must be >= 0, got {pad}")
    span = n - f + 2 * pad
    if span < 0:
        raise ValueError(f"filter size {f} exceeds the padded input size {n + 2 * pad}")
    if span % stride:
        raise ValueError(f"(n - f + 2*pad) / stride = ({n} - {f} + 2*{pad}) / {stride} is not an integer")
    return span // stride + 1
    # END SOLUTION


# BEGIN SOLUTION
def _geometry(x, w, b, stride, pad):
    """Check shapes and return (N, C, H, W, D, F, H', W'); raise ValueError if they do not fit."""
    if x.ndim != 4:
        raise ValueError(f"x must have shape (N, C, H, W), got shape {tuple(x.shape)}")
    if w.ndim != 4:
        raise ValueError(f"w must have shape (D, C, F, F), got shape {tuple(w.shape)}")
    if b.ndim != 1:
        raise ValueError(f"b must have shape (D,), got shape {tuple(b.shape)}")
    N, C, H, W = x.shape
    D, Cw, F, F2 = w.shape
    if Cw != C:
        raise ValueError(f"x has {C} channels but w expects {Cw}")
    if F != F2:
        raise ValueError(f"filters must be square, got {F} x {F2}")
    if b.shape[0] != D:
        raise ValueError(f"b has {b.shape[0]} entries but there are {D} filters")
    H_out = conv_output_size(H, F, stride, pad)
    W_out = conv_output_size(W, F, stride, pad)
    return N, C, H, W, D, F, H_out, W_out


def _check_upstream(dz, shape):
    if tuple(dz.shape) != shape:
        raise ValueError(f"dz must have shape {shape} (N, D, H', W'), got {tuple(dz.shape)}")


def _pad(xp, x, pad):
    """Zero-pad the two spatial axes of x (N, C, H, W) by `pad` on each side."""
    if pad == 0:
        return x
    return xp.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))


def _windows(xp, x_pad, F, stride, H_out, W_out):
    """Read-only view of shape (N, C, H', W', F, F) with
    view[n, c, k, l, i, j] = x_pad[n, c, S*k + i, S*l + j]; no data is copied."""
    x_pad = xp.ascontiguousarray(x_pad)
    N, C = x_pad.shape[:2]
    s_n, s_c, s_h, s_w = x_pad.strides
    return xp.lib.stride_tricks.as_strided(
        x_pad, shape=(N, C, H_out, W_out, F, F),
        strides=(s_n, s_c, stride * s_h, stride * s_w, s_h, s_w))
# END SOLUTION


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
    # BEGIN SOLUTION: implement the forward pass with loops.
    N, C, H, W, D, F, H_out, W_out = _geometry(x, w, b, stride, pad)
    x_pad = _pad(xp, x, pad)
    z = xp.zeros((N, D, H_out, W_out), dtype=xp.result_type(x, w, b))
    for n in range(N):
        for d in range(D):
            for k in range(H_out):
                for l in range(W_out):
                    window = x_pad[n, :, stride * k:stride * k + F, stride * l:stride * l + F]
                    z[n, d, k, l] = b[d] + xp.sum(window * w[d])
    return z
    # END SOLUTION


def conv2d_forward(x, w, b, stride=1, pad=0):
    """Convolutional layer forward pass, vectorised.

    Same inputs, output and errors as conv2d_forward_naive.

    No Python loop over the output positions (n, d, k, l): use array operations
    (im2col and a matrix product, einsum or tensordot over a window view, or a loop
    over the F*F filter offsets). It is timed against the reference solution.
    """
    xp = array_module(x)
    # BEGIN SOLUTION: implement the vectorised forward pass.
    # The (N, C, H', W', F, F) window view of the padded input is contracted with w over
    # (c, i, j) in one einsum.
    N, C, H, W, D, F, H_out, W_out = _geometry(x, w, b, stride, pad)
    windows = _windows(xp, _pad(xp, x, pad), F, stride, H_out, W_out)
    z = xp.einsum("ncklij,dcij->ndkl", windows, w, optimize=True)
    return z + b.reshape(1, D, 1, 1)
    # END SOLUTION


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
    # BEGIN SOLUTION: implement the backward pass with loops.
    N, C, H, W, D, F, H_out, W_out = _geometry(x, w, b, stride, pad)
    _check_upstream(dz, (N, D, H_out, W_out))
    dtype = xp.result_type(dz, x, w, b)
    x_pad = _pad(xp, x, pad)
    dx_pad = xp.zeros(x_pad.shape, dtype=dtype)
    dw = xp.zeros(w.shape, dtype=dtype)
    for n in range(N):
        for d in range(D):
            for k in range(H_out):
                for l in range(W_out):
                    rows = slice(stride * k, stride * k + F)
                    cols = slice(stride * l, stride * l + F)
                    dx_pad[n, :, rows, cols] += dz[n, d, k, l] * w[d]
                    dw[d] += dz[n, d, k, l] * x_pad[n, :, rows, cols]
    db = dz.sum(axis=(0, 2, 3)).astype(dtype)
    return dx_pad[:, :, pad:pad + H, pad:pad + W], dw, db
    # END SOLUTION


def conv2d_backward(dz, x, w, b, stride=1, pad=0):
    """Convolutional layer backward pass, vectorised.

    Same inputs, outputs and errors as conv2d_backward_naive; vectorise as in
    conv2d_forward. It is timed against the reference solution.
    """
    xp = array_module(x)
    # BEGIN SOLUTION: implement the vectorised backward pass.
    # dw contracts dz with the window view of the padded input; dx spreads dz * w back over
    # the windows with one strided slice-add per filter offset (i, j), F*F additions in all.
    N, C, H, W, D, F, H_out, W_out = _geometry(x, w, b, stride, pad)
    _check_upstream(dz, (N, D, H_out, W_out))
    dtype = xp.result_type(dz, x, w, b)
    x_pad = _pad(xp, x, pad)
    windows = _windows(xp, x_pad, F, stride, H_out, W_out)
    dw = xp.einsum("ndkl,ncklij->dcij", dz, windows, optimize=True).astype(dtype)
    # d_windows[n, c, k, l, i, j] = sum_d dz[n, d, k, l] * w[d, c, i, j]
    d_windows = xp.einsum("ndkl,dcij->ncklij", dz, w, optimize=True)
    dx_pad = xp.zeros(x_pad.shape, dtype=dtype)
    for i in range(F):
        for j in range(F):
            dx_pad[:, :, i:i + stride * (H_out - 1) + 1:stride,
                   j:j + stride * (W_out - 1) + 1:stride] += d_windows[:, :, :, :, i, j]
    db = dz.sum(axis=(0, 2, 3)).astype(dtype)
    return dx_pad[:, :, pad:pad + H, pad:pad + W], dw, db
    # END SOLUTION
