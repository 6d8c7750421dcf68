"""Public tests for autoencoder.py. Run them with `grader check autoencoder`.

They check shapes, a forward pass and a loss worked out by hand, a small gradient check
you can read, the basics of masking noise, that training lowers the loss, and that a
fine-tuned model predicts labels. The hidden tests go further: gradient checks of every
variant (tied and untied, both decoders, linear codes), the loss and forward of every
variant, statistics of the noise, the link to PCA, denoising of held-out digits, the
stack, fine-tuned accuracy and what pretraining buys with few labels.
"""
import numpy as np
import pytest

from grader.checks import CheckFailure, assert_close, batched, check_gradient, expect_array, quote
from grader.datasets import load_digits


def _expect(condition, message):
    if not condition:
        raise CheckFailure(message)


def _expect_pair(result, func, case):
    _expect(isinstance(result, (tuple, list)) and len(result) == 2,
            f"{func} ({case}): expected a pair, got {type(result).__name__}")
    return result


@pytest.mark.points(2)
@pytest.mark.tags("init", "shapes")
@pytest.mark.parametrize("tied", [pytest.param(True, id="tied"), pytest.param(False, id="untied")])
def test_ae_init_shapes(student, tied):
    """ae_init returns W (D, K), b (K,), c (D,) and W_dec (K, D) only when untied"""
    params = student.ae_init(6, 4, 0, tied=tied)
    case = f"n_in=6, n_hidden=4, tied={tied}"
    expected = {"W": (6, 4), "b": (4,), "c": (6,)}
    if not tied:
        expected["W_dec"] = (4, 6)
    _expect(isinstance(params, dict) and set(params) == set(expected),
            f"ae_init ({case}): expected a dict with keys {sorted(expected)}, got "
            f"{sorted(params) if isinstance(params, dict) else type(params).__name__}")
    for key, shape in expected.items():
        expect_array(params[key], func="ae_init", case=f"{case}, params[{key!r}]", shape=shape)
    _expect(not np.any(params["b"]) and not np.any(params["c"]),
            f"ae_init ({case}): biases b and c must start at zero")
    # Xavier uniform: |w| <= sqrt(6 / (6 + 4)) ~ 0.775, and the weights are not all equal.
    bound = np.sqrt(6 / 10)
    _expect(np.all(np.abs(params["W"]) <= bound) and np.ptp(params["W"]) > 0,
            f"ae_init ({case}): W must be drawn from U(-{bound:.3f}, {bound:.3f})")


@pytest.mark.points(1)
@pytest.mark.tags("init", "determinism")
def test_ae_init_same_seed_same_weights(student):
    """ae_init with the same int seed gives the same weights"""
    a, b = student.ae_init(5, 3, 7), student.ae_init(5, 3, 7)
    _expect(np.array_equal(a["W"], b["W"]), "ae_init (n_in=5, n_hidden=3, rng=7 twice): "
                                            "different weights for the same seed")


# A hand-worked example. x = [[1, 0]], W = [[1], [-1]] (D=2, K=1), b = [0], c = [0.5, 0.5]:
#   sigmoid code:  h = sigma(1*1 + 0*(-1) + 0) = sigma(1) = 0.7310586
#   linear decoder, tied (W' = W^T = [[1, -1]]): x_hat = [h + 0.5, -h + 0.5]
#   linear code:   h = 1, x_hat = [1.5, -0.5]
HAND_PARAMS = {"W": np.array([[1.0], [-1.0]]), "b": np.array([0.0]), "c": np.array([0.5, 0.5])}
HAND_X = np.array([[1.0, 0.0]])
SIGMA_1 = 1.0 / (1.0 + np.exp(-1.0))


@pytest.mark.points(3)
@pytest.mark.tags("forward")
def test_ae_forward_by_hand(student):
    """ae_forward on a 1-sample, 2-input, 1-unit example worked out by hand"""
    cases = [
        ("sigmoid", "linear", [[SIGMA_1]], [[SIGMA_1 + 0.5, -SIGMA_1 + 0.5]]),
        ("linear", "linear", [[1.0]], [[1.5, -0.5]]),
        # sigmoid decoder: x_hat = sigma([1.5, -0.5]) for the linear code
        ("linear", "sigmoid", [[1.0]], [[1 / (1 + np.exp(-1.5)), 1 / (1 + np.exp(0.5))]]),
    ]
    for activation, decoder, h_expected, x_hat_expected in cases:
        case = f"x={HAND_X.tolist()}, tied W={HAND_PARAMS['W'].tolist()}, activation={activation!r}, decoder={decoder!r}"
        h, x_hat = _expect_pair(student.ae_forward(HAND_X, HAND_PARAMS, activation=activation,
                                                   decoder=decoder), "ae_forward", case)
        # exact arithmetic on a few numbers: only rounding differs
        assert_close(h, np.array(h_expected), func="ae_forward", case=case, rtol=1e-12, what="h")
        assert_close(x_hat, np.array(x_hat_expected), func="ae_forward", case=case, rtol=1e-12,
                     what="x_hat")


@pytest.mark.points(2)
@pytest.mark.tags("loss")
def test_loss_by_hand(student):
    """ae_loss_and_grads: loss = 1/(2N) sum_n ||x_hat_n - x_target_n||^2"""
    # Linear code and decoder: x_hat = [1.5, -0.5] (see above). Target [1, 0]:
    # one sample (N = 1), squared error 0.5^2 + 0.5^2 = 0.5, loss = 0.5 / 2 = 0.25.
    case = "the hand example, linear code and decoder, x_target = x_in"
    loss, _ = _expect_pair(student.ae_loss_and_grads(HAND_X, HAND_X, HAND_PARAMS,
                                                     activation="linear", decoder="linear"),
                           "ae_loss_and_grads", case)
    assert_close(np.atleast_1d(np.asarray(loss, dtype=float)), np.array([0.25]),
                 func="ae_loss_and_grads", case=case, rtol=1e-12, what="loss")
    # Two identical samples: the mean over samples keeps the loss at 0.25.
    two = np.vstack([HAND_X, HAND_X])
    loss, _ = student.ae_loss_and_grads(two, two, HAND_PARAMS, activation="linear",
                                        decoder="linear")
    assert_close(np.atleast_1d(np.asarray(loss, dtype=float)), np.array([0.25]),
                 func="ae_loss_and_grads", case="the hand example twice (N=2)", rtol=1e-12,
                 what="loss (a mean over samples)")


@pytest.mark.points(5)
@pytest.mark.tags("gradient", "tied")
def test_gradient_check_tied_small(student, differentiated, rng):
    """ae_loss_and_grads: gradients of a small tied autoencoder match finite differences"""
    # D=4 inputs, K=3 code units, N=5 samples; sigmoid code, linear decoder, tied weights.
    # The input is a corrupted copy of the target, as in a denoising autoencoder.
    params = {"W": rng.normal(0, 0.5, (4, 3)), "b": rng.normal(0, 0.3, 3),
              "c": rng.normal(0, 0.3, 4)}
    x_target = rng.uniform(0, 1, (5, 4))
    x_in = x_target * (rng.random((5, 4)) > 0.3)
    case = "tied, sigmoid code, linear decoder, x (5, 4), K=3"
    _, grads = _expect_pair(student.ae_loss_and_grads(x_in, x_target, params),
                            "ae_loss_and_grads", case)
    _expect(isinstance(grads, dict) and set(grads) == set(params),
            f"ae_loss_and_grads ({case}): grads must be a dict with keys {sorted(params)}")
    for key, value in params.items():
        def losses(points, key=key):
            # your loss in a self-check (every point in one round trip); the reference's when grading
            pairs = batched(differentiated.module, "ae_loss_and_grads",
                            [((x_in, x_target, {**params, key: p}), {}) for p in points])
            return [float(_expect_pair(pair, "ae_loss_and_grads", case)[0]) for pair in pairs]
        # With tied weights, dL/dW = (encoder part) + (decoder part)^T: forgetting one shows
        # as an O(1) relative error. 1e-2 leaves room for the rounding of finite differences,
        # whose size depends on the dtype your function computes in (that of what it returned).
        check_gradient(None, value, grads[key], func="ae_loss_and_grads", case=case, losses=losses,
                       wrt=key, rng=rng, rtol=1e-2, forward_dtype=getattr(grads[key], "dtype", None),
                       of=differentiated.of.replace("forward", "ae_loss_and_grads"))


@pytest.mark.points(4)
@pytest.mark.tags("corrupt")
def test_corrupt_basics(student, rng):
    """corrupt: shape kept, entries zeroed or unchanged, level 0 changes nothing, seeded"""
    x = rng.uniform(0.1, 1.0, (20, 30))  # no zeros, so a 0 in the output was put there
    out = expect_array(student.corrupt(x, 0.5, 3), func="corrupt", case="x (20, 30), level=0.5",
                       shape=x.shape)
    kept = out != 0
    _expect(np.array_equal(out[kept], x[kept]),
            "corrupt (x (20, 30), level=0.5): entries that are not zeroed must keep their value")
    # 600 entries at level 0.5: between 200 and 400 zeros except with probability < 1e-15.
    _expect(200 <= np.sum(~kept) <= 400,
            f"corrupt (x (20, 30), level=0.5): {np.sum(~kept)} of 600 entries zeroed")
    again = student.corrupt(x, 0.5, 3)
    _expect(np.array_equal(out, again), "corrupt (level=0.5, rng=3 twice): different masks")
    same = student.corrupt(x, 0.0, 3)
    _expect(np.array_equal(same, x), "corrupt (level=0): the output must equal the input")


@pytest.mark.points(2)
@pytest.mark.tags("training")
@pytest.mark.call_timeout(30)
def test_train_ae_lowers_loss(student):
    """train_ae: the trained autoencoder reconstructs 300 digits better than its start"""
    X = load_digits().X_train[:300]
    start = student.ae_init(X.shape[1], 16, 0)
    trained = student.train_ae(X, 16, 0, epochs=10, batch_size=50, lr=0.1)
    before = float(student.ae_loss_and_grads(X, X, start)[0])
    after = float(student.ae_loss_and_grads(X, X, trained)[0])
    _expect(after < 0.5 * before,
            f"train_ae (300 digits, K=16, 10 epochs): loss went from {before:.4f} at "
            f"initialisation to {after:.4f}; expected less than half")


@pytest.mark.points(2)
@pytest.mark.tags("finetune", "shapes")
@pytest.mark.call_timeout(30)
def test_finetune_and_predict_shapes(student):
    """finetune returns encoder layers plus a softmax layer; predict returns (N,) labels"""
    digits = load_digits()
    X, y = digits.X_train[:200], digits.y_train[:200]
    stack = [student.ae_init(X.shape[1], 12, 1), student.ae_init(12, 8, 2)]
    model = student.finetune(X, y, stack, 10, 0, epochs=2)
    _expect(isinstance(model, (list, tuple)) and len(model) == 3,
            "finetune (stack of 2 layers): expected a list of 3 layers (2 encoders + softmax)")
    expect_array(model[-1]["W"], func="finetune", case="output layer V", shape=(8, 10))
    labels = expect_array(student.predict(model, X[:7]), func="predict", case="7 digits",
                          shape=(7,), floating=False)
    _expect(np.issubdtype(labels.dtype, np.integer) and labels.min() >= 0 and labels.max() < 10,
            f"predict (7 digits): expected integer labels in 0..9, got {quote(labels)}")
