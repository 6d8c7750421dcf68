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
such a function's outputs are samples (large arrays of independent draws, ``Behaviour`` in law.py), the
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

import time

import numpy as np

from ..course import AssignmentSpec
from ..mistakes import (
    Mistake,
    catalogue,
    catalogue_file,
    changed_functions,
    variant_module,
)
from .law import FRESH_SEED, Behaviour, law_distance
from .outcomes import Call, Raised, builtin_kind, close, run

FAR = 100                                  # a variant must differ from the reference by FAR x the tolerance
MAX_CALLS = 24                             # recorded calls examined per assignment
BUDGET_SECONDS = 10.0                      # wall time per assignment for the examination


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
        expected = run(reference, call)
        if close(call.result, expected):
            continue   # the student agrees with the reference here: nothing to explain
        behaviour = None
        for mistake, module, _ in candidates:
            if time.monotonic() > deadline:
                break
            outcome = run(module, call)
            if close(outcome, expected, FAR):
                continue   # the mistake makes no difference on these inputs
            if explains(call.result, outcome, expected):
                verdict = True
            else:
                behaviour = behaviour or Behaviour(reference, call, expected, seeds)
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


def explains(student, variant, expected) -> bool:
    """Whether the student's outcome is the variant's wherever the variant's differs from the
    reference's: all of it, or, for a tuple/list/dict (dx, dw, db), each part the mistake changes,
    so that a second, unrelated bug in another part does not hide the first."""
    if close(student, variant):
        return True
    parts = _parts(student, variant, expected)
    changed = [(s, v, e) for s, v, e in parts if not close(v, e, FAR)]
    return bool(changed) and all(explains(*p) for p in changed)


def _parts(*values) -> list[tuple]:
    if all(isinstance(v, (tuple, list)) for v in values) and len({len(v) for v in values}) == 1:
        return list(zip(*values))
    if all(isinstance(v, dict) for v in values) and all(v.keys() == values[0].keys() for v in values):
        return [tuple(v[k] for v in values) for k in values[0]]
    return []


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


__all__ = ["Call", "Raised", "builtin_kind", "close", "diagnose", "explains", "law_distance"]
