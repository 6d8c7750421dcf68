"""Homework 1: convolutional layer.

Carol (example submission). Correct, but the "vectorised" functions still call the
loops: everything passes except the speed tests.
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
    for value in (n, f, stride, pad):
        if not isinstance(value, (int, np.integer)):
            raise ValueError("sizes must be integers")
    if n < 1 or f < 1 or stride < 1 or pad < 0:
        raise ValueError("sizes out of range")
    span = n + 2 * pad - f
    if span < 0:
        raise ValueError("filter larger than the padded input")
    if span % stride:
        raise ValueError("stride does not fit")
    return span // stride + 1


def _geometry(x, w, b, stride, pad):
    if x.ndim != 4:
        raise ValueError("x must be (N, C, H, W)")
    if w.ndim != 4:
        raise ValueError("w must be (D, C, F, F)")
    if b.ndim != 1 or b.shape[0] != w.shape[0]:
        raise ValueError("b must be (D,)")
    if w.shape[1] != x.shape[1]:
        raise ValueError("channel mismatch")
    if w.shape[2] != w.shape[3]:
        raise ValueError("filter not square")
    F = w.shape[2]
    return F, conv_output_size(x.shape[2], F, stride, pad), conv_output_size(x.shape[3], F, stride, pad)


def conv2d_forward_naive(x, w, b, stride=1, pad=0):
    xp = array_module(x)
    F, Ho, Wo = _geometry(x, w, b, stride, pad)
    N, D = x.shape[0], w.shape[0]
    xpad = xp.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    z = xp.zeros((N, D, Ho, Wo))
    for n in range(N):
        for d in range(D):
            for k in range(Ho):
                for l in range(Wo):
                    top, left = k * stride, l * stride
                    z[n, d, k, l] = b[d] + xp.sum(xpad[n, :, top:top + F, left:left + F] * w[d])
    return z


def conv2d_forward(x, w, b, stride=1, pad=0):
    # TODO: vectorise (no time left)
    return conv2d_forward_naive(x, w, b, stride=stride, pad=pad)


def conv2d_backward_naive(dz, x, w, b, stride=1, pad=0):
    xp = array_module(x)
    F, Ho, Wo = _geometry(x, w, b, stride, pad)
    N, C, H, W = x.shape
    D = w.shape[0]
    if dz.shape != (N, D, Ho, Wo):
        raise ValueError("dz shape")
    xpad = xp.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxpad = xp.zeros(xpad.shape)
    dw = xp.zeros(w.shape)
    db = xp.zeros(b.shape)
    for n in range(N):
        for d in range(D):
            for k in range(Ho):
                for l in range(Wo):
                    top, left = k * stride, l * stride
                    g = dz[n, d, k, l]
                    dxpad[n, :, top:top + F, left:left + F] += g * w[d]
                    dw[d] += g * xpad[n, :, top:top + F, left:left + F]
                    db[d] += g
    return dxpad[:, :, pad:pad + H, pad:pad + W], dw, db


def conv2d_backward(dz, x, w, b, stride=1, pad=0):
    # TODO: vectorise (no time left)
    return conv2d_backward_naive(dz, x, w, b, stride=stride, pad=pad)
