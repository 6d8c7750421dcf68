"""Finite-difference gradient checks, in float64, on a scalar function of one array.

``loss`` is built by the test from the student's own forward (for example
``lambda x: float(np.sum(student.conv2d_forward(x, w, b) * g))``), so a backward is judged
against the forward it belongs to. Small arrays are checked element by element; large ones on
sampled coordinates plus random directional derivatives v·∇f ≈ (f(x+εv) − f(x−εv)) / 2ε, so the
cost stays a few dozen forward calls while a single wrong element still shows up in most
directions.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .compare import expect_array
from .failure import CheckFailure


NOISE_FACTOR = 100  # κ above: the rounding-error growth allowed for in one loss evaluation


def _pair_error(analytic: float, numeric: float, floor: float) -> float:
    return abs(analytic - numeric) / max(abs(analytic) + abs(numeric), floor)


def check_gradient(loss: Callable[[np.ndarray], float], x: np.ndarray, grad, *, func: str,
                   case: str, wrt: str, rng: np.random.Generator, rtol: float = 1e-5,
                   eps: float = 1e-6, max_elements: int = 64, n_directions: int = 4) -> None:
    """Check the analytic gradient `grad` of `loss` at `x` against centred differences.

    rtol 1e-5 with eps 1e-6 in float64: the truncation error is O(eps²) and a wrong formula is
    off by O(1). Rounding makes each centred difference uncertain by about κ·u·|f|/eps (u the
    float64 unit roundoff, κ ≲ 100 for the sums these losses are), which would dominate elements
    of tiny gradient; so elements are compared relative to at least the size that noise has at
    `rtol`: an absolute tolerance of NOISE_FACTOR·u·|f|/eps.
    """
    x = np.asarray(x, dtype=np.float64)
    analytic = expect_array(grad, func=func, case=case, shape=x.shape, what=f"gradient wrt {wrt}")
    analytic = analytic.astype(np.float64)

    def value_at(point: np.ndarray) -> float:
        value = float(loss(point))
        if not np.isfinite(value):
            raise CheckFailure(f"{func} ({case}): the forward gave a non-finite value during the gradient check")
        return value

    if x.size <= max_elements:
        coords = list(np.ndindex(x.shape))
    else:
        flat = rng.choice(x.size, size=max_elements, replace=False)
        coords = [np.unravel_index(int(i), x.shape) for i in flat]
    numeric = np.empty(len(coords))
    for k, idx in enumerate(coords):
        step = np.zeros_like(x)
        step[idx] = eps
        numeric[k] = (value_at(x + step) - value_at(x - step)) / (2 * eps)
    picked = np.array([analytic[idx] for idx in coords])
    noise = NOISE_FACTOR * np.finfo(np.float64).eps * abs(value_at(x)) / eps
    floor = max(1e-6 * max(float(np.max(np.abs(numeric), initial=0)), float(np.max(np.abs(picked), initial=0)), 1e-6),
                noise / rtol)
    errors = [_pair_error(a, n, floor) for a, n in zip(picked, numeric)]
    worst = int(np.argmax(errors)) if errors else 0
    if errors and errors[worst] > rtol:
        off = sum(e > rtol for e in errors)
        index = tuple(int(i) for i in coords[worst])
        raise CheckFailure(
            f"{func} ({case}): gradient wrt {wrt} disagrees with finite differences of your forward "
            f"at index {index}: analytic {picked[worst]:.6g}, numeric {numeric[worst]:.6g} "
            f"(relative error {errors[worst]:.1e} > {rtol:.0e}); {off} of {len(coords)} checked elements off")
    if x.size > max_elements:
        for _ in range(n_directions):
            v = rng.standard_normal(x.shape)
            v /= np.linalg.norm(v)
            num = (value_at(x + eps * v) - value_at(x - eps * v)) / (2 * eps)
            ana = float(np.sum(analytic * v))
            err = _pair_error(ana, num, floor)
            if err > rtol:
                raise CheckFailure(
                    f"{func} ({case}): gradient wrt {wrt} disagrees with finite differences of your "
                    f"forward along a random direction: analytic {ana:.6g}, numeric {num:.6g} "
                    f"(relative error {err:.1e} > {rtol:.0e})")
