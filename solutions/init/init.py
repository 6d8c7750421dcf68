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
    # BEGIN SOLUTION: return the fans of a dense or conv shape; raise ValueError otherwise.
    shape = tuple(int(n) for n in shape)
    if len(shape) == 2:
        n_in, n_out = shape
        return n_in, n_out
    if len(shape) == 4:
        n_filters, n_channels, height, width = shape
        receptive_field = height * width
        return n_channels * receptive_field, n_filters * receptive_field
    raise ValueError(f"fan_in_out: expected a dense (n_in, n_out) or conv (D, C, F, F) "
                     f"shape, got {len(shape)} dimensions {shape}")
    # END SOLUTION


# BEGIN SOLUTION
def _sample(shape, rng, variance, distribution):
    """Zero-mean float64 weights of `shape` with Var(w) = `variance`.

    "normal": N(0, variance); "uniform": U[-a, a] with a = sqrt(3 * variance), since a
    uniform variable on [-a, a] has variance a^2 / 3.
    """
    rng = np.random.default_rng(rng)
    if distribution == "normal":
        return np.sqrt(variance) * rng.standard_normal(shape)
    if distribution == "uniform":
        bound = np.sqrt(3.0 * variance)
        return rng.uniform(-bound, bound, size=shape)
    raise ValueError(f"unknown distribution {distribution!r}: use 'normal' or 'uniform'")
# END SOLUTION


def zeros_init(shape, rng):
    """All-zero float64 weights of `shape` (`rng` is accepted for a uniform interface
    and not used)."""
    # BEGIN SOLUTION: return float64 zeros of `shape`.
    # Every unit then computes the same thing and receives the same gradient: the symmetry
    # is never broken.
    return np.zeros(tuple(shape), dtype=np.float64)
    # END SOLUTION


def gaussian_init(shape, rng, std=0.01):
    """Float64 weights of `shape` drawn from N(0, std^2)."""
    # BEGIN SOLUTION: draw N(0, std^2) weights with numpy.random.default_rng(rng).
    return _sample(tuple(shape), rng, float(std) ** 2, "normal")
    # END SOLUTION


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
    # BEGIN SOLUTION: compute Var(w) from the fans and the mode, then sample it.
    shape = tuple(shape)
    n_in, n_out = fan_in_out(shape)
    if mode == "in":
        variance = 1.0 / n_in
    elif mode == "avg":
        variance = 2.0 / (n_in + n_out)
    else:
        raise ValueError(f"unknown mode {mode!r}: use 'in' or 'avg'")
    return _sample(shape, rng, variance, distribution)
    # END SOLUTION


def he_init(shape, rng, distribution="normal"):
    """He initialisation for ReLU layers: Var(w) = 2 / n_in.

    Inputs as for xavier_init (no mode). Returns float64 weights of `shape`; raises
    ValueError for an unknown distribution or a shape fan_in_out rejects.
    """
    # BEGIN SOLUTION: Var(w) = 2 / n_in, normal or uniform as in xavier_init.
    shape = tuple(shape)
    n_in, _ = fan_in_out(shape)
    return _sample(shape, rng, 2.0 / n_in, distribution)
    # END SOLUTION


# BEGIN SOLUTION
_ACTIVATIONS = {
    "tanh": np.tanh,
    "relu": lambda s: np.maximum(s, 0.0),
    "linear": lambda s: s,
}


def _initialiser(init):
    """Weights (width, width) for the experiment; "xavier" uses mode "avg", which for a
    square layer equals mode "in": Var(w) = 1 / width."""
    if init == "zeros":
        return zeros_init
    if init == "gaussian":
        return lambda shape, rng: gaussian_init(shape, rng, std=0.01)
    if init == "xavier":
        return lambda shape, rng: xavier_init(shape, rng, mode="avg")
    if init == "he":
        return he_init
    raise ValueError(f"unknown init {init!r}: use 'zeros', 'gaussian', 'xavier' or 'he'")
# END SOLUTION


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
    # BEGIN SOLUTION: run the forward pass layer by layer and record mean and std of X^(l).
    make_weights = _initialiser(init)
    if activation not in _ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}: use 'tanh', 'relu' or 'linear'")
    f = _ACTIVATIONS[activation]
    rng = np.random.default_rng(rng)
    x = rng.standard_normal((n_samples, width))
    means = np.empty(n_layers)
    stds = np.empty(n_layers)
    for layer in range(n_layers):
        w = make_weights((width, width), rng)
        x = f(x @ w)
        means[layer] = x.mean()
        stds[layer] = x.std()
    return means, stds
    # END SOLUTION
