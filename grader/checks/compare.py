"""Compare what a student function returned with what it should have returned.

Everything here treats the student's value as untrusted data: it is converted to a plain
float64 ``numpy.ndarray`` before any arithmetic, so no method of the student's runs, and it is
described by type, shape, dtype and a few numbers, or quoted through ``quote``/``clip`` (bounded).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..sandbox.errors import StudentError, StudentRaised
from .failure import QUOTE_LIMIT, CheckFailure, clip

TINY = 1e-300  # keeps the relative error finite when both arrays are exactly zero


def _where(func: str, case: str) -> str:
    return f"{func} ({case})" if case else func


def expect_array(value, *, func: str, case: str = "", shape: tuple | None = None,
                 floating: bool = True, finite: bool = True, what: str = "output") -> np.ndarray:
    """Return `value` as a plain ndarray, or raise ``CheckFailure`` saying what is wrong with it."""
    head = _where(func, case)
    if type(value) is not np.ndarray:
        raise CheckFailure(f"{head}: {what} should be a numpy array, got {type(value).__name__}")
    if shape is not None and value.shape != tuple(shape):
        raise CheckFailure(f"{head}: {what} has shape {value.shape}, expected {tuple(shape)}")
    if floating and value.dtype.kind != "f":
        raise CheckFailure(f"{head}: {what} has dtype {value.dtype}, expected a floating-point dtype")
    if finite and value.dtype.kind in "fc" and not np.all(np.isfinite(value)):
        bad = np.argwhere(~np.isfinite(value))
        raise CheckFailure(f"{head}: {what} contains {len(bad)} NaN/inf value(s), first at index "
                           f"{tuple(int(i) for i in bad[0])}")
    return value


def relative_error(got: np.ndarray, expected: np.ndarray) -> float:
    """max|a - b| / max(|a| + |b|), in float64."""
    a, b = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    return float(np.max(np.abs(a - b), initial=0.0) / max(float(np.max(np.abs(a) + np.abs(b), initial=0.0)), TINY))


def assert_close(got, expected, *, func: str, case: str = "", rtol: float, what: str = "output",
                 floating: bool = True) -> np.ndarray:
    """Check `got` against the trusted `expected` with relative error at most `rtol`."""
    expected = np.asarray(expected)
    arr = expect_array(got, func=func, case=case, shape=expected.shape, floating=floating, what=what)
    err = relative_error(arr, expected)
    if not err <= rtol:
        a, b = arr.astype(np.float64), expected.astype(np.float64)
        worst = np.unravel_index(int(np.argmax(np.abs(a - b))), a.shape) if a.size else ()
        index = tuple(int(i) for i in worst)
        n_off = int(np.sum(~np.isclose(a, b, rtol=rtol, atol=rtol * float(np.max(np.abs(b), initial=0.0)))))
        raise CheckFailure(
            f"{_where(func, case)}: {what} differs (relative error {err:.2e} > {rtol:.0e}); "
            f"worst at index {index}: {_pair(b[worst], a[worst])}; "
            f"{n_off} of {a.size} elements off{_dtypes(arr, expected)}")
    return arr


def _pair(expected: float, got: float) -> str:
    """"expected X, got Y" with 6 significant digits, or as many more (up to 17) as it takes to
    show that the two differ."""
    for digits in range(6, 18):
        e, g = f"{expected:.{digits}g}", f"{got:.{digits}g}"
        if e != g:
            break
    return f"expected {e}, got {g}"


def _dtypes(got: np.ndarray, expected: np.ndarray) -> str:
    """A dtype difference named (a float32 result often explains a small relative error)."""
    return f" (dtype {got.dtype}, expected {expected.dtype})" if got.dtype != expected.dtype else ""


def expect_raises(exc_type: type, call: Callable[[], object], *, func: str, case: str = "") -> None:
    """Pass when `call()` makes the student raise `exc_type`; otherwise say what happened."""
    head = _where(func, case)
    try:
        value = call()
    except exc_type:
        return
    except StudentRaised as exc:
        raise CheckFailure(f"{head}: should raise {exc_type.__name__}, raised {clip(exc.type_name, QUOTE_LIMIT)}"
                           + (f": {clip(exc.message, QUOTE_LIMIT)}" if exc.message else "")) from None
    except StudentError as exc:
        raise CheckFailure(f"{head}: should raise {exc_type.__name__}; instead: {exc}") from None
    summary = (f"an array of shape {value.shape}" if isinstance(value, np.ndarray)
               else f"a {type(value).__name__}")
    raise CheckFailure(f"{head}: should raise {exc_type.__name__}, but returned {summary}")
