"""Diagnosis: which catalogued mistake (``grader.mistakes``) the student's failing calls behave like.

For each recorded call of a failing test (the function, a snapshot of its inputs, what the
student returned or raised), the reference and each catalogue variant that changes that function
run in the grader process on the same inputs. A call is informative where the student's output
differs from the reference's; a variant explains it where the student's output equals the
variant's (within ``MATCH_RTOL``) and the variant's differs clearly from the reference's. A
mistake is named when it explains at least one call and as many as it fails to explain.

So it never fires on a correct solution (its outputs equal the reference's), reveals no expected
value (only the catalogue's explanation and function names), costs nothing when every test passes
(nothing is recorded then) and is bounded otherwise (``MAX_CALLS``, ``BUDGET_SECONDS``). It judges
behaviour, never source text.
"""
from __future__ import annotations

import copy
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
    for call in _spread(calls)[:MAX_CALLS]:
        candidates = [v for v in variants if call.func in v[2]]
        if not candidates or time.monotonic() > deadline:
            continue
        expected = _run(reference, call)
        if close(call.result, expected):
            continue   # the student agrees with the reference here: nothing to explain
        for mistake, module, _ in candidates:
            if time.monotonic() > deadline:
                break
            outcome = _run(module, call)
            if close(outcome, expected, FAR):
                continue   # the mistake makes no difference on these inputs
            if close(call.result, outcome):
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
