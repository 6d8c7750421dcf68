"""`grader validate --mistakes [NAME]`: grade every catalogued mistake (solutions/<name>/mistakes.py)
and say, per entry, whether the tests catch it, the points it loses, the tests that catch it, the
tests it fails beyond its declared ones (specificity), and whether the diagnosis names it. Exit 1
when an entry is not caught, no longer applies, or a failure message does not name the function."""
from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..files import atomic_write
from ..mistakes import Mistake, MistakeError, catalogue
from ..models import AssignmentResult
from ..pipeline import grade_submission
from .common import course_of, options_of


@dataclass
class Verdict:
    assignment: str
    mistake: Mistake
    result: AssignmentResult | None = None
    problem: str = ""                                   # the entry could not be graded
    catching: list[str] = field(default_factory=list)   # declared tests that fail
    hidden_catching: list[str] = field(default_factory=list)   # those of them that are hidden
    hidden_points_lost: float = 0.0
    extra: list[str] = field(default_factory=list)      # failing tests neither declared nor tolerated
    passed_declared: list[str] = field(default_factory=list)
    unnamed: list[str] = field(default_factory=list)    # failures whose message names no function
    seconds: float = 0.0

    @property
    def caught(self) -> bool:
        return not self.problem and bool(self.catching)

    @property
    def named_diagnoses(self) -> list[str]:
        return [] if self.result is None else list(self.result.diagnoses)

    @property
    def diagnosed(self) -> bool:
        return self.result is not None and any(d.startswith(self.mistake.diagnosis) for d in self.result.diagnoses)

    @property
    def points_lost(self) -> float:
        return 0.0 if self.result is None else self.result.max_score - self.result.score

    @property
    def ok(self) -> bool:
        return self.caught and not self.unnamed


def judge(spec, course, mistake: Mistake, options, functions: list[str]) -> Verdict:
    """Grade the reference with `mistake` made, and compare what it lost with what it declares."""
    verdict = Verdict(spec.name, mistake)
    started = time.perf_counter()
    try:
        source = mistake.source(spec.solution_file.read_text())
    except MistakeError as exc:
        verdict.problem = str(exc)
        return verdict
    with tempfile.TemporaryDirectory(prefix="grader-mistake-") as tmp:
        atomic_write(Path(tmp) / spec.filename, source)
        result = grade_submission(Path(tmp), course, [spec.name], options).assignments[0]
    verdict.result, verdict.seconds = result, time.perf_counter() - started
    if result.error:
        verdict.problem = result.error
    for test in result.tests:
        declared = mistake.declared(test.name, test.tags)
        if not test.passed and declared:
            verdict.catching.append(("" if test.public else "hidden: ") + test.name)
            if not test.public:
                verdict.hidden_catching.append(test.name)
        elif not test.passed and not mistake.tolerated(test.name, test.tags):
            verdict.extra.append(test.name)
        elif test.passed and declared:
            verdict.passed_declared.append(test.name)
        if not test.passed and not test.public:
            verdict.hidden_points_lost += test.max_score
        if not test.passed and not any(f in test.output for f in functions):
            verdict.unnamed.append(test.name)
    return verdict


def _public_functions(spec) -> list[str]:
    import ast
    tree = ast.parse(spec.solution_file.read_text())
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")]


def _names(names: list[str], limit: int = 3) -> str:
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return "; ".join(names[:limit]) + more if names else "none"


def _points(n: float) -> str:
    return f"{n:g} point" + ("" if n == 1 else "s")


def report(verdict: Verdict) -> str:
    """The entry's lines: caught (by the hidden tests too?), points lost, named by the diagnosis
    (this entry, another, or nothing, and why), the catching tests, specificity, messages."""
    hidden = (f"hidden tests catch it too ({len(verdict.hidden_catching)}, {_points(verdict.hidden_points_lost)})"
              if verdict.hidden_catching else "NO hidden test catches it (only public ones)")
    head = (f"{verdict.assignment}/{verdict.mistake.name}: "
            + ("CAUGHT" if verdict.caught else "NOT CAUGHT")
            + f", {_points(verdict.points_lost)} lost; {hidden} ({verdict.seconds:.1f} s)")
    lines = [head]
    if verdict.problem:
        lines.append(f"    problem: {verdict.problem}")
    others = [d for d in verdict.named_diagnoses if not d.startswith(verdict.mistake.diagnosis)]
    if verdict.diagnosed:
        named = "named by the diagnosis" + (f" (also named: {_names(others, 2)})" if others else "")
    elif others:
        named = f"NOT named; the diagnosis names another: {_names(others, 2)}"
    else:
        named = ("not named (its outputs equal the reference's: only slower?)" if verdict.caught and all(
            "speed" in t.lower() or "fast" in t.lower() for t in verdict.catching) else "not named")
    lines.append(f"    {named}")
    lines.append(f"    caught by {len(verdict.catching)}: {_names(verdict.catching)}")
    lines.append(f"    other failing tests (specificity) {len(verdict.extra)}: {_names(verdict.extra)}")
    if verdict.passed_declared:
        lines.append(f"    declared but passed {len(verdict.passed_declared)}: {_names(verdict.passed_declared)}")
    if verdict.unnamed:
        lines.append(f"    failure messages naming no function {len(verdict.unnamed)}: {_names(verdict.unnamed)}")
    elif verdict.result is not None and not verdict.problem:
        lines.append("    every failure message names its function and case")
    return "\n".join(lines)


def validate_mistakes(args: argparse.Namespace) -> int:
    course = course_of(args)
    started, verdicts = time.perf_counter(), []
    for spec in course.select([args.name] if args.name else None):
        try:
            entries = catalogue(spec)
        except MistakeError as exc:
            print(f"{spec.name}: {exc}")
            return 1
        functions = _public_functions(spec)
        for mistake in entries:
            verdicts.append(judge(spec, course, mistake, options_of(args), functions))
            print(report(verdicts[-1]), flush=True)
        mine = [v for v in verdicts if v.assignment == spec.name]
        print(f"{spec.name}: {sum(v.caught for v in mine)} of {len(mine)} caught "
              f"({sum(bool(v.hidden_catching) for v in mine)} by hidden tests), "
              f"{sum(v.diagnosed for v in mine)} diagnosed, "
              f"{sum(not v.extra for v in mine)} specific (no failing test beyond the declared ones)")
    print(f"{len(verdicts)} mistakes in {time.perf_counter() - started:.0f} s: "
          f"{sum(v.caught for v in verdicts)} caught, {sum(v.diagnosed for v in verdicts)} diagnosed")
    return 0 if all(v.ok for v in verdicts) else 1
