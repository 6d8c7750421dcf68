"""Diagnosis: which catalogued mistake (``grader.mistakes``) the student's failing calls behave like.

For each recorded call of a failing test (the function, a snapshot of its inputs, what the
student returned or raised), the reference and each catalogue variant that changes that function
run in the grader process on the same inputs. A call is informative where the student's output
differs from the reference's; a variant explains it where the student's output equals the
variant's (within ``MATCH_RTOL``) and the variant's differs clearly from the reference's. A
mistake is named when it explains at least one call and as many as it fails to explain.

Functions that draw random numbers (the call takes an ``rng``/``seed`` and the reference gives
other outputs for another seed) are matched on behaviour as well: an independent implementation
of a mistake draws its numbers differently and never equals the variant value for value. Where
such a function's outputs are samples (large arrays of independent draws, ``_Behaviour``), the
student's output is compared in law with a fresh sample of the reference and of the variant, by
statistics the usual mistakes change (mean, second and fourth moments, fraction of exact zeros),
each a self-normalised paired test (``law_distance``) whose tolerance ``LAW_Z`` holds whatever
the distribution. Random outputs that are not samples (trained weights, curves) are not judged.

So it never fires on a correct solution (its outputs equal the reference's, or follow the same
law: a correct sample is taken for a wrong one with probability below 1e-5 per grading, see
``LAW_Z``), reveals no expected value (only the catalogue's explanation and function names),
costs nothing when every test passes (nothing is recorded then) and is bounded otherwise
(``MAX_CALLS``, ``BUDGET_SECONDS``). It judges behaviour, never source text.
"""
from __future__ import annotations

import copy
import inspect
import math
import numbers
import time
import warnings
from dataclasses import dataclass

import numpy as np

from .course import AssignmentSpec
from .mistakes import Mistake, catalogue, catalogue_file, changed_functions, variant_module

MATCH_RTOL = {8: 1e-7, 4: 1e-3, 2: 1e-2}   # relative error by float size in bytes (float64, 32, 16)
FAR = 100                                  # a variant must differ from the reference by FAR x the tolerance
MAX_CALLS = 24                             # recorded calls examined per assignment
BUDGET_SECONDS = 10.0                      # wall time per assignment for the examination

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


@dataclass(frozen=True)
class Raised:
    """A call that raised: the nearest builtin exception type's name."""
    kind: str


@dataclass
class Call:
    func: str
    args: tuple
    kwargs: dict
    result: object      # what the student returned, or Raised


def builtin_kind(exc: BaseException) -> str:
    return next(c.__name__ for c in type(exc).__mro__ if c.__module__ == "builtins")


def _run(module, call: Call):
    function = getattr(module, call.func, None)
    if not callable(function):
        return Raised("AttributeError")
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return function(*copy.deepcopy(call.args), **copy.deepcopy(call.kwargs))
    except Exception as exc:  # noqa: BLE001 - a reference or variant raising is an outcome to compare
        return Raised(builtin_kind(exc))


def _tolerance(*values) -> float:
    sizes = [v.dtype.itemsize for v in values if isinstance(v, np.ndarray) and v.dtype.kind == "f"]
    return MATCH_RTOL.get(min(sizes), 1e-2) if sizes else MATCH_RTOL[8]


def close(a, b, scale: float = 1.0) -> bool:
    """Whether two outcomes are the same: same structure, shapes and dtypes, numbers equal within
    the tolerance of their precision (times `scale`)."""
    if isinstance(a, Raised) or isinstance(b, Raised):
        return isinstance(a, Raised) and isinstance(b, Raised) and a.kind == b.kind
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k], scale) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(close(x, y, scale) for x, y in zip(a, b))
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        if a.shape != b.shape or a.dtype != b.dtype or a.dtype.kind not in "biuf":
            return a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a, b))
        return _relative(a, b) <= _tolerance(a, b) * scale
    numeric = (numbers.Number, np.number)
    if isinstance(a, numeric) and isinstance(b, numeric) and not isinstance(a, np.ndarray):
        if isinstance(a, (bool, np.bool_)) or isinstance(b, (bool, np.bool_)):
            return bool(a) == bool(b) and type(a) is type(b)
        return _relative(np.asarray(a), np.asarray(b)) <= MATCH_RTOL[8] * scale
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:  # noqa: BLE001
        return False


def _relative(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(np.float64), b.astype(np.float64)
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return 0.0 if np.array_equal(a, b, equal_nan=True) else np.inf
    return float(np.max(np.abs(a - b), initial=0.0) / max(float(np.max(np.abs(a) + np.abs(b), initial=0.0)), 1e-300))


def diagnose(spec: AssignmentSpec, calls: list[Call], reference) -> list[str]:
    """The diagnoses ("Likely mistake: <explanation> (<functions>)") for the student's failing
    `calls`; [] without a catalogue or failing calls. `reference` is the reference module."""
    if not calls or not catalogue_file(spec).is_file():
        return []
    deadline = time.monotonic() + BUDGET_SECONDS
    variants: list[tuple[Mistake, object, set[str]]] = []
    for mistake in catalogue(spec):
        module = variant_module(spec, mistake)
        variants.append((mistake, module, changed_functions(module, reference)))
    explained: dict[str, dict[str, int]] = {}   # mistake -> function -> calls explained
    missed: dict[str, int] = {}
    seeds = np.random.default_rng(FRESH_SEED)
    for call in _spread(calls)[:MAX_CALLS]:
        candidates = [v for v in variants if call.func in v[2]]
        if not candidates or time.monotonic() > deadline:
            continue
        expected = _run(reference, call)
        if close(call.result, expected):
            continue   # the student agrees with the reference here: nothing to explain
        behaviour = None
        for mistake, module, _ in candidates:
            if time.monotonic() > deadline:
                break
            outcome = _run(module, call)
            if close(outcome, expected, FAR):
                continue   # the mistake makes no difference on these inputs
            if close(call.result, outcome):
                verdict = True
            else:
                behaviour = behaviour or _Behaviour(reference, call, expected, seeds)
                verdict = behaviour.verdict(module)
            if verdict is None:
                continue   # a random output the law cannot decide on
            if verdict:
                functions = explained.setdefault(mistake.name, {})
                functions[call.func] = functions.get(call.func, 0) + 1
            else:
                missed[mistake.name] = missed.get(mistake.name, 0) + 1
    found = []
    for mistake, _, _ in variants:
        functions = explained.get(mistake.name, {})
        if functions and sum(functions.values()) >= missed.get(mistake.name, 0):
            found.append(f"{mistake.diagnosis} ({', '.join(sorted(functions))})")
    return found


def _spread(calls: list[Call]) -> list[Call]:
    """The calls reordered round-robin over functions, so the bound reaches every function."""
    by_function: dict[str, list[Call]] = {}
    for call in calls:
        by_function.setdefault(call.func, []).append(call)
    queues = list(by_function.values())
    spread = []
    while any(queues):
        spread += [q.pop(0) for q in queues if q]
    return spread


class _Behaviour:
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
        again = _run(reference, fresh[0])
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
        theirs = _run(variant, self.fresh)
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
