"""Speed judged by the grader: student vs reference, same inputs, same path, same run.

The reference runs in a child of its own, called through the same pipes, frames and serve loop
as the student's, with the same limits and one BLAS thread (a fork of the grader on the CPU:
``sandbox/forked.py``; a sandbox like the student's on a GPU), and the grader times every call
itself from outside, so the student cannot report its own time. Calls alternate between the two,
each round on fresh random inputs, and the medians are compared as a ratio. Every output the
student was timed on is checked against the reference's output for the same input, so skipping
work does not pay. A student call that runs past twice the allowed ratio is stopped there (a
loop implementation fails in bounded time).

What the student cannot steer: the timed inputs come from a generator seeded with fresh OS
entropy in every grading (not from the test's seeded generator), so they cannot be predicted
and precomputed; and the student's whole sandbox is frozen while the reference is timed, so
nothing it left running in the background can slow the reference down.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..sandbox.errors import StudentTimeout
from ..sandbox.proxy import SandboxedModule
from .compare import assert_close
from .failure import CheckFailure

MIN_LIMIT = 0.2   # seconds: never stop a call sooner (process scheduling noise on a busy machine)
# Clearly fast enough: once EARLY_ROUNDS timed rounds each had a ratio at most the threshold
# divided by EARLY_MARGIN, the remaining rounds are not run. For the median of all rounds to
# exceed the threshold, most of the remaining ones would have to be EARLY_MARGIN times slower
# than every round so far, on fresh inputs whose outputs are checked: no honest implementation
# does that (the reference against itself: ratios 0.8-1.2), and a slow one (the loops: ratio
# 100 or more) never gets that far. The honest ones pay 3 rounds instead of 7.
EARLY_ROUNDS = 3
EARLY_MARGIN = 4


@dataclass(frozen=True)
class SpeedResult:
    func: str
    case: str
    reference_median: float
    student_median: float
    threshold: float
    rounds: int = 0

    @property
    def ratio(self) -> float:
        return self.student_median / self.reference_median

    def describe(self) -> str:
        return (f"{self.func} ({self.case}): median {self.student_median * 1e3:.2f} ms vs reference "
                f"{self.reference_median * 1e3:.2f} ms, ratio {self.ratio:.1f} (allowed {self.threshold:g}; "
                f"{self.rounds} timed rounds)")


def _outputs(value) -> list[np.ndarray]:
    """The arrays in a result (a single array or a tuple/list of arrays), in order."""
    return list(value) if isinstance(value, (tuple, list)) else [value]


class SpeedJudge:
    def __init__(self, student: SandboxedModule, reference: SandboxedModule,
                 note: Callable[[str], None] = lambda text: None):
        self.student, self.reference, self.note = student, reference, note

    def _time_reference(self, func: str, args: tuple, kwargs: dict):
        """Time the reference with every process of the student's sandbox suspended."""
        with self.student.frozen():
            return self.reference.timed_call(func, args, kwargs, timeout=60.0)

    def compare(self, func: str, make_case: Callable[[np.random.Generator], tuple[tuple, dict]], *,
                threshold: float, case: str, repeats: int = 7, rtol: float = 1e-6,
                outputs: tuple[str, ...] = ()) -> SpeedResult:
        """Fail unless median(student) / median(reference) <= threshold on `make_case` inputs.

        `make_case(rng)` is called once per round with a generator seeded from fresh OS entropy.
        Its inputs must hold no case that a rule of the assignment treats apart (a tie at a max
        pooling window's maximum): the outputs are compared, and a chance hit would fail a
        student for that rule here, where the test names only speed (tests of its own judge it).
        `repeats` timed rounds after a warm-up one, fewer when the first EARLY_ROUNDS are each
        within threshold / EARLY_MARGIN.
        `outputs` names the parts of a tuple result in messages (("dx", "dw", "db")).

        rtol 1e-6 for the outputs: both sides compute in float64 on identical inputs; only the
        order of summation differs.
        """
        fresh = np.random.default_rng()  # OS entropy: unpredictable, different in every grading
        ref_times: list[float] = []
        stu_times: list[float] = []
        for round_no in range(repeats + 1):  # round 0 warms both up (imports, allocator, BLAS)
            args, kwargs = make_case(fresh)
            ref_first = round_no % 2 == 0
            if ref_first:
                ref_t, expected = self._time_reference(func, args, kwargs)
            # round 0 is always reference-first, so a reference time exists from then on
            limit = max(2 * threshold * statistics.median(ref_times or [ref_t]), MIN_LIMIT)
            try:
                stu_t, got = self.student.timed_call(func, args, kwargs, timeout=limit)
            except StudentTimeout:
                raise CheckFailure(
                    f"{func} ({case}): stopped after {limit * 1e3:.0f} ms, more than {2 * threshold:g}× the "
                    f"reference's median {statistics.median(ref_times or [ref_t]) * 1e3:.2f} ms "
                    f"(allowed ratio {threshold:g}); vectorise the loops") from None
            if not ref_first:
                ref_t, expected = self._time_reference(func, args, kwargs)
            exp_parts, got_parts = _outputs(expected), _outputs(got)
            if len(got_parts) != len(exp_parts):
                raise CheckFailure(f"{func} ({case}): returned {len(got_parts)} value(s) in a timed call, expected {len(exp_parts)}")
            for k, (g, e) in enumerate(zip(got_parts, exp_parts)):
                what = ("output" if len(exp_parts) == 1 else
                        outputs[k] if len(outputs) == len(exp_parts) else f"output {k}")
                assert_close(g, e, func=func, case=f"{case}, timed call {round_no}", rtol=rtol, what=what)
            if round_no:
                ref_times.append(ref_t)
                stu_times.append(stu_t)
                if len(ref_times) >= EARLY_ROUNDS and all(
                        s <= r * threshold / EARLY_MARGIN for s, r in zip(stu_times, ref_times)):
                    break
        result = SpeedResult(func, case, statistics.median(ref_times), statistics.median(stu_times), threshold,
                             len(ref_times))
        self.note(result.describe())
        if result.ratio > threshold:
            raise CheckFailure(result.describe() + ": too slow")
        return result
