"""Finite-difference gradient checks, in float64, on a scalar function of one array.

Which forward ``loss`` is built from decides what the check can prove:

- Graded (hidden) checks differentiate a forward the student cannot influence, the reference
  imported in the grader (``lambda x: float(np.sum(reference.maxpool_forward(x) * g))``): the
  student's analytic gradient is judged against the true derivative. Differentiating the
  student's own forward could be rigged: a forward that recognises the probe calls (x ± ε next
  to the last backward's input) can make any backward look consistent.
- Public (self-check) checks differentiate the student's own forward, the lecture's exercise:
  a backward is judged against the forward it belongs to. Pass the dtype that forward returned
  (``forward_dtype``) so the rounding-noise floor is that dtype's and a float32 forward is named.

Small arrays are checked element by element; large ones on sampled coordinates plus random
directional derivatives v·∇f ≈ (f(x+εv) − f(x−εv)) / 2ε, so the cost stays a few dozen forward
calls while a single wrong element still shows up in most directions.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..sandbox.proxy import MAX_CALLS_PER_TRIP
from .compare import expect_array
from .failure import CheckFailure

NOISE_FACTOR = 100  # κ below: the rounding-error growth allowed for in one loss evaluation


def _pair_error(analytic: float, numeric: float, floor: float) -> float:
    return abs(analytic - numeric) / max(abs(analytic) + abs(numeric), floor)


def _precision(dtype) -> float:
    """Unit roundoff (machine epsilon) of a floating dtype; float64's for anything else."""
    dtype = np.dtype(dtype) if dtype is not None else np.dtype(np.float64)
    return float(np.finfo(dtype).eps) if dtype.kind == "f" else float(np.finfo(np.float64).eps)


def batched(module, func: str, arg_sets: list[tuple[tuple, dict]]) -> list:
    """``module.func(*args, **kwargs)`` for each (args, kwargs) in `arg_sets`: a sandboxed module
    (the student's) answers them in as few round trips as its cap allows (``call_many``), a
    module of the grader (the reference) in a plain loop."""
    many = getattr(module, "call_many", None)
    if many is None:
        return [getattr(module, func)(*args, **kwargs) for args, kwargs in arg_sets]
    return [r for start in range(0, len(arg_sets), MAX_CALLS_PER_TRIP)
            for r in many(func, arg_sets[start:start + MAX_CALLS_PER_TRIP])]


def check_gradient(loss: Callable[[np.ndarray], float] | None, x: np.ndarray, grad, *, func: str,
                   case: str, wrt: str, rng: np.random.Generator, rtol: float = 1e-5,
                   eps: float = 1e-6, max_elements: int = 64, n_directions: int = 4,
                   forward_dtype=None, of: str = "your forward",
                   losses: Callable[[list[np.ndarray]], list[float]] | None = None) -> None:
    """Check the analytic gradient `grad` of `loss` at `x` against centred differences.

    `of` names the forward `loss` is built from in messages ("your forward", "the reference
    maxpool_forward"). `forward_dtype` is the dtype that forward returned (None: float64).
    `losses`, if given, replaces `loss`: the loss at each of a list of points, so a sandboxed
    forward is evaluated at every point the check needs in one round trip (``batched``); the
    points and the verdict are the same.

    rtol 1e-5 with eps 1e-6 in float64: the truncation error is O(eps²) and a wrong formula is
    off by O(1). Rounding makes each centred difference uncertain by about κ·u·|f|/eps (u the
    unit roundoff of `forward_dtype`, κ ≲ 100 for the sums these losses are), which would
    dominate elements of tiny gradient; so elements are compared relative to at least the size
    that noise has at `rtol`: an absolute tolerance of NOISE_FACTOR·u·|f|/eps. A forward that
    returns a narrower dtype than `x` (float32 for float64 input) makes that noise ~10⁹ times
    larger, too large for any verdict on the gradient at this eps: the check then fails with a
    message that names the dtype and says whether the gradient agrees within that noise.
    """
    x_dtype = np.asarray(x).dtype
    x = np.asarray(x, dtype=np.float64)
    analytic = expect_array(grad, func=func, case=case, shape=x.shape, what=f"gradient wrt {wrt}")
    grad_dtype, analytic = analytic.dtype, analytic.astype(np.float64)
    narrowed = (forward_dtype is not None and np.dtype(forward_dtype).kind == "f" and x_dtype.kind == "f"
                and np.dtype(forward_dtype).itemsize < x_dtype.itemsize)

    if x.size <= max_elements:
        coords = list(np.ndindex(x.shape))
    else:
        flat = rng.choice(x.size, size=max_elements, replace=False)
        coords = [np.unravel_index(int(i), x.shape) for i in flat]
    directions = []
    if x.size > max_elements:   # drawn now, in the order the checks below use them
        for _ in range(n_directions):
            v = rng.standard_normal(x.shape)
            directions.append(v / np.linalg.norm(v))
    points = [x]
    for idx in coords:
        step = np.zeros_like(x)
        step[idx] = eps
        points += [x + step, x - step]
    for v in directions:
        points += [x + eps * v, x - eps * v]
    values = [float(v) for v in (losses(points) if losses is not None else [loss(p) for p in points])]
    if len(values) != len(points) or not np.all(np.isfinite(values)):
        raise CheckFailure(f"{func} ({case}): the forward gave a non-finite value during the gradient check")
    at_x, pairs = values[0], np.array(values[1:]).reshape(-1, 2)
    numeric = (pairs[:len(coords), 0] - pairs[:len(coords), 1]) / (2 * eps)
    picked = np.array([analytic[idx] for idx in coords])
    noise = NOISE_FACTOR * _precision(forward_dtype) * abs(at_x) / eps
    floor = max(1e-6 * max(float(np.max(np.abs(numeric), initial=0)), float(np.max(np.abs(picked), initial=0)), 1e-6),
                noise / rtol)
    head = f"{func} ({case}): "
    if grad_dtype.kind == "f" and x_dtype.kind == "f" and grad_dtype.itemsize < x_dtype.itemsize:
        head += f"the gradient wrt {wrt} is {grad_dtype.name} for {x_dtype.name} input; "   # say the likely cause first
    if narrowed:
        head += (f"{of} returned {np.dtype(forward_dtype).name} for {x_dtype.name} input, so its finite "
                 f"differences carry rounding noise up to about {noise:.1e}; return {x_dtype.name} "
                 f"for {x_dtype.name} input (allocate and compute in x's dtype). ")
    errors = [_pair_error(a, n, floor) for a, n in zip(picked, numeric)]
    worst = int(np.argmax(errors)) if errors else 0
    if errors and errors[worst] > rtol:
        off = sum(e > rtol for e in errors)
        index = tuple(int(i) for i in coords[worst])
        raise CheckFailure(
            f"{head}{'Even so, the ' if narrowed else ''}gradient wrt {wrt} disagrees with finite differences "
            f"of {of} at index {index}: analytic {picked[worst]:.6g}, numeric {numeric[worst]:.6g} "
            f"(relative error {errors[worst]:.1e} > {rtol:.0e}); {off} of {len(coords)} checked elements off")
    for v, (plus, minus) in zip(directions, pairs[len(coords):]):
        num = (plus - minus) / (2 * eps)
        ana = float(np.sum(analytic * v))
        err = _pair_error(ana, num, floor)
        if err > rtol:
            raise CheckFailure(
                f"{head}{'Even so, the ' if narrowed else ''}gradient wrt {wrt} disagrees with finite "
                f"differences of {of} along a random direction: analytic {ana:.6g}, numeric {num:.6g} "
                f"(relative error {err:.1e} > {rtol:.0e})")
    if narrowed:
        raise CheckFailure(f"{head}Within that noise the gradient wrt {wrt} agrees, but this check cannot "
                           f"tell whether it is right.")
