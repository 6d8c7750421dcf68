"""Weight initialisation: fans, zero / Gaussian / Xavier / He initialisers, and the
activation-statistics experiment of the lecture.

Weights are dense `(n_in, n_out)` (a layer computes `s = x @ W`) or convolutional
`(D, C, F, F)`. Every initialiser takes `rng`, an int seed or a `numpy.random.Generator`;
normalise it with `rng = numpy.random.default_rng(rng)` (given a Generator, default_rng
returns that same Generator), so the same seed always gives the same weights.

Use only numpy; keep every function pure (no global state, no `numpy.random.seed`).
"""
import numpy as np


def array_module(x):
    """Return the array module of `x`: `cupy` for a CuPy array, else `numpy`.

    (The initialisers here build NumPy arrays from a NumPy Generator; the helper is
    kept for uniformity with the other assignments.)
    """
    try:
        import cupy
    except ImportError:
        return np
    return cupy if isinstance(x, cupy.ndarray) else np


def fan_in_out(shape):
    """Number of inputs and outputs of one unit of a layer with weights of `shape`.

    Inputs:
    - shape: (n_in, n_out) for a dense layer, or (D, C, F, F) for a convolutional
      layer with D filters over C input channels.

    Returns a tuple (fan_in, fan_out) of ints:
    - dense: (n_in, n_out);
    - conv: (C * F * F, D * F * F): one output value sees C*F*F inputs, and one
      input value reaches D*F*F outputs (ignoring borders).

    Raises ValueError for any other number of dimensions.
    """
    # TODO: return the fans of a dense or conv shape; raise ValueError otherwise.
    raise NotImplementedError("fan_in_out")


def zeros_init(shape, rng):
    """All-zero float64 weights of `shape` (`rng` is accepted for a uniform interface
    and not used)."""
    # TODO: return float64 zeros of `shape`.
    raise NotImplementedError("zeros_init")


def gaussian_init(shape, rng, std=0.01):
    """Float64 weights of `shape` drawn from N(0, std^2)."""
    # TODO: draw N(0, std^2) weights with numpy.random.default_rng(rng).
    raise NotImplementedError("gaussian_init")


def xavier_init(shape, rng, mode="avg", distribution="normal"):
    """Xavier (Glorot) initialisation.

    Inputs:
    - shape: (n_in, n_out) or (D, C, F, F); fans from fan_in_out(shape).
    - rng: int seed or numpy.random.Generator.
    - mode: "in" for Var(w) = 1 / n_in (keeps Var(s) = Var(x) in the forward pass),
      "avg" for Var(w) = 2 / (n_in + n_out) (compromise with the backward pass).
    - distribution: "normal" for N(0, Var(w)), "uniform" for U[-a, a] with
      a = sqrt(3 Var(w)).

    Returns float64 weights of `shape`. Raises ValueError for an unknown mode or
    distribution, or a shape fan_in_out rejects.
    """
    # TODO: compute Var(w) from the fans and the mode, then sample it.
    raise NotImplementedError("xavier_init")


def he_init(shape, rng, distribution="normal"):
    """He initialisation for ReLU layers: Var(w) = 2 / n_in.

    Inputs as for xavier_init (no mode). Returns float64 weights of `shape`; raises
    ValueError for an unknown distribution or a shape fan_in_out rejects.
    """
    # TODO: Var(w) = 2 / n_in, normal or uniform as in xavier_init.
    raise NotImplementedError("he_init")


def activation_stats(init, activation, rng, n_layers=10, width=500, n_samples=1000):
    """The lecture's experiment: how activations evolve through a deep MLP at init.

    An input batch X^(0) of shape (n_samples, width) is drawn from N(0, 1); then for
    each layer l = 1..n_layers, W^(l) of shape (width, width) comes from the chosen
    initialiser and X^(l) = f(X^(l-1) W^(l)) (no biases).

    Sampling order (one Generator, default_rng(rng)): first X^(0) with
    standard_normal((n_samples, width)), then W^(1), ..., W^(n_layers) in turn, each
    by the initialiser called with that same Generator. (Other orders are accepted;
    this one reproduces the reference's curves almost exactly.)

    Inputs:
    - init: "zeros", "gaussian" (std 0.01), "xavier" (mode "avg", normal; for these
      square layers Var(w) = 1/width) or "he" (normal).
    - activation: f in {"tanh", "relu", "linear"} (relu(s) = max(s, 0), linear(s) = s).
    - rng: int seed or numpy.random.Generator.

    Returns (means, stds): float64 arrays of shape (n_layers,), the mean and the
    (population, ddof=0) standard deviation of all n_samples * width entries of X^(l).

    Raises ValueError for an unknown init or activation.
    """
    # TODO: run the forward pass layer by layer and record mean and std of X^(l).
    raise NotImplementedError("activation_stats")
