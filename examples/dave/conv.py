"""Homework 1: convolutional layer.

Dave (example submission). It does not import: a syntax error on the first function.
"""
import numpy as np


def conv_output_size(n, f, stride=1, pad=0)
    return (n - f + 2 * pad) // stride + 1


def conv2d_forward_naive(x, w, b, stride=1, pad=0):
    N, C, H, W = x.shape
    D, _, F, _ = w.shape
    Ho = conv_output_size(H, F, stride, pad)
    Wo = conv_output_size(W, F, stride, pad)
    xpad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    z = np.zeros((N, D, Ho, Wo))
    for n in range(N):
        for d in range(D):
            for k in range(Ho):
                for l in range(Wo):
                    z[n, d, k, l] = b[d] + np.sum(xpad[n, :, k * stride:k * stride + F, l * stride:l * stride + F] * w[d])
    return z


def conv2d_forward(x, w, b, stride=1, pad=0):
    return conv2d_forward_naive(x, w, b, stride, pad)


def conv2d_backward_naive(dz, x, w, b, stride=1, pad=0):
    raise NotImplementedError


def conv2d_backward(dz, x, w, b, stride=1, pad=0):
    raise NotImplementedError
