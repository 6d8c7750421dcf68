"""What a call gave (a value, or ``Raised``), replayed on the reference or a catalogue variant in
the grader, and when two outcomes are the same (``close``): the diagnosis's common ground."""
from __future__ import annotations

import copy
import numbers
import warnings
from dataclasses import dataclass

import numpy as np

MATCH_RTOL = {8: 1e-7, 4: 1e-3, 2: 1e-2}   # relative error by float size in bytes (float64, 32, 16)


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


def run(module, call: Call):
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
