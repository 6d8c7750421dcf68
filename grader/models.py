"""Plain data produced by grading. No I/O and no rendering here (see ``grader.reports``)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Attachment:
    kind: str          # "svg" | "png" (base64) | "text"
    title: str
    data: str


@dataclass
class TestResult:
    name: str
    number: str
    assignment: str
    max_score: float
    passed: bool
    visibility: str    # "visible" | "after_due_date" | "hidden" | "after_published"
    output: str = ""
    tags: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def score(self) -> float:
        return self.max_score if self.passed else 0.0

    @property
    def status(self) -> str:
        return "passed" if self.passed else "failed"

    @property
    def public(self) -> bool:
        return self.visibility == "visible"


@dataclass
class AssignmentResult:
    name: str
    title: str
    tests: list[TestResult]
    error: str | None = None          # one line: why it could not be graded at all
    public_only: bool = False
    hidden_points: float | None = None  # points in hidden tests not run (student self-check)
    seconds: float = 0.0

    @property
    def max_score(self) -> float:
        return sum(t.max_score for t in self.tests)

    @property
    def score(self) -> float:
        return 0.0 if self.error else sum(t.score for t in self.tests)


@dataclass
class GradingResult:
    submission: str
    assignments: list[AssignmentResult]
    sandbox: str                      # "bubblewrap" | "basic"
    device: str                       # "cpu" | "gpu (...)"
    version: str
    seconds: float = 0.0
    isolation: dict = field(default_factory=dict)  # launcher.Isolation.as_dict(): what was in force

    @property
    def isolation_summary(self) -> str:
        """One line naming the isolation in force (mode, uid, seccomp, fences)."""
        return str(self.isolation.get("summary") or self.sandbox)

    @property
    def score(self) -> float:
        return sum(a.score for a in self.assignments)

    @property
    def max_score(self) -> float:
        return sum(a.max_score for a in self.assignments)

    @property
    def tests(self) -> list[TestResult]:
        return [t for a in self.assignments for t in a.tests]
