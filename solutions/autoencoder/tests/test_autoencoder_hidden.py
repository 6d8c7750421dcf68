"""Hidden tests of the autoencoder assignment.

Everything random is drawn from the `rng` fixture (seeded from the test's id) as int seeds,
so a grading reproduces and scripts/autoencoder_seeds.py can rerun every test with other
seeds. Training thresholds were measured on the reference with the 8x8 scikit-learn digits
(see scripts/autoencoder_seeds.py for the numbers); with GRADER_MNIST_DIR set the same
tests run on a capped MNIST subset but are not calibrated for it.
"""
import math

import numpy as np
import pytest
from scipy import special   # scipy.special, not scipy.stats: the same functions, a fifth of the import time
from scipy.linalg import subspace_angles

from grader.checks import (
    CheckFailure,
    assert_close,
    check_gradient,
    expect_array,
    expect_raises,
    quote,
)
from grader.datasets import load_digits
from grader.plots.images import digits_png, filters_png

# Caps keep the suite fast when an instructor points GRADER_MNIST_DIR at the full MNIST.
MAX_TRAIN, MAX_HELDOUT = 3000, 1000
N_CLASSES = 10

# Every binomial interval below excludes a correct solution with probability <= 1e-6; the
# suite uses 5 of them, so a correct corrupt() fails a grading with probability <= 5e-6.
BINOMIAL_ALPHA = 1e-6


def _seed(rng):
    return int(rng.integers(2**31 - 1))


def _digits():
    d = load_digits()
    return (d.X_train[:MAX_TRAIN], d.y_train[:MAX_TRAIN], d.X_heldout[:MAX_HELDOUT],
            d.y_heldout[:MAX_HELDOUT], d.image_shape)


def _expect(condition, message):
    if not condition:
        raise CheckFailure(message)


def _expect_params(params, *, func, case, n_in, n_hidden, tied):
    """Validate a params dict returned by the student: keys, shapes, finite floats."""
    _expect(isinstance(params, dict), f"{func} ({case}): expected a dict of arrays, got "
                                      f"{type(params).__name__}")
    shapes = {"W": (n_in, n_hidden), "b": (n_hidden,), "c": (n_in,)}
    if not tied:
        shapes["W_dec"] = (n_hidden, n_in)
    _expect(set(params) == set(shapes), f"{func} ({case}): params have keys {quote(sorted(params))}, "
                                        f"expected {sorted(shapes)}")
    return {k: expect_array(params[k], func=func, case=case + f", params[{k!r}]", shape=s)
            for k, s in shapes.items()}


def _random_params(rng, n_in, n_hidden, tied):
    params = {"W": rng.normal(0.0, 0.5, (n_in, n_hidden)), "b": rng.normal(0.0, 0.3, n_hidden),
              "c": rng.normal(0.0, 0.3, n_in)}
    if not tied:
        params["W_dec"] = rng.normal(0.0, 0.5, (n_hidden, n_in))
    return params


def _masked(rng, x, level):
    """Trusted masking noise for evaluating a denoising autoencoder."""
    return x * (rng.random(x.shape) >= level)


# Gradients, forward, loss

DECODERS = [pytest.param("linear", id="sigmoid code, linear decoder"),
            pytest.param("sigmoid", id="sigmoid code, sigmoid decoder")]


def _gradient_check(student, reference, rng, *, tied, activation, decoder):
    """The student's gradients against finite differences of the reference loss (graded: a
    student loss that recognises the probe calls must not be able to make wrong gradients pass)."""
    n, n_in, n_hidden = 5, 6, 4
    case = (f"{'tied' if tied else 'untied'} weights, {activation} code, {decoder} decoder, "
            f"x (N={n}, D={n_in}), K={n_hidden}, corrupted input vs clean target")
    params = _random_params(rng, n_in, n_hidden, tied)
    x_target = rng.uniform(0.0, 1.0, (n, n_in))
    x_in = _masked(rng, x_target, 0.3)
    kinds = {"activation": activation, "decoder": decoder}
    result = student.ae_loss_and_grads(x_in, x_target, params, **kinds)
    _expect(isinstance(result, (tuple, list)) and len(result) == 2,
            f"ae_loss_and_grads ({case}): expected a pair (loss, grads)")
    loss, grads = result
    _expect(isinstance(grads, dict) and set(grads) == set(params),
            f"ae_loss_and_grads ({case}): grads must be a dict with keys {sorted(params)}, got "
            f"{sorted(grads) if isinstance(grads, dict) else type(grads).__name__}")
    _expect(np.isfinite(float(np.asarray(loss))), f"ae_loss_and_grads ({case}): loss is not finite")

    def loss_with(key):
        def f(value):
            return float(reference.ae_loss_and_grads(x_in, x_target, {**params, key: value}, **kinds)[0])
        return f

    for key in params:  # every element: at most 24 per array
        # rtol 1e-2 per element, eps 1e-6: centred differences of this O(1) float64 loss are
        # off by ~1e-10 absolute; check_gradient allows for that rounding noise (its
        # NOISE_FACTOR floor), and the reference then passed 8,400 of 8,400 checks even at
        # 1e-5. 1e-2 keeps a wide margin for students' different but correct summation orders,
        # while real bugs (a missing tied term, a sign, a lost 1/N) are off by 0.2 to 1.
        check_gradient(loss_with(key), params[key], grads[key], func="ae_loss_and_grads",
                       case=case, wrt=key, rng=rng, rtol=1e-2, of="the reference loss")


@pytest.mark.points(3)
@pytest.mark.tags("gradient", "tied")
@pytest.mark.parametrize("decoder", DECODERS)
def test_gradient_tied(student, reference, rng, decoder):
    """ae_loss_and_grads: gradient check with tied weights (W used by encoder and decoder)"""
    _gradient_check(student, reference, rng, tied=True, activation="sigmoid", decoder=decoder)


@pytest.mark.points(3)
@pytest.mark.tags("gradient", "untied")
@pytest.mark.parametrize("decoder", DECODERS)
def test_gradient_untied(student, reference, rng, decoder):
    """ae_loss_and_grads: gradient check with untied weights (separate W_dec)"""
    _gradient_check(student, reference, rng, tied=False, activation="sigmoid", decoder=decoder)


@pytest.mark.points(2)
@pytest.mark.tags("gradient", "linear-code")
@pytest.mark.parametrize("tied", [pytest.param(True, id="tied"), pytest.param(False, id="untied")])
def test_gradient_linear_code(student, reference, rng, tied):
    """ae_loss_and_grads: gradient check with a linear code layer and linear decoder"""
    _gradient_check(student, reference, rng, tied=tied, activation="linear", decoder="linear")


ALL_KINDS = [(tied, act, dec) for tied in (True, False) for act in ("sigmoid", "linear")
             for dec in ("linear", "sigmoid")]


@pytest.mark.points(2)
@pytest.mark.tags("forward")
def test_forward_matches_definition(student, reference, rng):
    """ae_forward computes h = f(xW + b) and x_hat = g(hW' + c) for every kind"""
    n, n_in, n_hidden = 7, 6, 4
    x = rng.uniform(0.0, 1.0, (n, n_in))
    for tied, act, dec in ALL_KINDS:
        case = (f"{'tied' if tied else 'untied'}, activation={act!r}, decoder={dec!r}, "
                f"x (N={n}, D={n_in}), K={n_hidden}")
        params = _random_params(rng, n_in, n_hidden, tied)
        result = student.ae_forward(x, params, activation=act, decoder=dec)
        _expect(isinstance(result, (tuple, list)) and len(result) == 2,
                f"ae_forward ({case}): expected a pair (h, x_hat)")
        h_ref, x_hat_ref = reference.ae_forward(x, params, activation=act, decoder=dec)
        # float64 forward of a few matmuls: rounding differences stay below 1e-13 relative.
        assert_close(result[0], h_ref, func="ae_forward", case=case, rtol=1e-10, what="code h")
        assert_close(result[1], x_hat_ref, func="ae_forward", case=case, rtol=1e-10,
                     what="reconstruction x_hat")


@pytest.mark.points(2)
@pytest.mark.tags("loss")
def test_loss_value_matches_definition(student, reference, rng):
    """ae_loss_and_grads: loss = 1/(2N) sum_n ||x_hat_n - x_target_n||^2, x_hat from x_in"""
    n, n_in, n_hidden = 7, 6, 4
    x_target = rng.uniform(0.0, 1.0, (n, n_in))
    x_in = _masked(rng, x_target, 0.3)
    for tied, act, dec in ALL_KINDS:
        case = (f"{'tied' if tied else 'untied'}, activation={act!r}, decoder={dec!r}, "
                f"N={n}, D={n_in}, K={n_hidden}, corrupted input vs clean target")
        params = _random_params(rng, n_in, n_hidden, tied)
        loss = student.ae_loss_and_grads(x_in, x_target, params, activation=act, decoder=dec)[0]
        expected = reference.ae_loss_and_grads(x_in, x_target, params, activation=act,
                                               decoder=dec)[0]
        # float64 sums of 42 squares: rounding below 1e-14 relative.
        assert_close(np.atleast_1d(np.asarray(loss, dtype=float)), np.atleast_1d(expected),
                     func="ae_loss_and_grads", case=case, rtol=1e-10, what="loss")


# Masking noise

def _positive_input(rng, shape):
    # strictly positive, so an entry of the output is 0 exactly when corrupt() zeroed it
    return rng.uniform(0.1, 1.0, shape)


def _zeroed(student, x, level, seed, case):
    out = expect_array(student.corrupt(x, level, seed), func="corrupt", case=case, shape=x.shape)
    kept = out != 0
    _expect(np.array_equal(out[kept], x[kept]),
            f"corrupt ({case}): {int(np.sum(kept & (out != x)))} entries that were not zeroed "
            f"changed value; masking noise only sets entries to 0")
    return ~kept


def _binomial_quantile(q, trials, p):
    """The smallest k with P(Binomial(trials, p) <= k) >= q (scipy.stats.binom.ppf): bdtrik
    inverts the binomial CDF over a continuous k, bdtr checks the integer below."""
    k = math.ceil(special.bdtrik(q, trials, p))
    return k - 1 if k > 0 and special.bdtr(k - 1, trials, p) >= q else k


def _binomial_check(count, trials, p, what, case):
    low, high = _binomial_quantile(BINOMIAL_ALPHA / 2, trials, p), _binomial_quantile(1 - BINOMIAL_ALPHA / 2, trials, p)
    _expect(low <= count <= high,
            f"corrupt ({case}): {what}: {count} of {trials} (rate {count / trials:.4f}), "
            f"expected {trials * p:.0f}, interval [{low:.0f}, {high:.0f}] "
            f"(holds with probability 1 - {BINOMIAL_ALPHA:g})")


@pytest.mark.points(3)
@pytest.mark.tags("corrupt", "statistics")
def test_corrupt_zeroed_fraction(student, rng):
    """corrupt: the fraction of zeroed entries matches the level (binomial interval)"""
    x = _positive_input(rng, (400, 250))
    for level in (0.05, 0.1, 0.5):
        case = f"x {x.shape}, level={level}"
        zeroed = _zeroed(student, x, level, _seed(rng), case)
        _binomial_check(int(zeroed.sum()), x.size, level, "zeroed entries", case)


@pytest.mark.points(2)
@pytest.mark.tags("corrupt", "statistics")
def test_corrupt_entries_independent(student, rng):
    """corrupt: entries are zeroed independently (pairs of neighbours both zeroed at rate level^2)"""
    level = 0.3
    x = _positive_input(rng, (1000, 100))
    case = f"x {x.shape}, level={level}"
    zeroed = _zeroed(student, x, level, _seed(rng), case)
    # Disjoint pairs are independent, so under the null each count is exactly
    # Binomial(50,000, level^2); a mask shared by a row or a column gives rate ~level.
    horizontal = zeroed[:, 0::2] & zeroed[:, 1::2]
    vertical = zeroed[0::2, :] & zeroed[1::2, :]
    _binomial_check(int(horizontal.sum()), horizontal.size, level**2,
                    "pairs of horizontal neighbours both zeroed", case)
    _binomial_check(int(vertical.sum()), vertical.size, level**2,
                    "pairs of vertical neighbours both zeroed", case)


@pytest.mark.points(2)
@pytest.mark.tags("corrupt", "determinism")
def test_corrupt_seeding(student, rng):
    """corrupt: same seed gives the same mask, different seeds give different masks"""
    x = _positive_input(rng, (50, 64))
    seed = _seed(rng)
    case = f"x {x.shape}, level=0.3, seed={seed}"
    first = _zeroed(student, x, 0.3, seed, case)
    again = _zeroed(student, x, 0.3, seed, case)
    _expect(np.array_equal(first, again), f"corrupt ({case}): two calls with the same int seed "
                                          f"zeroed different entries")
    other = _zeroed(student, x, 0.3, seed + 1, case + " and seed+1")
    _expect(not np.array_equal(first, other),
            f"corrupt ({case}): seeds {seed} and {seed + 1} zeroed exactly the same entries")
    gen_a = _zeroed(student, x, 0.3, np.random.default_rng(seed), case + ", as a Generator")
    gen_b = _zeroed(student, x, 0.3, np.random.default_rng(seed), case + ", as a Generator")
    _expect(np.array_equal(gen_a, gen_b), f"corrupt ({case}): two Generators with the same "
                                          f"seed gave different masks")


@pytest.mark.points(2)
@pytest.mark.tags("corrupt")
def test_corrupt_extreme_levels_and_shapes(student, rng):
    """corrupt: level 0 leaves x unchanged, level 1 zeroes all, any input shape works"""
    x = _positive_input(rng, (6, 8, 8))
    case = f"x {x.shape}, level=0"
    out = expect_array(student.corrupt(x, 0.0, _seed(rng)), func="corrupt", case=case,
                       shape=x.shape)
    _expect(np.array_equal(out, x), f"corrupt ({case}): output differs from the input")
    case = f"x {x.shape}, level=1"
    out = expect_array(student.corrupt(x, 1.0, _seed(rng)), func="corrupt", case=case,
                       shape=x.shape)
    _expect(not np.any(out), f"corrupt ({case}): {int(np.count_nonzero(out))} entries not zeroed")


# Linear autoencoder = PCA

PCA_K = 3  # eigenvalues of the centred 8x8 digits: 0.69, 0.63, 0.56 | 0.39: a clear gap
# Degrees. Reference over 300 seeds (scripts/autoencoder_seeds.py): tied/raw 1.1-2.4 (mean
# 1.5), untied/centred 0.6-1.7 (mean 1.1).
PCA_MAX_ANGLE = 5.0


@pytest.mark.points(4)
@pytest.mark.tags("pca", "training")
@pytest.mark.call_timeout(60)
@pytest.mark.parametrize("tied, centred", [
    pytest.param(True, False, id="tied weights, raw pixels"),
    pytest.param(False, True, id="untied weights, centred pixels"),
])
def test_linear_autoencoder_spans_pca_subspace(student, rng, attach, tied, centred):
    """train_ae: a linear autoencoder's decoder spans the top principal subspace"""
    X = _digits()[0]
    Xc = X - X.mean(axis=0)
    seed = _seed(rng)
    settings = {"epochs": 60, "batch_size": 100, "lr": 0.02, "momentum": 0.9, "tied": tied,
                    "activation": "linear", "decoder": "linear"}
    case = (f"X {X.shape} {'centred' if centred else 'raw'}, K={PCA_K}, seed={seed}, "
            + ", ".join(f"{k}={v!r}" for k, v in settings.items()))
    params = _expect_params(student.train_ae(Xc if centred else X, PCA_K, seed, **settings),
                            func="train_ae", case=case, n_in=X.shape[1], n_hidden=PCA_K,
                            tied=tied)
    # The decoder's rows span the reconstructions; the encoder is not identified on pixels
    # that are always 0. With biases the mean is absorbed by c, so compare with the PCA of
    # the centred data.
    decoder = params["W"].T if tied else params["W_dec"]
    singular = np.linalg.svd(decoder, compute_uv=False)
    _expect(singular[-1] > 1e-8 * max(singular[0], 1e-300),
            f"train_ae ({case}): the decoder's {PCA_K} rows are linearly dependent")
    eigenvalues, eigenvectors = np.linalg.eigh(Xc.T @ Xc / X.shape[0])
    top = eigenvectors[:, np.argsort(eigenvalues)[::-1][:PCA_K]]
    angles = np.degrees(subspace_angles(decoder.T, top))
    attach.text("principal angles", f"{angles.max():.2f} degrees (largest principal angle "
                f"between span(W') and the top-{PCA_K} PCA subspace; all: "
                f"{', '.join(f'{a:.2f}' for a in sorted(angles))})")
    _expect(angles.max() <= PCA_MAX_ANGLE,
            f"train_ae ({case}): largest principal angle between the decoder's span and the "
            f"top-{PCA_K} principal subspace of the centred digits is {angles.max():.1f} "
            f"degrees, expected at most {PCA_MAX_ANGLE}")


# Denoising

# Ratio MSE(reconstruction of corrupted, clean) / MSE(corrupted, clean) on held-out digits.
# Reference over 300 seeds (scripts/autoencoder_seeds.py): 5% 0.72-0.84 (mean 0.78), 10%
# 0.55-0.62 (mean 0.59); a plain autoencoder (noise=0) scores about 1.0 at both levels.
DENOISE_MAX_RATIO = {0.05: 0.95, 0.1: 0.8}


@pytest.mark.points(4)
@pytest.mark.tags("denoising", "training")
@pytest.mark.call_timeout(60)
@pytest.mark.parametrize("level", [pytest.param(0.05, id="5% noise"),
                                   pytest.param(0.1, id="10% noise")])
def test_denoising_autoencoder_removes_noise(student, rng, attach, level):
    """train_ae(noise=...): reconstructions of corrupted held-out digits are closer to the clean digits"""
    X, _, H, _, image_shape = _digits()
    seed = _seed(rng)
    settings = {"epochs": 30, "batch_size": 50, "lr": 0.1, "momentum": 0.9, "noise": level}
    case = f"X {X.shape}, K=64, seed={seed}, " + ", ".join(f"{k}={v!r}" for k, v in settings.items())
    params = _expect_params(student.train_ae(X, 64, seed, **settings), func="train_ae",
                            case=case, n_in=X.shape[1], n_hidden=64, tied=True)
    corrupted = _masked(rng, H, level)
    result = student.ae_forward(corrupted, params)
    _expect(isinstance(result, (tuple, list)) and len(result) == 2,
            f"ae_forward ({case}): expected a pair (h, x_hat)")
    recon = expect_array(result[1], func="ae_forward", case=case + ", corrupted held-out digits",
                         shape=H.shape)
    error_recon = float(np.mean((recon - H) ** 2))
    error_input = float(np.mean((corrupted - H) ** 2))
    ratio = error_recon / error_input
    attach.text("denoising gain", f"{ratio:.3f} = MSE(reconstruction, clean) {error_recon:.5f} / "
                f"MSE(corrupted, clean) {error_input:.5f} on {H.shape[0]} held-out digits")
    if H.shape[1] == image_shape[0] * image_shape[1]:
        attach.png(f"held-out digits, {level:.0%} noise: original / corrupted / reconstructed",
                   digits_png([H[:12], corrupted[:12], np.clip(recon[:12], 0, 1)], image_shape))
    _expect(ratio <= DENOISE_MAX_RATIO[level],
            f"train_ae ({case}): on held-out digits with {level:.0%} masking noise the squared "
            f"error of the reconstruction is {ratio:.2f} times that of the corrupted input, "
            f"expected at most {DENOISE_MAX_RATIO[level]}")


# Stacking

STACK_SIZES = [32, 16]
STACK_SETTINGS = {"epochs": 20, "batch_size": 50, "lr": 0.1, "momentum": 0.9}
# Each layer's loss over the loss of the best constant output (its input's mean). Reference
# over 300 seeds: layer 1 0.05-0.08 (mean 0.06), layer 2 0.12-0.28 (mean 0.14).
STACK_MAX_RELATIVE_LOSS = 0.5


def _expect_stack(stack, sizes, n_in, case):
    _expect(isinstance(stack, (list, tuple)) and len(stack) == len(sizes),
            f"pretrain_stack ({case}): expected a list of {len(sizes)} params dicts, got "
            f"{len(stack) if isinstance(stack, (list, tuple)) else type(stack).__name__}")
    checked = []
    widths = [n_in] + list(sizes)
    for k, layer in enumerate(stack):
        tied = not (isinstance(layer, dict) and "W_dec" in layer)
        checked.append(_expect_params(layer, func="pretrain_stack", case=f"{case}, layer {k + 1}",
                                      n_in=widths[k], n_hidden=widths[k + 1], tied=tied))
    return checked


def _pretrained_stack(student, shared):
    """The student's pretrain_stack on every training digit (STACK_SIZES, STACK_SETTINGS), run
    once per grading: the three tests below judge the same stack, as a course pretrains once and
    then evaluates and fine-tunes. Returns (seed, the stack as returned)."""
    X = _digits()[0]

    def pretrain(rng):
        seed = _seed(rng)
        return seed, student.pretrain_stack(X, STACK_SIZES, seed, **STACK_SETTINGS)
    return shared.once("pretrained stack", pretrain)


@pytest.mark.points(3)
@pytest.mark.tags("stack", "shapes")
@pytest.mark.call_timeout(30)
def test_stack_shapes(student, rng):
    """pretrain_stack: one params dict per layer, layer k maps K_(k-1) inputs to K_k codes"""
    X = _digits()[0][:200]
    sizes = [12, 7, 5]
    seed = _seed(rng)
    case = f"X {X.shape}, sizes={sizes}, seed={seed}, epochs=2"
    _expect_stack(student.pretrain_stack(X, sizes, seed, epochs=2, batch_size=50), sizes,
                  X.shape[1], case)


@pytest.mark.points(5)
@pytest.mark.tags("stack", "training")
@pytest.mark.call_timeout(60)
def test_stack_layers_reconstruct_their_input(student, reference, shared, attach):
    """pretrain_stack: every layer reconstructs the codes of the layer below it"""
    X, _, _, _, image_shape = _digits()
    seed, pretrained = _pretrained_stack(student, shared)
    case = (f"X {X.shape}, sizes={STACK_SIZES}, seed={seed}, "
            + ", ".join(f"{k}={v!r}" for k, v in STACK_SETTINGS.items()))
    stack = _expect_stack(pretrained, STACK_SIZES, X.shape[1], case)
    if X.shape[1] == image_shape[0] * image_shape[1]:
        attach.png("filters of the first layer (columns of W)",
                   filters_png(stack[0]["W"], image_shape))
    # Layer k's input is the code of the clean data through the trained layers 1..k-1,
    # computed here on the trusted side (sigmoid codes, linear decoder: the defaults).
    inputs = X
    report = []
    for k, layer in enumerate(stack):
        codes, recon = reference.ae_forward(inputs, layer)
        loss = 0.5 * float(np.mean(np.sum((recon - inputs) ** 2, axis=1)))
        constant = 0.5 * float(np.mean(np.sum((inputs - inputs.mean(axis=0)) ** 2, axis=1)))
        relative = loss / max(constant, 1e-300)
        report.append(f"layer {k + 1}: loss {loss:.4f}, best constant output {constant:.4f}, "
                      f"relative {relative:.3f}")
        _expect(relative <= STACK_MAX_RELATIVE_LOSS,
                f"pretrain_stack ({case}): layer {k + 1} reconstructs its own input (the codes "
                f"of layer {k}, or the pixels for layer 1) with loss {loss:.4g}, "
                f"{relative:.2f} times that of the best constant output; expected at most "
                f"{STACK_MAX_RELATIVE_LOSS}")
        inputs = codes
    attach.text("per-layer reconstruction", "\n".join(report))


# Fine-tuning

FINETUNE_SETTINGS = {"epochs": 30, "batch_size": 50, "lr": 0.1, "momentum": 0.9}
FINETUNE_MIN_ACCURACY = 0.90  # reference over 300 seeds: 0.955-0.976 (mean 0.967)


def _expect_labels(labels, n, case):
    labels = expect_array(labels, func="predict", case=case, shape=(n,), floating=False)
    _expect(np.issubdtype(labels.dtype, np.integer),
            f"predict ({case}): labels must have an integer dtype, got {labels.dtype}")
    return labels


@pytest.mark.points(6)
@pytest.mark.tags("finetune", "training")
@pytest.mark.call_timeout(60)
def test_finetuned_accuracy(student, rng, shared, attach):
    """finetune + predict: a pretrained, fine-tuned stack classifies held-out digits"""
    X, y, H, y_heldout, _ = _digits()
    stack_seed, pretrained = _pretrained_stack(student, shared)
    tune_seed = _seed(rng)
    case = (f"X {X.shape}, sizes={STACK_SIZES}, pretrain seed={stack_seed}, finetune "
            f"seed={tune_seed}, " + ", ".join(f"{k}={v!r}" for k, v in FINETUNE_SETTINGS.items()))
    stack = _expect_stack(pretrained, STACK_SIZES, X.shape[1], case)
    model = student.finetune(X, y, stack, N_CLASSES, tune_seed, **FINETUNE_SETTINGS)
    labels = _expect_labels(student.predict(model, H), H.shape[0], case)
    accuracy = float(np.mean(labels == y_heldout))
    attach.text("held-out accuracy", f"{accuracy:.3f} on {H.shape[0]} held-out digits")
    _expect(accuracy >= FINETUNE_MIN_ACCURACY,
            f"finetune ({case}): accuracy on {H.shape[0]} held-out digits is {accuracy:.3f}, "
            f"expected at least {FINETUNE_MIN_ACCURACY}")


@pytest.mark.points(2)
@pytest.mark.tags("finetune", "training")
@pytest.mark.call_timeout(30)
def test_finetune_trains_the_encoders_too(student, rng):
    """finetune trains every parameter: the encoders' W_k and b_k change, not only the softmax layer"""
    X, y, _, _, _ = _digits()
    X, y = X[:200], y[:200]
    widths = [X.shape[1]] + STACK_SIZES
    stack = [{"W": rng.normal(0.0, 0.1, (n_in, n_out)), "b": np.zeros(n_out), "c": np.zeros(n_in)}
             for n_in, n_out in zip(widths[:-1], widths[1:])]
    tune_seed = _seed(rng)
    case = f"X {X.shape}, a random stack {STACK_SIZES}, seed={tune_seed}, epochs=2"
    model = student.finetune(X, y, stack, N_CLASSES, tune_seed, **{**FINETUNE_SETTINGS, "epochs": 2})
    _expect(isinstance(model, (list, tuple)) and len(model) == len(stack) + 1
            and all(isinstance(layer, dict) for layer in model),
            f"finetune ({case}): expected {len(stack) + 1} layer dicts (the encoders, then the softmax layer)")
    for k, (before, after) in enumerate(zip(stack, model)):
        for key in ("W", "b"):
            new = expect_array(after.get(key), func="finetune", case=f"{case}, layer {k + 1}",
                               shape=before[key].shape, what=key)
            # 2 epochs of 4 minibatch steps at lr 0.1 move a reference's W_k by ~1e-2 (relative);
            # an untouched layer moves by exactly 0
            change = float(np.max(np.abs(new - before[key])))
            _expect(change > 1e-8, f"finetune ({case}): layer {k + 1}'s {key} did not change (largest change "
                                   f"{change:.1e}); fine-tuning trains the encoders too, not only the softmax layer")


# What pretraining buys

# Reference over 300 seeds: the mean gain over 3 label draws was 0.030-0.154 (mean 0.090),
# positive for 300 of 300 seeds; one draw alone was positive for 99 % of 200 seeds.
LABELS_PER_CLASS = 3
PRETRAIN_REPEATS = 3
FEW_LABEL_SETTINGS = {"epochs": 50, "batch_size": 10, "lr": 0.1, "momentum": 0.9}


@pytest.mark.points(5)
@pytest.mark.tags("pretraining", "training")
@pytest.mark.call_timeout(60)
def test_pretraining_beats_random_init_with_few_labels(student, rng, shared, attach):
    """finetune: with 3 labels per class, a pretrained stack beats a randomly initialised one"""
    X, y, H, y_heldout, _ = _digits()
    widths = [X.shape[1]] + STACK_SIZES
    # Pretraining uses all training digits without labels (semi-supervised setting).
    stack_seed, pretrained = _pretrained_stack(student, shared)
    stack = _expect_stack(pretrained, STACK_SIZES, X.shape[1], f"X {X.shape}, seed={stack_seed}")
    gains = []
    for repeat in range(PRETRAIN_REPEATS):
        chosen = np.concatenate([rng.choice(np.flatnonzero(y == c), LABELS_PER_CLASS,
                                            replace=False) for c in range(N_CLASSES)])
        init_seeds = [_seed(rng) for _ in STACK_SIZES]
        random_stack = [student.ae_init(widths[k], widths[k + 1], init_seeds[k])
                        for k in range(len(STACK_SIZES))]
        tune_seed = _seed(rng)
        accuracies = []
        for name, start in (("pretrained", stack), ("random", random_stack)):
            case = (f"{name} init, {len(chosen)} labelled digits, finetune seed={tune_seed}, "
                    + ", ".join(f"{k}={v!r}" for k, v in FEW_LABEL_SETTINGS.items()))
            model = student.finetune(X[chosen], y[chosen], start, N_CLASSES, tune_seed,
                                     **FEW_LABEL_SETTINGS)
            labels = _expect_labels(student.predict(model, H), H.shape[0], case)
            accuracies.append(float(np.mean(labels == y_heldout)))
        gains.append(accuracies[0] - accuracies[1])
        attach.text(f"repeat {repeat + 1}", f"held-out accuracy: pretrained {accuracies[0]:.3f}, "
                    f"random init {accuracies[1]:.3f}")
    mean_gain = float(np.mean(gains))
    attach.text("pretraining gain", f"{mean_gain:.3f} (mean accuracy gain over "
                f"{PRETRAIN_REPEATS} label draws)")
    _expect(mean_gain > 0.0,
            f"finetune: with {LABELS_PER_CLASS} labels per class, pretrained initialisation "
            f"(sizes {STACK_SIZES}, seed {stack_seed}) did not beat random initialisation: "
            f"mean held-out accuracy gain over {PRETRAIN_REPEATS} label draws {mean_gain:+.3f}")


# Errors

@pytest.mark.points(2)
@pytest.mark.tags("errors")
def test_invalid_inputs_raise_value_error(student, rng):
    """ae_forward, corrupt and pretrain_stack raise ValueError on invalid input"""
    params = _random_params(rng, 6, 4, True)
    expect_raises(ValueError, lambda: student.ae_forward(np.zeros((3, 5)), params),
                  func="ae_forward", case="x (3, 5) but W (6, 4)")
    expect_raises(ValueError, lambda: student.ae_loss_and_grads(np.zeros((3, 6)), np.zeros((2, 6)),
                                                                params),
                  func="ae_loss_and_grads", case="x_in (3, 6) but x_target (2, 6)")
    expect_raises(ValueError, lambda: student.corrupt(np.ones((2, 3)), 1.5, 0),
                  func="corrupt", case="level=1.5")
    expect_raises(ValueError, lambda: student.corrupt(np.ones((2, 3)), -0.1, 0),
                  func="corrupt", case="level=-0.1")
    expect_raises(ValueError, lambda: student.pretrain_stack(np.ones((4, 6)), [], 0),
                  func="pretrain_stack", case="sizes=[]")
