"""Homework 1: convolutional layer.

Bob (example submission). The forward passes compute a textbook convolution: the
kernel is rotated by 180 degrees before it meets the window, unlike the lecture's
cross-correlation. The backward passes follow the lecture.
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
    if stride < 1 or pad < 0 or f < 1 or n < 1:
        raise ValueError("bad sizes")
    if f > n + 2 * pad or (n - f + 2 * pad) % stride != 0:
        raise ValueError("filter does not tile the padded input")
    return (n - f + 2 * pad) // stride + 1


def check_shapes(x, w, b, stride, pad):
    if x.ndim != 4 or w.ndim != 4 or b.ndim != 1:
        raise ValueError("wrong number of dimensions")
    if x.shape[1] != w.shape[1] or w.shape[2] != w.shape[3] or b.shape[0] != w.shape[0]:
        raise ValueError("shapes do not match")
    F = w.shape[2]
    return conv_output_size(x.shape[2], F, stride, pad), conv_output_size(x.shape[3], F, stride, pad)


def pad_input(x, pad):
    xp = array_module(x)
    return xp.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))


def conv2d_forward_naive(x, w, b, stride=1, pad=0):
    xp = array_module(x)
    Ho, Wo = check_shapes(x, w, b, stride, pad)
    N, D, F = x.shape[0], w.shape[0], w.shape[2]
    xpad = pad_input(x, pad)
    z = xp.zeros((N, D, Ho, Wo))
    for n in range(N):
        for d in range(D):
            kernel = w[d, :, ::-1, ::-1]          # convolution flips the kernel
            for k in range(Ho):
                for l in range(Wo):
                    window = xpad[n, :, k * stride:k * stride + F, l * stride:l * stride + F]
                    z[n, d, k, l] = xp.sum(window * kernel) + b[d]
    return z


def conv2d_forward(x, w, b, stride=1, pad=0):
    xp = array_module(x)
    Ho, Wo = check_shapes(x, w, b, stride, pad)
    F = w.shape[2]
    xpad = pad_input(x, pad)
    flipped = w[:, :, ::-1, ::-1]
    z = 0
    for i in range(F):
        for j in range(F):
            part = xpad[:, :, i:i + stride * (Ho - 1) + 1:stride, j:j + stride * (Wo - 1) + 1:stride]
            z = z + xp.tensordot(part, flipped[:, :, i, j], axes=([1], [1]))   # (N, Ho, Wo, D)
    return z.transpose(0, 3, 1, 2) + b.reshape(1, -1, 1, 1)


def conv2d_backward_naive(dz, x, w, b, stride=1, pad=0):
    xp = array_module(x)
    Ho, Wo = check_shapes(x, w, b, stride, pad)
    if dz.shape != (x.shape[0], w.shape[0], Ho, Wo):
        raise ValueError("dz has the wrong shape")
    N, D, F = x.shape[0], w.shape[0], w.shape[2]
    H, W = x.shape[2], x.shape[3]
    xpad = pad_input(x, pad)
    dxpad = xp.zeros(xpad.shape)
    dw = xp.zeros(w.shape)
    for n in range(N):
        for d in range(D):
            for k in range(Ho):
                for l in range(Wo):
                    rs, cs = slice(k * stride, k * stride + F), slice(l * stride, l * stride + F)
                    dxpad[n, :, rs, cs] += dz[n, d, k, l] * w[d]
                    dw[d] += dz[n, d, k, l] * xpad[n, :, rs, cs]
    return dxpad[:, :, pad:pad + H, pad:pad + W], dw, dz.sum(axis=(0, 2, 3))


def conv2d_backward(dz, x, w, b, stride=1, pad=0):
    xp = array_module(x)
    Ho, Wo = check_shapes(x, w, b, stride, pad)
    if dz.shape != (x.shape[0], w.shape[0], Ho, Wo):
        raise ValueError("dz has the wrong shape")
    F, H, W = w.shape[2], x.shape[2], x.shape[3]
    xpad = pad_input(x, pad)
    dxpad = xp.zeros(xpad.shape)
    dw = xp.zeros(w.shape)
    for i in range(F):
        for j in range(F):
            rs = slice(i, i + stride * (Ho - 1) + 1, stride)
            cs = slice(j, j + stride * (Wo - 1) + 1, stride)
            dw[:, :, i, j] = xp.tensordot(dz, xpad[:, :, rs, cs], axes=([0, 2, 3], [0, 2, 3]))
            dxpad[:, :, rs, cs] += xp.tensordot(dz, w[:, :, i, j], axes=([1], [0])).transpose(0, 3, 1, 2)
    return dxpad[:, :, pad:pad + H, pad:pad + W], dw, dz.sum(axis=(0, 2, 3))
