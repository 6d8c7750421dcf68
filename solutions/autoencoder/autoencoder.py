"""Dense autoencoders: tied weights, denoising, greedy stacking, fine-tuning.

An input row x in R^D is encoded as h = f(x W + b) with W of shape (D, K) and decoded
as x_hat = g(h W' + c). With tied weights W' = W^T; untied, W' is its own matrix
params["W_dec"] of shape (K, D). The code nonlinearity f and the decoder g are each
"sigmoid" (the logistic function sigma) or "linear" (the identity). The loss is the
squared reconstruction error averaged over the N rows of a batch:

    L = 1/(2N) * sum_n ||x_hat_n - x_target_n||^2

Parameters are plain dicts of arrays ("W", "b", "c" and, untied, "W_dec"), so that
they can be passed between processes. See README.md for the full statement.

Only numpy (and optionally cupy) may be imported here. Functions must be pure:
no caches, no globals, no state kept between calls. Use xp = array_module(x)
instead of np for the arrays you compute from inputs, so the code also runs on cupy.
"""
import numpy as np

# BEGIN SOLUTION
ACTIVATIONS = ("sigmoid", "linear")
# END SOLUTION


def array_module(x):
    """Return the array module of `x`: cupy for a cupy array, numpy otherwise."""
    if type(x).__module__.split(".")[0] == "cupy":
        try:
            import cupy
            return cupy
        except ImportError:
            pass
    return np


def as_generator(rng):
    """Return a numpy Generator for `rng` (an int seed, None or a Generator, used as is)."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


# BEGIN SOLUTION
def _check_kind(name, value):
    if value not in ACTIVATIONS:
        raise ValueError(f"{name} must be one of {ACTIVATIONS}, got {value!r}")


def _apply(kind, a, xp):
    if kind == "sigmoid":
        return xp.exp(-xp.logaddexp(0.0, -a))  # 1 / (1 + exp(-a)) without overflow
    return a


def _decoder_weights(params):
    """W' of shape (K, D): W^T when tied, params["W_dec"] otherwise."""
    return params["W_dec"] if "W_dec" in params else params["W"].T
# END SOLUTION


def ae_init(n_in, n_hidden, rng, tied=True):
    """Initialise a one-hidden-layer autoencoder.

    Weights are drawn from the Xavier uniform distribution U(-a, a) with
    a = sqrt(6 / (n_in + n_hidden)); biases are zero.

    Inputs:
    - n_in: D, number of inputs (= number of outputs), a positive int.
    - n_hidden: K, number of code units, a positive int.
    - rng: int seed or numpy.random.Generator.
    - tied: if True the decoder uses W^T; if False it has its own matrix W_dec.

    Returns a dict of float64 numpy arrays:
    - "W": (D, K), "b": (K,), "c": (D,), and "W_dec": (K, D) only when tied is False.

    Raises ValueError if n_in or n_hidden is not a positive integer.
    """
    # BEGIN SOLUTION: draw W (and W_dec when untied) with as_generator(rng); zero biases.
    for name, n in (("n_in", n_in), ("n_hidden", n_hidden)):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
            raise ValueError(f"{name} must be a positive integer, got {n!r}")
    gen = as_generator(rng)
    bound = np.sqrt(6.0 / (n_in + n_hidden))
    params = {
        "W": gen.uniform(-bound, bound, size=(n_in, n_hidden)),
        "b": np.zeros(n_hidden),
        "c": np.zeros(n_in),
    }
    if not tied:
        params["W_dec"] = gen.uniform(-bound, bound, size=(n_hidden, n_in))
    return params
    # END SOLUTION


# BEGIN SOLUTION
def _check_input(x, params):
    if x.ndim != 2 or x.shape[1] != params["W"].shape[0]:
        raise ValueError(f"x must have shape (N, {params['W'].shape[0]}), got {x.shape}")
# END SOLUTION


def ae_forward(x, params, activation="sigmoid", decoder="linear"):
    """Encode and decode a batch.

    h = f(x W + b),  x_hat = g(h W' + c)  with f = `activation`, g = `decoder`,
    W' = params["W_dec"] if present, else W^T (tied weights).

    Inputs:
    - x: (N, D) inputs.
    - params: dict as returned by ae_init.
    - activation: "sigmoid" or "linear", the code layer's nonlinearity f.
    - decoder: "linear" or "sigmoid", the output nonlinearity g.

    Returns (h, x_hat) of shapes (N, K) and (N, D).

    Raises ValueError if x is not 2-D with D = W.shape[0] columns, or if activation or
    decoder is not one of "sigmoid", "linear".
    """
    # BEGIN SOLUTION: compute the code h and the reconstruction x_hat.
    _check_kind("activation", activation)
    _check_kind("decoder", decoder)
    xp = array_module(x)
    _check_input(x, params)
    h = _apply(activation, x @ params["W"] + params["b"], xp)
    x_hat = _apply(decoder, h @ _decoder_weights(params) + params["c"], xp)
    return h, x_hat
    # END SOLUTION


def ae_loss_and_grads(x_in, x_target, params, activation="sigmoid", decoder="linear"):
    """Squared reconstruction loss of x_target from x_in, and its gradients.

    L = 1/(2N) sum_n ||x_hat_n - x_target_n||^2 with x_hat = ae_forward(x_in, ...)[1].
    With tied weights W appears twice (encoder and decoder): its gradient is the sum
    of both contributions.

    Inputs:
    - x_in: (N, D) encoder input (possibly corrupted).
    - x_target: (N, D) reconstruction target (the clean input).
    - params, activation, decoder: as in ae_forward.

    Returns (loss, grads): loss a Python float, grads a dict with the same keys and
    shapes as params (dL/dW, dL/db, dL/dc and, untied, dL/dW_dec).

    Raises ValueError if x_in and x_target differ in shape or do not fit params.
    """
    # BEGIN SOLUTION: forward pass, loss, then backpropagate through decoder and encoder.
    if x_in.shape != x_target.shape:
        raise ValueError(f"x_in {x_in.shape} and x_target {x_target.shape} differ in shape")
    h, x_hat = ae_forward(x_in, params, activation, decoder)
    n = x_in.shape[0]
    diff = x_hat - x_target
    loss = 0.5 * float((diff * diff).sum()) / n

    delta_out = diff / n
    if decoder == "sigmoid":
        delta_out = delta_out * x_hat * (1.0 - x_hat)
    w_dec = _decoder_weights(params)
    grad_w_dec = h.T @ delta_out
    delta_h = delta_out @ w_dec.T
    if activation == "sigmoid":
        delta_h = delta_h * h * (1.0 - h)
    grads = {
        "W": x_in.T @ delta_h,
        "b": delta_h.sum(axis=0),
        "c": delta_out.sum(axis=0),
    }
    if "W_dec" in params:
        grads["W_dec"] = grad_w_dec
    else:
        grads["W"] = grads["W"] + grad_w_dec.T
    return loss, grads
    # END SOLUTION


def corrupt(x, level, rng):
    """Masking noise: every entry of x is set to 0 independently with probability `level`.

    Inputs:
    - x: array of any shape.
    - level: probability of zeroing an entry, 0 <= level <= 1.
    - rng: int seed or numpy.random.Generator (the same seed gives the same mask).

    Returns a new array of the shape and dtype of x; the entries that are not zeroed
    keep their value. x itself is not modified.

    Raises ValueError if level is outside [0, 1].
    """
    # BEGIN SOLUTION: draw an independent keep/zero decision per entry.
    if not 0.0 <= level <= 1.0:
        raise ValueError(f"level must be in [0, 1], got {level!r}")
    xp = array_module(x)
    keep = as_generator(rng).random(x.shape) >= level
    return x * xp.asarray(keep, dtype=x.dtype)
    # END SOLUTION


def train_ae(X, n_hidden, rng, *, epochs=20, batch_size=50, lr=0.1, momentum=0.9,
             noise=0.0, tied=True, activation="sigmoid", decoder="linear"):
    """Train an autoencoder on X by minibatch gradient descent with momentum.

    Start from ae_init(D, n_hidden, rng, tied). Every epoch visits the rows of X in a
    fresh random order, in batches of `batch_size` (the last one may be smaller); for
    every batch, with grad from ae_loss_and_grads,

        v <- momentum * v - lr * grad,    theta <- theta + v     (v starts at 0)

    for every parameter theta. With noise > 0 the encoder sees corrupt(batch, noise)
    and the target is the clean batch (a denoising autoencoder).

    Inputs:
    - X: (N, D) training data.
    - n_hidden: K, number of code units.
    - rng: int seed or numpy.random.Generator; drives initialisation, order and noise.
    - epochs, batch_size, lr, momentum: optimisation settings.
    - noise: masking-noise level in [0, 1).
    - tied, activation, decoder: as in ae_init / ae_forward.

    Returns the trained params dict.

    Raises ValueError if X is not 2-D, epochs or batch_size is not positive, or noise
    is outside [0, 1).
    """
    # BEGIN SOLUTION: initialise, then loop over epochs and shuffled minibatches.
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (N, D), got shape {X.shape}")
    if epochs <= 0 or batch_size <= 0:
        raise ValueError("epochs and batch_size must be positive")
    if not 0.0 <= noise < 1.0:
        raise ValueError(f"noise must be in [0, 1), got {noise!r}")
    _check_kind("activation", activation)
    _check_kind("decoder", decoder)
    xp = array_module(X)
    gen = as_generator(rng)
    params = {k: xp.asarray(v) for k, v in ae_init(X.shape[1], n_hidden, gen, tied).items()}
    velocity = {k: xp.zeros_like(v) for k, v in params.items()}
    n = X.shape[0]
    for _ in range(epochs):
        order = xp.asarray(gen.permutation(n))
        for start in range(0, n, batch_size):
            batch = X[order[start:start + batch_size]]
            x_in = corrupt(batch, noise, gen) if noise > 0 else batch
            _, grads = ae_loss_and_grads(x_in, batch, params, activation, decoder)
            for k, grad in grads.items():
                velocity[k] = momentum * velocity[k] - lr * grad
                params[k] = params[k] + velocity[k]
    return params
    # END SOLUTION


def pretrain_stack(X, sizes, rng, **train_kwargs):
    """Greedy layer-wise pretraining of a stack of sigmoid autoencoders.

    Layer 1 is trained on X; layer k is trained on the codes h^(k-1) that the already
    trained layers 1..k-1 produce from the clean X.

    Inputs:
    - X: (N, D) training data.
    - sizes: list of code sizes [K_1, K_2, ...], at least one.
    - rng: int seed or numpy.random.Generator.
    - train_kwargs: passed on to train_ae (the code layers are always "sigmoid").

    Returns a list of params dicts; layer k has "W" of shape (K_{k-1}, K_k), K_0 = D.

    Raises ValueError if sizes is empty.
    """
    # BEGIN SOLUTION: train one autoencoder per layer on the codes of the layer below.
    if len(sizes) == 0:
        raise ValueError("sizes must name at least one layer")
    train_kwargs = dict(train_kwargs, activation="sigmoid")
    gen = as_generator(rng)
    stack = []
    codes = X
    for size in sizes:
        params = train_ae(codes, size, gen, **train_kwargs)
        stack.append(params)
        codes, _ = ae_forward(codes, params, "sigmoid", train_kwargs.get("decoder", "linear"))
    return stack
    # END SOLUTION


# BEGIN SOLUTION
def _softmax(scores, xp):
    shifted = scores - scores.max(axis=1, keepdims=True)
    e = xp.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def _check_model(X, model):
    if X.ndim != 2 or X.shape[1] != model[0]["W"].shape[0]:
        raise ValueError(f"X must have shape (N, {model[0]['W'].shape[0]}), got {X.shape}")


def _classifier_scores(model, X):
    """Class scores of a fine-tuned model: sigmoid layers, then an affine output layer.

    Inputs: model (list of {"W", "b"}), X (N, D). Returns (N, C) scores.
    """
    _check_model(X, model)
    xp = array_module(X)
    a = X
    for layer in model[:-1]:
        a = _apply("sigmoid", a @ layer["W"] + layer["b"], xp)
    return a @ model[-1]["W"] + model[-1]["b"]
# END SOLUTION


def finetune(X, y, stack, n_classes, rng, *, epochs=30, batch_size=50, lr=0.1,
             momentum=0.9):
    """Fine-tune the encoders of `stack` with a softmax classifier on top.

    The network is h^(k) = sigma(h^(k-1) W_k + b_k) for the layers of the stack
    (h^(0) = x), then p = softmax(h^(L) V + d). V is drawn from U(-a, a) with
    a = sqrt(6 / (K_L + C)), d = 0. Every parameter (the encoders' W_k, b_k and V, d)
    is trained by backpropagating the mean cross-entropy -1/N sum_n log p_{n, y_n},
    with minibatch gradient descent with momentum as in train_ae. Only "W" and "b" of
    each layer of the stack are used; the stack itself is not modified.

    Inputs:
    - X: (N, D) inputs; y: (N,) integer labels in [0, n_classes).
    - stack: list of params dicts (from pretrain_stack, or fresh from ae_init).
    - n_classes: C.
    - rng: int seed or numpy.random.Generator.

    Returns the model: a list of dicts {"W", "b"}, the encoder layers followed by the
    output layer (V of shape (K_L, C), d of shape (C,)).

    Raises ValueError if X is not 2-D, y is not (N,), a label is outside
    [0, n_classes), the stack is empty or its shapes do not chain from D.
    """
    # BEGIN SOLUTION: copy the encoders, add the softmax layer, train with backpropagation.
    xp = array_module(X)
    y_host = np.asarray(y.get() if hasattr(y, "get") else y)
    if X.ndim != 2 or y_host.shape != (X.shape[0],):
        raise ValueError(f"X {X.shape} and y {y_host.shape} must be (N, D) and (N,)")
    if y_host.size and (y_host.min() < 0 or y_host.max() >= n_classes):
        raise ValueError(f"labels must lie in [0, {n_classes})")
    if len(stack) == 0:
        raise ValueError("stack must hold at least one layer")
    width = X.shape[1]
    for k, layer in enumerate(stack):
        if layer["W"].shape[0] != width:
            raise ValueError(f"layer {k + 1} expects {layer['W'].shape[0]} inputs, gets {width}")
        width = layer["W"].shape[1]
    gen = as_generator(rng)
    bound = np.sqrt(6.0 / (width + n_classes))
    model = [{"W": xp.array(layer["W"], dtype=float), "b": xp.array(layer["b"], dtype=float)}
             for layer in stack]
    model.append({"W": xp.asarray(gen.uniform(-bound, bound, size=(width, n_classes))),
                  "b": xp.zeros(n_classes)})
    velocity = [{k: xp.zeros_like(v) for k, v in layer.items()} for layer in model]
    onehot = xp.asarray(np.eye(n_classes)[y_host])
    n = X.shape[0]
    for _ in range(epochs):
        order = xp.asarray(gen.permutation(n))
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            grads = _classifier_grads(model, X[idx], onehot[idx], xp)
            for layer, vel, grad in zip(model, velocity, grads):
                for k in layer:
                    vel[k] = momentum * vel[k] - lr * grad[k]
                    layer[k] = layer[k] + vel[k]
    return model
    # END SOLUTION


# BEGIN SOLUTION
def _classifier_grads(model, x, onehot, xp):
    """Gradients of the mean cross-entropy for one batch, one dict per layer."""
    activations = [x]
    for layer in model[:-1]:
        activations.append(_apply("sigmoid", activations[-1] @ layer["W"] + layer["b"], xp))
    probs = _softmax(activations[-1] @ model[-1]["W"] + model[-1]["b"], xp)
    delta = (probs - onehot) / x.shape[0]
    grads = [None] * len(model)
    for k in range(len(model) - 1, -1, -1):
        grads[k] = {"W": activations[k].T @ delta, "b": delta.sum(axis=0)}
        if k > 0:
            a = activations[k]
            delta = (delta @ model[k]["W"].T) * a * (1.0 - a)
    return grads
# END SOLUTION


def predict(model, X):
    """Predicted labels argmax_c p_c for the rows of X.

    Inputs: model as returned by finetune; X (N, D).

    Returns an integer array of shape (N,).

    Raises ValueError if X does not have the model's number of inputs.
    """
    # BEGIN SOLUTION: forward through the model and take the most probable class.
    return _classifier_scores(model, X).argmax(axis=1).astype(np.int64)
    # END SOLUTION
