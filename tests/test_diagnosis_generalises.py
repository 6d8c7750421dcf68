"""The diagnosis generalises beyond the catalogue's own code: independent implementations of the
catalogued mistakes (other numpy calls, other loop orders, other ways of drawing random numbers,
so never equal to the catalogue's variant value for value) are named, and only by the right
mistake; independent correct implementations are never diagnosed."""
import math

import numpy as np
import pytest

from grader.diagnosis import Call, close, diagnose, law_distance
from grader.mistakes import find, variant_module
from grader.pipeline import grade_submission
from helpers import COURSE, load_module, make_submission


def _reference(name):
    spec = COURSE.assignment(name)
    return spec, load_module(spec.solution_file, f"_generalises_reference_{name}")


def _named(name, mistake):
    return find(COURSE.assignment(name), mistake).diagnosis


def _never_equal_to_the_variant(name, mistake, calls):
    """The calls' outputs differ from the catalogue variant's value for value: only the law can tell."""
    variant = variant_module(COURSE.assignment(name), find(COURSE.assignment(name), mistake))
    for call in calls:
        assert not close(call.result, getattr(variant, call.func)(*call.args, **call.kwargs)), call.func


def _diagnose(name, calls):
    spec, reference = _reference(name)
    return diagnose(spec, calls, reference)


# -- conv: a true convolution, written with np.flip, np.pad and explicit loops ------------------------

def _conv_loops(x, w, b, stride=1, pad=0, flip=False):
    n_images, _, height, width = x.shape
    n_filters, _, size, _ = w.shape
    padded = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)])
    kernels = np.flip(w, axis=(2, 3)) if flip else w
    out_h, out_w = (height + 2 * pad - size) // stride + 1, (width + 2 * pad - size) // stride + 1
    z = np.empty((n_images, n_filters, out_h, out_w))
    for d in range(n_filters):           # filters outermost, unlike the reference
        for i in range(out_h):
            for j in range(out_w):
                patch = padded[:, :, i * stride:i * stride + size, j * stride:j * stride + size]
                z[:, d, i, j] = np.tensordot(patch, kernels[d], axes=3) + b[d]
    return z


def _conv_calls(flip, seeds):
    calls = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        x, w, b = rng.standard_normal((2, 3, 7, 7)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
        kwargs = {"stride": 1 + seed % 2, "pad": seed % 2}
        calls.append(Call("conv2d_forward", (x, w, b), kwargs, _conv_loops(x, w, b, flip=flip, **kwargs)))
    return calls


def test_conv_flipped_kernel_written_with_np_flip():
    assert _diagnose("conv", _conv_calls(True, range(4))) == [_named("conv", "flipped-kernel") + " (conv2d_forward)"]
    assert _diagnose("conv", _conv_calls(False, range(20))) == []


# -- pool: the gradient spread over the window (average pooling's backward), loop by loop --------------

def _pool_backward(dz, x, size=2, stride=2, spread=False):
    dx = np.zeros_like(x)
    for k in range(dz.shape[2]):
        for m in range(dz.shape[3]):
            rows, cols = slice(k * stride, k * stride + size), slice(m * stride, m * stride + size)
            window = x[:, :, rows, cols].reshape(x.shape[0], x.shape[1], -1)
            if spread:
                dx[:, :, rows, cols] += dz[:, :, k, m][:, :, None, None] / window.shape[-1]
                continue
            first = window.argmax(axis=2)   # the first maximum in row-major order
            for n in range(x.shape[0]):
                for c in range(x.shape[1]):
                    i, j = divmod(int(first[n, c]), size)
                    dx[n, c, k * stride + i, m * stride + j] += dz[n, c, k, m]
    return dx


def _pool_calls(spread, seeds):
    calls = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        size, stride = (2, 2) if seed % 2 else (3, 1)
        x = rng.standard_normal((2, 3, 8, 8))
        out = (8 - size) // stride + 1
        dz = rng.standard_normal((2, 3, out, out))
        calls.append(Call("maxpool_backward", (dz, x), {"size": size, "stride": stride},
                          _pool_backward(dz, x, size, stride, spread)))
    return calls


def test_pool_gradient_spread_written_with_loops():
    assert (_diagnose("pool", _pool_calls(True, range(4)))
            == [_named("pool", "gradient-spread-over-window") + " (maxpool_backward)"])
    assert _diagnose("pool", _pool_calls(False, range(10))) == []


# -- init: initialisers that draw their numbers in other ways ------------------------------------------

def _box_muller(rng, shape):
    """Standard normal draws from uniforms (not rng.standard_normal)."""
    count = int(np.prod(shape))
    u, v = 1.0 - rng.random((count + 1) // 2), rng.random((count + 1) // 2)
    radius = np.sqrt(-2.0 * np.log(u))
    return np.concatenate([radius * np.cos(2 * np.pi * v), radius * np.sin(2 * np.pi * v)])[:count].reshape(shape)


def _transposed_normal(rng, shape):
    return rng.standard_normal(tuple(reversed(shape))).transpose()


class Init:
    """An init.py written independently: `he_gain` 2 (1 is the mistake), `bound_factor` 3 (1 is the
    mistake), `ignore_distribution`, and the way it draws normal and uniform numbers."""

    def __init__(self, he_gain=2.0, bound_factor=3.0, ignore_distribution=False, normal=_box_muller,
                 uniform=lambda rng, shape, a: a * (1.0 - 2.0 * rng.random(shape))):
        self.he_gain, self.bound_factor, self.ignore = he_gain, bound_factor, ignore_distribution
        self.normal, self.uniform = normal, uniform

    @staticmethod
    def fans(shape):
        if len(shape) == 2:
            return shape
        receptive = math.prod(shape[2:])
        return shape[1] * receptive, shape[0] * receptive

    def draw(self, shape, rng, variance, distribution):
        rng = np.random.default_rng(rng)
        if distribution == "uniform" and not self.ignore:
            return self.uniform(rng, shape, math.sqrt(self.bound_factor * variance))
        return math.sqrt(variance) * self.normal(rng, shape)

    def xavier_init(self, shape, rng, mode="avg", distribution="normal"):
        fan_in, fan_out = self.fans(shape)
        return self.draw(shape, rng, 1.0 / fan_in if mode == "in" else 2.0 / (fan_in + fan_out), distribution)

    def he_init(self, shape, rng, distribution="normal"):
        return self.draw(shape, rng, self.he_gain / self.fans(shape)[0], distribution)


DENSE, CONV = (300, 150), (64, 24, 5, 5)   # the hidden distribution tests' shapes
INIT_CALLS = [("xavier_init", DENSE, {}), ("xavier_init", CONV, {"mode": "avg", "distribution": "uniform"}),
              ("xavier_init", CONV, {"mode": "in", "distribution": "normal"}),
              ("xavier_init", DENSE, {"mode": "in", "distribution": "uniform"}),
              ("he_init", DENSE, {}), ("he_init", CONV, {"distribution": "uniform"}), ("he_init", (64, 16, 3, 3), {})]


def _init_calls(student, seed, only=None):
    calls = []
    for k, (func, shape, kwargs) in enumerate(INIT_CALLS):
        if only is None or only(func, kwargs):
            args = (shape, seed + k)
            calls.append(Call(func, args, kwargs, getattr(student, func)(*args, **kwargs)))
    return calls


def _uniform_calls(func, kwargs):
    return kwargs.get("distribution") == "uniform"


@pytest.mark.parametrize("student, only, mistake, functions", [
    pytest.param(Init(bound_factor=1.0), _uniform_calls, "uniform-bound-sqrt-var", "he_init, xavier_init",
                 id="uniform-bound-sqrt-var"),
    pytest.param(Init(he_gain=1.0, normal=_transposed_normal), lambda f, k: f == "he_init",
                 "he-with-one-over-fan-in", "he_init", id="he-with-one-over-fan-in"),
    pytest.param(Init(ignore_distribution=True), _uniform_calls, "distribution-ignored", "he_init, xavier_init",
                 id="distribution-ignored"),
])
def test_init_mistakes_drawn_differently_are_named(student, only, mistake, functions):
    calls = _init_calls(student, 1234, only)
    _never_equal_to_the_variant("init", mistake, calls)
    assert _diagnose("init", calls) == [f"{_named('init', mistake)} ({functions})"]


CORRECT_INITS = [Init(), Init(normal=_transposed_normal),
                 Init(normal=lambda rng, shape: rng.normal(0.0, 1.0, size=shape[::-1]).T,
                      uniform=lambda rng, shape, a: rng.uniform(-a, a, size=shape[::-1]).T)]


@pytest.mark.parametrize("seed", range(4))
def test_correct_initialisers_drawn_differently_are_never_diagnosed(seed):
    for student in CORRECT_INITS:
        assert _diagnose("init", _init_calls(student, 1000 * seed)) == []


def test_law_distance_separates_the_laws():
    rng = np.random.default_rng(5)
    normal, uniform = rng.standard_normal(40_000), rng.uniform(-math.sqrt(3), math.sqrt(3), 40_000)
    assert law_distance(normal, rng.standard_normal(40_000)) <= 6 < law_distance(normal, uniform)
    assert law_distance(uniform, uniform / math.sqrt(3)) > 12
    assert law_distance(normal[:10], uniform[:10]) is None   # too few draws to judge
    assert law_distance(normal, normal[:100]) == math.inf
    # a random part too small to be a sample (the biases of a trained layer) keeps it from judging
    assert law_distance({"W": normal, "b": normal[:5]}, {"W": uniform, "b": uniform[:5]}) is None
    assert law_distance({"W": normal, "b": np.zeros(5)}, {"W": uniform, "b": np.zeros(5)}) > 6


# -- autoencoder: Gaussian noise instead of masking noise ----------------------------------------------

def _corrupt_calls(noise, seed):
    rng = np.random.default_rng(seed)
    calls = []
    for shape, level in [((400, 250), 0.05), ((400, 250), 0.5), ((1000, 100), 0.3)]:
        x = rng.uniform(0.1, 1.0, shape)
        calls.append(Call("corrupt", (x, level, seed + 1), {}, noise(x, level, np.random.default_rng(seed + 1))))
    return calls


def _gaussian_noise(x, level, rng):
    return x + level * _box_muller(rng, x.shape)


def _binomial_mask(x, level, rng):
    return x * rng.binomial(1, 1.0 - level, size=x.shape)


def _permuted_mask(x, level, rng):   # exactly round(level * size) zeros: close to the law, not equal
    flat = np.ones(x.size)
    flat[rng.permutation(x.size)[:round(level * x.size)]] = 0.0
    return x * flat.reshape(x.shape)


def test_gaussian_noise_drawn_differently_is_named():
    _never_equal_to_the_variant("autoencoder", "gaussian-instead-of-masking-noise", _corrupt_calls(_gaussian_noise, 3))
    assert (_diagnose("autoencoder", _corrupt_calls(_gaussian_noise, 3))
            == [_named("autoencoder", "gaussian-instead-of-masking-noise") + " (corrupt)"])


@pytest.mark.parametrize("seed", range(3))
def test_masking_noise_drawn_differently_is_never_diagnosed(seed):
    for noise in (_binomial_mask, _permuted_mask):
        assert _diagnose("autoencoder", _corrupt_calls(noise, seed)) == []


# -- end to end: a submission whose he_init draws with Box-Muller and Var(w) = 1/n_in ------------------

HE_BOX_MULLER = '''
def he_init(shape, rng, distribution="normal"):
    shape = tuple(shape)
    fan_in = fan_in_out(shape)[0]
    gen = np.random.default_rng(rng)
    count = int(np.prod(shape))
    if distribution == "uniform":
        return np.sqrt(3.0 / fan_in) * (2.0 * gen.random(count) - 1.0).reshape(shape)
    if distribution != "normal":
        raise ValueError("distribution must be 'normal' or 'uniform'")
    u, v = 1.0 - gen.random((count + 1) // 2), gen.random((count + 1) // 2)
    radius = np.sqrt(-2.0 * np.log(u))
    z = np.concatenate([radius * np.cos(2 * np.pi * v), radius * np.sin(2 * np.pi * v)])[:count]
    return np.sqrt(1.0 / fan_in) * z.reshape(shape)
'''


def test_independent_submission_is_diagnosed_end_to_end(tmp_path):
    spec = COURSE.assignment("init")
    submission = make_submission(tmp_path, "init", source=spec.solution_file.read_text() + HE_BOX_MULLER)
    (assignment,) = grade_submission(submission, COURSE, assignments=["init"]).assignments
    assert assignment.score < assignment.max_score
    assert assignment.diagnoses == [_named("init", "he-with-one-over-fan-in") + " (he_init)"]
