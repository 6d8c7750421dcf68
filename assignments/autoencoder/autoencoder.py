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
    # TODO: draw W (and W_dec when untied) with as_generator(rng); zero biases.
    raise NotImplementedError("ae_init")


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
    # TODO: compute the code h and the reconstruction x_hat.
    raise NotImplementedError("ae_forward")


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
    # TODO: forward pass, loss, then backpropagate through decoder and encoder.
    raise NotImplementedError("ae_loss_and_grads")


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
    # TODO: draw an independent keep/zero decision per entry.
    raise NotImplementedError("corrupt")


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
    # TODO: initialise, then loop over epochs and shuffled minibatches.
    raise NotImplementedError("train_ae")


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
    # TODO: train one autoencoder per layer on the codes of the layer below.
    raise NotImplementedError("pretrain_stack")


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
    # TODO: copy the encoders, add the softmax layer, train with backpropagation.
    raise NotImplementedError("finetune")


def predict(model, X):
    """Predicted labels argmax_c p_c for the rows of X.

    Inputs: model as returned by finetune; X (N, D).

    Returns an integer array of shape (N,).

    Raises ValueError if X does not have the model's number of inputs.
    """
    # TODO: forward through the model and take the most probable class.
    raise NotImplementedError("predict")
