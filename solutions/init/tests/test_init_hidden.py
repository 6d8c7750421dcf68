"""Hidden tests for init.py: fans, initialiser distributions, reproducibility, errors,
and the activation-statistics experiment.

Statistical decisions are plain functions of arrays (`distribution_failures`,
`activation_curve_failures`) so that scripts/init_false_failure_rate.py can run them on
the reference's output for many seeds without the sandbox.

False-failure budget (Bonferroni): a correct submission must fail a grading of init less
than once in 10,000 runs. Every random check below is sized to fail a correct solution
with probability at most 1e-6:
  - 8 distribution cases x 3 checks (KS, mean, variance) at ALPHA = 1e-6 each: 2.4e-5;
  - 6 random activation-curve cases (5 at LECTURE_SIZE, 1 small), tolerances at least 8
    standard deviations of the difference between two independent runs (normal tail
    < 1e-15; counted as 1e-6 each): 6e-6;
  - 3 public sanity checks (tests/test_init_public.py), counted as 1e-6 each: 3e-6.
Total at most 3.3e-5 < 1e-4. scripts/init_false_failure_rate.py measures it on 1,000 seeds.
"""
import math

import numpy as np
import pytest
from scipy import special   # scipy.special, not scipy.stats: the same functions, a fifth of the import time

from grader.checks import CheckFailure, expect_array, expect_raises, quote
from grader.plots import line_chart

# Per-check false-failure probability of every statistical check (see the budget above).
ALPHA = 1e-6


def _seed(rng):
    """A reproducible int seed for the student's call, drawn from the test's rng fixture."""
    return int(rng.integers(2**31 - 1))


@pytest.mark.points(1)
@pytest.mark.tags("fans")
@pytest.mark.parametrize("shape", [(784, 100), (3, 7)], ids=["784x100", "3x7"])
def test_fan_in_out_dense(student, shape):
    """fan_in_out of a dense (n_in, n_out) shape"""
    _check_fans(student, shape, (shape[0], shape[1]))


@pytest.mark.points(1)
@pytest.mark.tags("fans")
@pytest.mark.parametrize("shape", [(64, 3, 7, 7), (10, 20, 1, 1)], ids=["64x3x7x7", "10x20x1x1"])
def test_fan_in_out_conv(student, shape):
    """fan_in_out of a conv (D, C, F, F) shape"""
    d, c, f, _ = shape
    _check_fans(student, shape, (c * f * f, d * f * f))


def _check_fans(student, shape, expected):
    # NumPy integers arrive here as Python ints; floats (e.g. from a division) are not fans.
    got = student.fan_in_out(shape)
    if not (isinstance(got, (tuple, list)) and len(got) == 2 and all(isinstance(v, int) for v in got)):
        raise CheckFailure(f"fan_in_out({shape}): expected a pair of ints (fan_in, fan_out), got {quote(got)}")
    if tuple(got) != expected:
        raise CheckFailure(f"fan_in_out({shape}): expected (fan_in, fan_out) = {expected}, got {quote(tuple(got))}")


@pytest.mark.points(1)
@pytest.mark.tags("fans", "validation")
def test_fan_in_out_rejects_other_ndims(student):
    """fan_in_out raises ValueError unless the shape is 2-D or 4-D"""
    for shape in [(), (10,), (2, 3, 4), (1, 2, 3, 4, 5)]:
        expect_raises(ValueError, lambda: student.fan_in_out(shape),
                      func="fan_in_out", case=f"shape {shape} ({len(shape)} dimensions)")


@pytest.mark.points(1)
@pytest.mark.tags("zeros")
def test_zeros_init(student, rng):
    """zeros_init returns float64 zeros of the requested shape"""
    for shape, seed in [((30, 20), _seed(rng)), ((4, 3, 5, 5), np.random.default_rng(_seed(rng)))]:
        case = f"shape {shape}"
        w = expect_array(student.zeros_init(shape, seed), func="zeros_init", case=case, shape=shape)
        if w.dtype != np.float64:
            raise CheckFailure(f"zeros_init({case}): expected dtype float64, got {w.dtype}")
        if np.any(w != 0):
            raise CheckFailure(f"zeros_init({case}): {int(np.count_nonzero(w))} of {w.size} entries are not zero")


def _variance_interval(n, variance, distribution):
    """Interval for mean(w^2) (the variance about the known mean 0) that a correct sample
    of n values leaves with probability ALPHA (two-sided)."""
    if distribution == "normal":
        # n * mean(w^2) / Var is exactly chi-square with n degrees of freedom.
        # chdtri(n, q) is the chi-square quantile with upper tail q (scipy.stats.chi2.isf(q, n)).
        return (special.chdtri(n, 1 - ALPHA / 2) / n * variance, special.chdtri(n, ALPHA / 2) / n * variance)
    # U[-a, a]: E[w^2] = Var and Var(w^2) = E[w^4] - Var^2 = a^4/5 - a^4/9 = 0.8 Var^2.
    # Normal approximation of the mean; the skewness of the mean (0.64/sqrt(n) < 0.004 for
    # n >= 30,000) moves the quantile by under 0.02 standard errors.
    half = -special.ndtri(ALPHA / 2) * math.sqrt(0.8 / n) * variance
    return variance - half, variance + half


def distribution_failures(w, distribution, variance):
    """Reasons why the sample `w` does not look like i.i.d. draws of the intended law.

    Inputs:
    - w: array of weights (any shape; every entry is one sample).
    - distribution: "normal" for N(0, variance), "uniform" for U[-a, a], a = sqrt(3 variance).
    - variance: the intended Var(w).

    Three checks, each failing a correct sample with probability ALPHA: a two-sided z-test
    of the mean (the mean of n i.i.d. values has standard error sqrt(variance / n); exact
    for normal, central limit for uniform), an interval for mean(w^2), and a
    Kolmogorov-Smirnov test against the exact distribution. Returns [] when all pass.
    """
    x = np.asarray(w, dtype=np.float64).ravel()
    n = x.size
    failures = []

    mean = float(x.mean())
    mean_bound = -special.ndtri(ALPHA / 2) * math.sqrt(variance / n)
    if abs(mean) > mean_bound:
        failures.append(f"mean {mean:.3g} is outside +-{mean_bound:.3g}")

    second_moment = float(np.mean(x * x))
    low, high = _variance_interval(n, variance, distribution)
    if not low <= second_moment <= high:
        failures.append(f"variance (mean of w^2) {second_moment:.4g} is outside [{low:.4g}, {high:.4g}] "
                        f"around Var = {variance:.4g}")

    if distribution == "normal":
        sd = math.sqrt(variance)
        cdf = special.ndtr(np.sort(x) / sd)
        law_text = f"N(0, {variance:.4g})"
    else:
        bound = math.sqrt(3.0 * variance)
        cdf = np.clip((np.sort(x) + bound) / (2.0 * bound), 0.0, 1.0)
        law_text = f"U[-{bound:.4g}, {bound:.4g}]"
    # D = sup |F_n - F| over the sorted sample. Its exact two-sided p-value is twice the one-sided
    # Smirnov tail (the two tails overlap with probability O(p^2), so near ALPHA this is exact to
    # ~1e-12; scipy.stats.kstest computes the same), but special.smirnov costs ~70 ms at these n.
    # Kolmogorov's limit law of sqrt(n) D differs from it by O(1/sqrt(n)) relative (+0.5 % at
    # n = 40,000, always on the side of a larger p): the exact value is computed only when the
    # limit law's p lies within a factor 4 of ALPHA, where that difference could change the verdict.
    rank = np.arange(1, n + 1)
    statistic = float(max(np.max(rank / n - cdf), np.max(cdf - (rank - 1) / n)))
    pvalue = float(special.kolmogorov(math.sqrt(n) * statistic))
    if ALPHA / 4 < pvalue < 4 * ALPHA:
        pvalue = min(1.0, 2.0 * float(special.smirnov(n, statistic)))
    if pvalue < ALPHA:
        p_text = f"p = {pvalue:.2g}" if pvalue > 0 else "p < 1e-300"
        failures.append(f"Kolmogorov-Smirnov test against {law_text}: D = {statistic:.3g}, "
                        f"{p_text} < {ALPHA:g}")
    return failures


# Each case: (function, shape, keyword arguments, distribution, Var(w), how Var is defined).
# Shapes hold at least 30,000 weights (a KS test on ~500 cannot tell Xavier from He) and have
# fan_in != fan_out, so using the wrong fan changes the variance.
DENSE = (300, 150)            # fan_in 300, fan_out 150: 45,000 weights
CONV = (64, 24, 5, 5)         # fan_in 600, fan_out 1600: 38,400 weights
DISTRIBUTION_CASES = [
    pytest.param("gaussian_init", (250, 160), {}, "normal", 1e-4, "std = 0.01 (default)",
                 id="gaussian-default-dense", marks=pytest.mark.tags("gaussian", "distribution")),
    pytest.param("gaussian_init", CONV, {"std": 0.5}, "normal", 0.25, "std = 0.5",
                 id="gaussian-std0.5-conv", marks=pytest.mark.tags("gaussian", "distribution")),
    pytest.param("xavier_init", DENSE, {}, "normal", 2 / 450, "2/(fan_in+fan_out) = 2/450 (defaults)",
                 id="xavier-avg-normal-dense",
                 marks=pytest.mark.tags("xavier", "mode-avg", "normal", "distribution")),
    pytest.param("xavier_init", CONV, {"mode": "avg", "distribution": "uniform"}, "uniform", 2 / 2200,
                 "2/(fan_in+fan_out) = 2/2200", id="xavier-avg-uniform-conv",
                 marks=pytest.mark.tags("xavier", "mode-avg", "uniform", "distribution")),
    pytest.param("xavier_init", CONV, {"mode": "in", "distribution": "normal"}, "normal", 1 / 600,
                 "1/fan_in = 1/600", id="xavier-in-normal-conv",
                 marks=pytest.mark.tags("xavier", "mode-in", "normal", "distribution")),
    pytest.param("xavier_init", DENSE, {"mode": "in", "distribution": "uniform"}, "uniform", 1 / 300,
                 "1/fan_in = 1/300", id="xavier-in-uniform-dense",
                 marks=pytest.mark.tags("xavier", "mode-in", "uniform", "distribution")),
    pytest.param("he_init", DENSE, {}, "normal", 2 / 300, "2/fan_in = 2/300 (default)",
                 id="he-normal-dense", marks=pytest.mark.tags("he", "normal", "distribution")),
    pytest.param("he_init", CONV, {"distribution": "uniform"}, "uniform", 2 / 600, "2/fan_in = 2/600",
                 id="he-uniform-conv", marks=pytest.mark.tags("he", "uniform", "distribution")),
]


def describe_call(func, shape, kwargs, seed):
    args = ", ".join([str(tuple(shape)), f"rng={seed}"] + [f"{k}={v!r}" for k, v in kwargs.items()])
    return f"{func}({args})"


@pytest.mark.points(2)
@pytest.mark.parametrize("func, shape, kwargs, distribution, variance, how", DISTRIBUTION_CASES)
def test_initialiser_distribution(student, rng, func, shape, kwargs, distribution, variance, how):
    """Initialiser draws from the intended distribution (KS, mean, variance)"""
    seed = _seed(rng)
    call = describe_call(func, shape, kwargs, seed)
    w = expect_array(getattr(student, func)(shape, seed, **kwargs), func=func, case=call, shape=shape)
    if w.dtype != np.float64:
        raise CheckFailure(f"{call}: expected dtype float64, got {w.dtype}")
    failures = distribution_failures(w, distribution, variance)
    if failures:
        law = "N(0, Var)" if distribution == "normal" else "U[-a, a] with a = sqrt(3 Var)"
        raise CheckFailure(f"{call}: the {w.size} weights do not look like {law}, Var = {how} "
                           f"= {variance:.4g}: " + "; ".join(failures)
                           + f" (each check fails a correct solution with probability {ALPHA:g})")


REPRO_CALLS = [("gaussian_init", (40, 30), {}), ("xavier_init", (8, 4, 3, 3), {"distribution": "uniform"}),
               ("he_init", (40, 30), {})]


@pytest.mark.points(1)
@pytest.mark.tags("reproducibility")
def test_same_seed_same_weights(student, rng):
    """The same int seed gives the same weights"""
    seed = _seed(rng)
    for func, shape, kwargs in REPRO_CALLS:
        call = describe_call(func, shape, kwargs, seed)
        first = expect_array(getattr(student, func)(shape, seed, **kwargs), func=func, case=call, shape=shape)
        second = expect_array(getattr(student, func)(shape, seed, **kwargs), func=func, case=call, shape=shape)
        if not np.array_equal(first, second):
            raise CheckFailure(f"{call}: two calls with the same seed gave different weights "
                               f"({int(np.count_nonzero(first != second))} of {first.size} entries differ)")


@pytest.mark.points(1)
@pytest.mark.tags("reproducibility")
def test_generator_same_as_seed(student, rng):
    """A Generator is accepted: default_rng(seed) gives the same weights as the int seed"""
    seed = _seed(rng)
    for func, shape, kwargs in REPRO_CALLS:
        call = describe_call(func, shape, kwargs, seed)
        from_int = expect_array(getattr(student, func)(shape, seed, **kwargs), func=func, case=call, shape=shape)
        gen_call = call.replace(f"rng={seed}", f"rng=numpy.random.default_rng({seed})")
        from_gen = expect_array(getattr(student, func)(shape, np.random.default_rng(seed), **kwargs),
                                func=func, case=gen_call, shape=shape)
        if not np.array_equal(from_int, from_gen):
            raise CheckFailure(f"{gen_call} differs from {call}: normalise rng with "
                               f"numpy.random.default_rng(rng) and draw from that Generator only")


@pytest.mark.points(1)
@pytest.mark.tags("reproducibility")
def test_different_seeds_differ(student, rng):
    """Different seeds give different weights"""
    seed = _seed(rng)
    for func, shape, kwargs in REPRO_CALLS:
        call = describe_call(func, shape, kwargs, seed)
        first = expect_array(getattr(student, func)(shape, seed, **kwargs), func=func, case=call, shape=shape)
        second = expect_array(getattr(student, func)(shape, seed + 1, **kwargs), func=func,
                              case=describe_call(func, shape, kwargs, seed + 1), shape=shape)
        # Continuous draws from independent streams never coincide; demand most entries differ.
        if np.count_nonzero(first != second) < first.size // 2:
            raise CheckFailure(f"{func}: seeds {seed} and {seed + 1} gave (almost) the same weights "
                               f"for shape {shape}; draw from numpy.random.default_rng(rng)")


@pytest.mark.points(1)
@pytest.mark.tags("validation")
def test_unknown_options_raise(student, rng):
    """Unknown mode, distribution or shape raises ValueError"""
    seed = _seed(rng)
    calls = [
        ("xavier_init", (20, 10), {"mode": "out"}),
        ("xavier_init", (20, 10), {"distribution": "laplace"}),
        ("he_init", (20, 10), {"distribution": "Normal"}),
        ("he_init", (2, 3, 4), {}),
    ]
    for func, shape, kwargs in calls:
        expect_raises(ValueError, lambda: getattr(student, func)(shape, seed, **kwargs),
                      func=func, case=describe_call(func, shape, kwargs, seed))


# Tolerances for comparing a student's curves with the reference's at the same seed. A student
# may draw in another order, so the curves are then as far apart as two independent seeds.
# Measured over 400 seeds of the reference at LECTURE_SIZE (10 layers, width 500, 200
# samples), the seed-to-seed standard deviation sigma_l at layer l = 1..10 is at most
#   log(std):  0.0125*l for ReLU; 0.0024 + 0.0011*l for tanh and linear;
#   log(mean): 0.0179*l for ReLU (means are positive);
#   mean/std:  0.0033 for tanh and linear (means are ~0);
# and looks normal (excess kurtosis within +-0.55). The difference of two independent runs
# has sqrt(2)*sigma_l; each tolerance below is at least 8.4 of those (normal tail < 5e-17).
# The cases the lecture shows stay far apart: He vs Var 1/n_in with ReLU differ by exactly
# l*log(sqrt(2)) = 0.347*l in log(std) (ReLU is positively homogeneous), He vs Xavier with
# tanh by 0.14 at layer 1, Gaussian 0.01 vs Xavier by orders of magnitude.
# |log std - log std_ref| <= offset + slope * l:
LOG_STD_TOL = {"relu": (0.0, 0.15), "tanh": (0.03, 0.015), "linear": (0.03, 0.015)}
LOG_MEAN_TOL_PER_LAYER_RELU = 0.22
MEAN_OVER_STD_TOL = 0.045  # tanh and linear: |mean - mean_ref| <= 0.045 * std_ref
# Small case (4 layers, width 64, 200 samples, He + tanh), measured over 3,000 seeds: sigma of
# log(std) <= 0.0053*l, of mean/std <= 0.0090, so 0.07*l and 0.11 are 9.3 and 8.6 standard
# deviations of a difference; He vs Xavier there still differ by 0.139*l in log(std).
SMALL_LOG_STD_TOL = (0.0, 0.07)
SMALL_MEAN_OVER_STD_TOL = 0.11
ZERO_TOL = 1e-12  # zeros: every activation is exactly 0 (tanh(0) = relu(0) = 0)


def activation_curve_failures(activation, means, stds, ref_means, ref_stds, *,
                              log_std_tol=None, mean_over_std_tol=MEAN_OVER_STD_TOL):
    """Reasons why (means, stds) of activation_stats differ from the reference's curves.

    All four are float64 arrays of shape (n_layers,). A reference curve of zeros (the
    "zeros" initialiser) demands |means|, |stds| <= ZERO_TOL. Otherwise, at layer l
    (1-based), with (offset, slope) = log_std_tol (default LOG_STD_TOL[activation]):
    |log std - log std_ref| <= offset + slope * l; for ReLU (positive means)
    |log mean - log mean_ref| <= LOG_MEAN_TOL_PER_LAYER_RELU * l; for tanh and linear
    (means near 0) |mean - mean_ref| <= mean_over_std_tol * std_ref.
    Returns [] when all hold, else one reason per curve (its first bad layer).
    """
    offset, slope = LOG_STD_TOL[activation] if log_std_tol is None else log_std_tol
    means, stds = np.asarray(means, np.float64), np.asarray(stds, np.float64)
    ref_means, ref_stds = np.asarray(ref_means, np.float64), np.asarray(ref_stds, np.float64)
    failures = []
    if np.all(ref_stds == 0) and np.all(ref_means == 0):
        for name, got in (("means", means), ("stds", stds)):
            worst = int(np.argmax(np.abs(got)))
            if abs(got[worst]) > ZERO_TOL:
                failures.append(f"{name}: expected 0 at every layer (all weights are zero), "
                                f"got {got[worst]:.3g} at layer {worst + 1}")
        return failures

    for layer, got, ref in zip(range(1, len(ref_stds) + 1), stds, ref_stds):
        factor = math.exp(offset + slope * layer)
        if not (got > 0 and ref / factor <= got <= ref * factor):
            failures.append(f"std at layer {layer}: expected {ref:.3g} (within a factor {factor:.3g}), "
                            f"got {got:.3g}")
            break
    for layer, got, ref, ref_std in zip(range(1, len(ref_stds) + 1), means, ref_means, ref_stds):
        if activation == "relu":
            factor = math.exp(LOG_MEAN_TOL_PER_LAYER_RELU * layer)
            if not (got > 0 and ref / factor <= got <= ref * factor):
                failures.append(f"mean at layer {layer}: expected {ref:.3g} (within a factor {factor:.3g}), "
                                f"got {got:.3g}")
                break
        elif not abs(got - ref) <= mean_over_std_tol * ref_std:
            failures.append(f"mean at layer {layer}: expected {ref:.3g} +- {mean_over_std_tol * ref_std:.3g} "
                            f"({mean_over_std_tol:g} x the layer's std), got {got:.3g}")
            break
    return failures


def _attach_curves(attach, title, stds, ref_stds, activation, log_std_tol, failed):
    """The student's per-layer std curve beside the reference's (log scale unless all 0), with the
    band the std test accepts around the reference, and the student's curve drawn as failing when
    the test failed: the chart agrees with the verdict beside it (the band shows how loose the
    tolerance is rather than tightening it: it is 8 standard deviations of the seed-to-seed spread)."""
    ref = np.asarray(ref_stds, np.float64)
    positive = bool(np.all(ref > 0))
    band = None
    if positive:
        offset, slope = LOG_STD_TOL[activation] if log_std_tol is None else log_std_tol
        factor = np.exp(offset + slope * np.arange(1, len(ref) + 1))
        band = ("accepted by the test", [float(v) for v in ref / factor], [float(v) for v in ref * factor])
    name = "your activation_stats"
    svg = line_chart({"reference": [float(v) for v in ref], name: [float(v) for v in stds]},
                     title=title, x_label="layer", y_label="std of activations", log_y=positive, band=band,
                     failing=[name] if failed else [])
    attach.svg(title + (" (failed)" if failed else ""), svg)


def _run_activation_case(student, reference, attach, init, activation, rng_arg, case_text, kwargs,
                         **tolerances):
    n_layers = kwargs.get("n_layers", 10)
    result = student.activation_stats(init, activation, rng_arg, **kwargs)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise CheckFailure(f"activation_stats({case_text}): expected a pair (means, stds), got {type(result).__name__}")
    means = expect_array(result[0], func="activation_stats", case=f"{case_text}, means", shape=(n_layers,))
    stds = expect_array(result[1], func="activation_stats", case=f"{case_text}, stds", shape=(n_layers,))
    ref_means, ref_stds = reference.activation_stats(init, activation, rng_arg, **kwargs)
    failures = activation_curve_failures(activation, means, stds, ref_means, ref_stds, **tolerances)
    _attach_curves(attach, f"std of activations per layer: {init} + {activation}", stds, ref_stds, activation,
                   tolerances.get("log_std_tol"), bool(failures))
    if failures:
        raise CheckFailure(f"activation_stats({case_text}): " + "; ".join(failures)
                           + " (tolerances allow for a different sampling order)")


ACTIVATION_CASES = [
    pytest.param("gaussian", "tanh", id="gaussian-tanh", marks=pytest.mark.tags("activation_stats", "gaussian")),
    pytest.param("xavier", "tanh", id="xavier-tanh", marks=pytest.mark.tags("activation_stats", "xavier")),
    pytest.param("xavier", "relu", id="xavier-relu", marks=pytest.mark.tags("activation_stats", "xavier")),
    pytest.param("he", "relu", id="he-relu", marks=pytest.mark.tags("activation_stats", "he")),
    pytest.param("zeros", "tanh", id="zeros-tanh", marks=pytest.mark.tags("activation_stats", "zeros")),
    pytest.param("xavier", "linear", id="xavier-linear", marks=pytest.mark.tags("activation_stats", "xavier")),
]


# The lecture's network (10 layers of 500 units) with 200 samples instead of 1000: the curves
# are the same (the spread across seeds comes mostly from the weights), grading is 5x faster.
LECTURE_SIZE = {"n_layers": 10, "width": 500, "n_samples": 200}


@pytest.mark.points(2)
@pytest.mark.call_timeout(30)
@pytest.mark.parametrize("init, activation", ACTIVATION_CASES)
def test_activation_stats_matches_reference(student, reference, rng, attach, init, activation):
    """activation_stats matches the reference curves (10 layers of 500 units, 200 samples)"""
    seed = _seed(rng)
    _run_activation_case(student, reference, attach, init, activation, seed,
                         f"{init!r}, {activation!r}, rng={seed}, n_samples=200", LECTURE_SIZE)


# Small case: 4 layers, width 64, 200 samples, He + tanh, rng passed as a Generator.
SMALL_CASE = {"n_layers": 4, "width": 64, "n_samples": 200}


@pytest.mark.points(1)
@pytest.mark.tags("activation_stats", "he")
def test_activation_stats_small_with_generator(student, reference, rng, attach):
    """activation_stats honours n_layers, width, n_samples and accepts a Generator"""
    seed = _seed(rng)
    generator = np.random.default_rng(seed)
    text = (f"'he', 'tanh', rng=numpy.random.default_rng({seed}), "
            + ", ".join(f"{k}={v}" for k, v in SMALL_CASE.items()))
    _run_activation_case(student, reference, attach, "he", "tanh", generator, text, SMALL_CASE,
                         log_std_tol=SMALL_LOG_STD_TOL, mean_over_std_tol=SMALL_MEAN_OVER_STD_TOL)


@pytest.mark.points(1)
@pytest.mark.tags("activation_stats", "validation")
def test_activation_stats_rejects_unknown_names(student, rng):
    """activation_stats raises ValueError for an unknown init or activation"""
    seed = _seed(rng)
    for init, activation in [("glorot", "tanh"), ("he", "sigmoid")]:
        expect_raises(ValueError,
                      lambda: student.activation_stats(init, activation, seed, n_layers=2, width=8, n_samples=4),
                      func="activation_stats", case=f"init={init!r}, activation={activation!r}")
