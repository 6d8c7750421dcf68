"""Homework 1: convolutional layer.

Alice (example submission, complete). Forward and backward work on a stack of the
F*F shifted copies of the padded input ("patches"), contracted with einsum.
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
    """(n - f + 2*pad) / stride + 1, or ValueError if that is not a positive integer."""
    for v in (n, f, stride, pad):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise ValueError(f"expected integer sizes, got {v!r}")
    if n < 1 or f < 1:
        raise ValueError("input and filter size must be at least 1")
    if stride < 1 or pad < 0:
        raise ValueError("need stride >= 1 and pad >= 0")
    if f > n + 2 * pad:
        raise ValueError(f"filter {f} does not fit in padded input {n + 2 * pad}")
    steps, rest = divmod(n - f + 2 * pad, stride)
    if rest != 0:
        raise ValueError(f"stride {stride} does not divide {n - f + 2 * pad}")
    return int(steps) + 1


def _sizes(x, w, b, stride, pad):
    """Check all shapes; return N, C, H, W, D, F, Ho, Wo."""
    if x.ndim != 4 or w.ndim != 4 or b.ndim != 1:
        raise ValueError("expected x (N, C, H, W), w (D, C, F, F), b (D,)")
    N, C, H, W = x.shape
    D, C2, F, F2 = w.shape
    if C != C2:
        raise ValueError(f"channels differ: x has {C}, w has {C2}")
    if F != F2:
        raise ValueError("filter must be square")
    if b.shape[0] != D:
        raise ValueError(f"need {D} biases, got {b.shape[0]}")
    return N, C, H, W, D, F, conv_output_size(H, F, stride, pad), conv_output_size(W, F, stride, pad)


def _patches(xp, x_padded, F, stride, Ho, Wo):
    """patches[n, c, i, j, k, l] = x_padded[n, c, stride*k + i, stride*l + j]."""
    rows = []
    for i in range(F):
        row = [x_padded[:, :, i:i + stride * (Ho - 1) + 1:stride, j:j + stride * (Wo - 1) + 1:stride]
               for j in range(F)]
        rows.append(xp.stack(row, axis=2))
    return xp.stack(rows, axis=2)


def _padded(xp, x, pad):
    return xp.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))) if pad > 0 else x


def conv2d_forward_naive(x, w, b, stride=1, pad=0):
    xp = array_module(x)
    N, C, H, W, D, F, Ho, Wo = _sizes(x, w, b, stride, pad)
    xpad = _padded(xp, x, pad)
    out = xp.zeros((N, D, Ho, Wo), dtype=xp.result_type(x, w))
    for n in range(N):
        for d in range(D):
            for k in range(Ho):
                for l in range(Wo):
                    patch = xpad[n, :, k * stride:k * stride + F, l * stride:l * stride + F]
                    out[n, d, k, l] = xp.sum(patch * w[d]) + b[d]
    return out


def conv2d_forward(x, w, b, stride=1, pad=0):
    xp = array_module(x)
    N, C, H, W, D, F, Ho, Wo = _sizes(x, w, b, stride, pad)
    patches = _patches(xp, _padded(xp, x, pad), F, stride, Ho, Wo)
    out = xp.einsum("ncijkl,dcij->ndkl", patches, w, optimize=True)
    return out + b[None, :, None, None]


def conv2d_backward_naive(dz, x, w, b, stride=1, pad=0):
    xp = array_module(x)
    N, C, H, W, D, F, Ho, Wo = _sizes(x, w, b, stride, pad)
    if dz.shape != (N, D, Ho, Wo):
        raise ValueError(f"dz should have shape {(N, D, Ho, Wo)}, got {dz.shape}")
    xpad = _padded(xp, x, pad)
    dxpad = xp.zeros(xpad.shape, dtype=xp.result_type(dz, x))
    dw = xp.zeros(w.shape, dtype=xp.result_type(dz, w))
    for n in range(N):
        for d in range(D):
            for k in range(Ho):
                for l in range(Wo):
                    r, s = k * stride, l * stride
                    dxpad[n, :, r:r + F, s:s + F] += dz[n, d, k, l] * w[d]
                    dw[d] += dz[n, d, k, l] * xpad[n, :, r:r + F, s:s + F]
    db = dz.sum(axis=(0, 2, 3))
    return dxpad[:, :, pad:pad + H, pad:pad + W], dw, db


def conv2d_backward(dz, x, w, b, stride=1, pad=0):
    xp = array_module(x)
    N, C, H, W, D, F, Ho, Wo = _sizes(x, w, b, stride, pad)
    if dz.shape != (N, D, Ho, Wo):
        raise ValueError(f"dz should have shape {(N, D, Ho, Wo)}, got {dz.shape}")
    xpad = _padded(xp, x, pad)
    patches = _patches(xp, xpad, F, stride, Ho, Wo)
    dw = xp.einsum("ndkl,ncijkl->dcij", dz, patches, optimize=True)
    dpatches = xp.einsum("ndkl,dcij->ncijkl", dz, w, optimize=True)
    dxpad = xp.zeros(xpad.shape, dtype=dpatches.dtype)
    for i in range(F):
        for j in range(F):
            dxpad[:, :, i:i + stride * (Ho - 1) + 1:stride, j:j + stride * (Wo - 1) + 1:stride] += dpatches[:, :, i, j]
    db = dz.sum(axis=(0, 2, 3))
    return dxpad[:, :, pad:pad + H, pad:pad + W], dw, db
