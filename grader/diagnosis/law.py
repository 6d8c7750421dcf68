"""Random functions judged by the law of their outputs (see the package docstring)."""
from __future__ import annotations

import inspect
import math
import numbers

import numpy as np

from .outcomes import Call, close, run

# Random functions. law_distance(a, b) is the largest |z| over STATISTICS, z = sum(d) / sqrt(sum(d^2))
# with d_i = g(a_i) - g(b_i). When a and b are independent draws of the same law with independent
# entries, each d_i is symmetric about 0, so given |d_i| the signs are independent fair coins and
# Hoeffding's inequality gives P(|z| > t) <= 2 exp(-t^2 / 2) for any n and any distribution.
# LAW_Z = 6: 2 exp(-18) = 3.0e-8 per statistic; a grading examines at most MAX_CALLS = 24 calls
# of at most 3 large arrays with 4 statistics each (288 tests), so a correct sample is taken for a
# wrong one with probability below 288 * 3.0e-8 = 8.8e-6 (and is then diagnosed only if it also
# matches a variant, which LAW_FAR keeps apart from the reference).
LAW_Z = 6.0
LAW_FAR = 2 * LAW_Z      # a variant's sample must differ from the reference's by this much to be judged
MIN_DRAWS = 1000         # outputs with a smaller random part are not judged: too few draws to separate
                         # the usual mistakes (normal vs uniform of one variance: z ~ 0.12 sqrt(n) in the
                         # fourth moment), and it keeps out outputs computed from random draws, whose
                         # entries are not independent (curves, numbers, the biases of trained layers)
RNG_PARAMETERS = ("rng", "seed", "random_state")
STATISTICS = (lambda v: v, lambda v: v * v, lambda v: (v * v) ** 2, lambda v: (v == 0).astype(np.float64))
FRESH_SEED = 20240613    # seeds the fresh, independent samples (reproducible diagnoses)


class Behaviour:
    """A call judged by the law of its outputs where the function draws random numbers.

    ``verdict(variant)`` is False for a deterministic function (the values differ: the variant does
    not explain the call); for a random one it is whether the student's output follows the
    variant's law, or None where that cannot be told: the output is not a sample (``law_distance``
    gives None, or two samples of the reference disagree), the student's output follows the
    reference's law (nothing to explain: a correct solution drawing in another order), or the
    variant's law is not clearly apart from the reference's."""

    def __init__(self, reference, call: Call, expected, seeds: np.random.Generator):
        self.call, self.random, self.sample = call, False, None
        function = getattr(reference, call.func, None)
        fresh = [_reseeded(function, call, int(seeds.integers(2**63))) for _ in range(2)]
        if fresh[0] is None:
            return
        again = run(reference, fresh[0])
        if close(again, expected):
            return   # deterministic despite its rng (zeros_init, corrupt at level 0 or 1)
        self.random, self.fresh = True, fresh[1]
        if _at_most(law_distance(again, expected), LAW_Z):   # a sampler: two of its samples agree
            student = law_distance(call.result, again)
            if student is not None and student > LAW_Z:
                self.sample = again   # and the student's output is not a sample of the reference's law

    def verdict(self, variant) -> bool | None:
        if not self.random:
            return False
        if self.sample is None:
            return None
        theirs = run(variant, self.fresh)
        if _at_most(law_distance(theirs, self.sample), LAW_FAR):
            return None
        distance = law_distance(self.call.result, theirs)
        return None if distance is None else distance <= LAW_Z


def _at_most(distance: float | None, limit: float) -> bool:
    return distance is not None and distance <= limit


def _reseeded(function, call: Call, seed: int) -> Call | None:
    """`call` with its random generator argument replaced by `seed`; None if it takes none."""
    try:
        signature = inspect.signature(function)
        bound = signature.bind(*call.args, **call.kwargs)
    except (TypeError, ValueError):
        return None
    slot = next((p for p in RNG_PARAMETERS if p in signature.parameters), None)
    if slot is None:
        return None
    bound.arguments[slot] = seed
    return Call(call.func, tuple(bound.args), dict(bound.kwargs), None)


def law_distance(a, b) -> float | None:
    """How far apart in law two outcomes are: the largest |z| (see LAW_Z) over the statistics of
    the arrays in which they differ; inf where their structure, shapes, dtypes or non-numeric
    values differ; None where nothing differs or a differing part has fewer than MIN_DRAWS
    entries (not a sample of independent draws: a number, a curve, the biases of a trained net)."""
    pairs: list[tuple[np.ndarray, np.ndarray]] = []
    if not _pair_leaves(a, b, pairs):
        return math.inf
    differing = [(x, y) for x, y in pairs if not np.array_equal(x, y)]
    if not differing or any(x.size < MIN_DRAWS for x, _ in differing):
        return None
    return max(_z(x, y) for x, y in differing)


def _pair_leaves(a, b, pairs: list) -> bool:
    """Collects the numeric arrays of `a` and `b` in `pairs`; False where the rest differs."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_pair_leaves(a[k], b[k], pairs) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_pair_leaves(x, y, pairs) for x, y in zip(a, b))
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype.kind in "biuf":
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        pairs.append((a, b))
        return True
    numeric = (numbers.Number, np.number)
    if isinstance(a, numeric) and isinstance(b, numeric) and not isinstance(a, (bool, np.bool_)):
        pairs.append((np.asarray(a), np.asarray(b)))
        return type(a) is type(b)
    return close(a, b)


def _z(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return math.inf
    scale = max(float(np.max(np.abs(a))), float(np.max(np.abs(b))), 1e-300)   # z is scale-free
    a, b = a / scale, b / scale
    worst = 0.0
    for statistic in STATISTICS:
        d = statistic(a) - statistic(b)
        spread = math.sqrt(float(np.dot(d, d)))
        if spread > 0:
            worst = max(worst, abs(float(d.sum())) / spread)
    return worst
