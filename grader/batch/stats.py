"""The class in numbers, computed once per batch: each assignment's score distribution over the
graded students (``AssignmentStats``, shown by the console and the summary) and each test's
pass rate (``TestStats``, shown by the summary)."""
from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field

from ..models import GradingStatus
from ..reports.feedback import diagnoses
from .records import StudentRow


@dataclass
class AssignmentStats:
    name: str
    title: str
    max_score: float
    scores: list[float]                # one per graded student (a grader error has none)

    @property
    def count(self) -> int:
        return len(self.scores)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.scores) if self.scores else 0.0

    @property
    def median(self) -> float:
        return statistics.median(self.scores) if self.scores else 0.0

    @property
    def low(self) -> float:
        return min(self.scores, default=0.0)

    @property
    def high(self) -> float:
        return max(self.scores, default=0.0)

    @property
    def full_marks(self) -> int:
        return sum(s >= self.max_score for s in self.scores) if self.max_score else 0

    def histogram(self, bins: int) -> list[int]:
        """Students per bin of `bins` equal bins of [0, max_score] (the top bin includes the maximum)."""
        counts = [0] * bins
        for s in self.scores:
            k = int(bins * s / self.max_score) if self.max_score > 0 else 0
            counts[min(max(k, 0), bins - 1)] += 1
        return counts


@dataclass
class TestStats:
    __test__ = False   # not a pytest test class
    number: str
    name: str
    assignment: str
    attempts: int = 0
    passed: int = 0
    failed_by: list[StudentRow] = field(default_factory=list)   # the students who failed it

    @property
    def failed(self) -> int:
        return self.attempts - self.passed

    @property
    def pass_rate(self) -> float:
        return self.passed / self.attempts if self.attempts else 0.0


def graded(rows: list[StudentRow]) -> list[StudentRow]:
    return [r for r in rows if r.status == GradingStatus.GRADED]


def assignment_stats(rows: list[StudentRow], assignments: list[tuple[str, str]],
                     maxima: dict[str, float]) -> list[AssignmentStats]:
    """One ``AssignmentStats`` per assignment (name, title), over the graded students."""
    stats = []
    for name, title in assignments:
        scores = [r.score(name) for r in graded(rows)]
        stats.append(AssignmentStats(name, title, maxima.get(name, 0.0), [s for s in scores if s is not None]))
    return stats


def pass_rates(rows: list[StudentRow], assignment_names: list[str]) -> list[TestStats]:
    """Every test's pass rate among the graded students whose file for its assignment could be
    graded (a missing or broken file says nothing about the test), the most failed first."""
    tests: dict[str, TestStats] = {}
    for row in graded(rows):
        failed_assignments = {a.name for a in row.result.assignments if a.error}
        for t in row.result.tests:
            if t.assignment in failed_assignments:
                continue
            entry = tests.setdefault(t.number, TestStats(t.number, t.name, t.assignment))
            entry.attempts += 1
            entry.passed += t.passed
            if not t.passed:
                entry.failed_by.append(row)
    order = {name: k for k, name in enumerate(assignment_names)}
    return sorted(tests.values(), key=lambda t: (-(t.failed / t.attempts if t.attempts else 0),
                                                 order.get(t.assignment, len(order)), _number_key(t.number)))


def _number_key(number: str) -> tuple:
    """Sort key of a test number: its numeric parts ("conv.10" after "conv.9")."""
    return tuple(int(p) if p.isdigit() else 0 for p in number.split(".")[1:])


@dataclass
class MistakeStats:
    assignment: str
    text: str                                   # the diagnosis, as the reports show it
    students: list[StudentRow] = field(default_factory=list)


def common_mistakes(rows: list[StudentRow], assignment_names: list[str]) -> list[MistakeStats]:
    """Each diagnosis ("Likely mistake: ...") with the graded students it was made for, the most
    frequent first."""
    found: dict[tuple[str, str], MistakeStats] = {}
    for row in graded(rows):
        for a in row.result.assignments:
            for text in diagnoses(a):
                found.setdefault((a.name, text), MistakeStats(a.name, text)).students.append(row)
    order = {name: k for k, name in enumerate(assignment_names)}
    return sorted(found.values(), key=lambda m: (-len(m.students), order.get(m.assignment, len(order)), m.text))


_TIMEOUT = re.compile(r"did not return within|is used up")   # grader.sandbox.proxy's StudentTimeout texts


def timed_out(row: StudentRow) -> list[str]:
    """The numbers of the tests in which a call of this student's ran out of time."""
    return [t.number for t in row.result.tests if not t.passed and _TIMEOUT.search(t.output or "")] \
        if row.status == GradingStatus.GRADED else []
