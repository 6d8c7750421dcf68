"""What a student should fix first, read from an ``AssignmentResult``: its diagnoses ("Likely
mistake: ...") and its failed tests grouped by the function they name, for the reports, the
self-check in a terminal and the class summary alike.

A failure message names its function and case first (``conv2d_forward (N1-C1-H4-W5, ...): ...``,
see ``grader.checks``); the group's first test is the most informative one (a public test, which
the student can run, before a hidden one; then the earliest), the others are listed by case.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..models import AssignmentResult, TestResult

_FUNCTION = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?=[(:\[])")
# "maxpool_backward raised SystemExit: 0", "conv2d_forward did not return within 10 s": the
# sandbox's own messages name the function and say what happened to the call
_FUNCTION_VERB = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*) (?=raised |returned |did not |ran out |has no |exited |"
                            r"is not |should |sent |was |took )")
_SNAKE_CASE = re.compile(r"\s*([A-Za-z]\w*_\w*) ")          # a test named after its function
_NOT_FUNCTIONS = {"failed", "error", "errors", "note", "warning", "passed", "skipped"}   # "failed: ..."
_TRAILING_ID = re.compile(r"\[([A-Za-z_]\w*)\]\s*$")         # "... [conv2d_forward_naive]"
_PREFIX = re.compile(r"^likely mistake:\s*", re.IGNORECASE)   # the reports write it themselves
CASE_LIMIT = 60


@dataclass
class FailureGroup:
    function: str
    tests: list[TestResult] = field(default_factory=list)   # the most informative first

    @property
    def first(self) -> TestResult:
        return self.tests[0]

    @property
    def others(self) -> list[TestResult]:
        return self.tests[1:]

    @property
    def points_lost(self) -> float:
        return sum(t.max_score for t in self.tests)

    def other_cases(self, limit: int | None = None) -> str:
        """The other tests as "conv.13 (N1-C1-...), conv.15 (...)" for "and N more cases: ...",
        the first `limit` of them (then "…") when a limit is given."""
        shown = self.others if limit is None else self.others[:limit]
        text = ", ".join(f"{t.number} ({case_of(t)})" if case_of(t) else t.number for t in shown)
        return text + (", …" if len(shown) < len(self.others) else "")


def diagnoses(assignment: AssignmentResult) -> list[str]:
    """The assignment's "likely mistake" lines (none before the grader computes them)."""
    lines = [str(d).strip() for d in getattr(assignment, "diagnoses", None) or []]
    return [_PREFIX.sub("", line, count=1) for line in lines if line]


def function_of(test: TestResult) -> str:
    """The function a failed test names at the start of its message (before its case, or before
    what happened to the call: "raised", "did not return", ...), else the one its name names (its
    first word, or a bracketed parameter id such as "[conv2d_forward]"), else "other"."""
    for text in (test.output, test.name):
        match = _FUNCTION.match(text or "") or _FUNCTION_VERB.match(text or "")
        if match and match.group(1).lower() not in _NOT_FUNCTIONS:
            return match.group(1)
    name = test.name or ""
    match = _TRAILING_ID.search(name) or _SNAKE_CASE.match(name)
    return match.group(1) if match else "other"


def case_of(test: TestResult) -> str:
    """The case in brackets after the function in the message ("N1-C1-H4-W5-D1-F3-S1-P0, ..."),
    clipped; "" when there is none."""
    text = test.output or ""
    match = _FUNCTION.match(text)
    start = match.end() if match else len(text)
    if not text[start:start + 1] == "(":
        return ""
    depth = 0
    for end in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[end], 0)
        if depth == 0:
            case = " ".join(text[start + 1:end].split())
            return case if len(case) <= CASE_LIMIT else case[:CASE_LIMIT - 1] + "…"
    return ""


def failure_groups(assignment: AssignmentResult) -> list[FailureGroup]:
    """The failed tests by function, in the order their functions first fail (none when the
    assignment could not be graded: its reason is given once)."""
    if assignment.error:
        return []
    groups: dict[str, FailureGroup] = {}
    for test in assignment.tests:
        if not test.passed:
            groups.setdefault(function_of(test), FailureGroup(function_of(test))).tests.append(test)
    for group in groups.values():
        group.tests.sort(key=lambda t: not t.public)   # stable: the earliest public test first
    return list(groups.values())


def passed_tests(assignment: AssignmentResult) -> list[TestResult]:
    return [t for t in assignment.tests if t.passed]
