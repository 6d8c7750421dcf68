"""The results of grading, as plain data: one model from the pipeline to every report.

``GradingResult`` (one submission) holds an ``AssignmentResult`` per assignment, which holds a
``TestResult`` per test. ``GradingResult.to_dict`` / ``GradingResult.from_dict`` are the one
mapping between this model and the results.json format (the keys are listed in
``grader.reports.results_json``). The model does no I/O, no sanitising and no rendering: the
reports clean its strings (``grader.reports.sanitize``) and write the files.

``GradingStatus`` is how a student's grading ended (graded, empty, refused, error, missing: the
last three in a batch only);
``TestStatus`` is a test's verdict. Both are ``str`` enums, so they compare equal to, print as
and serialise as their values ("passed", "graded", ...).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

TEXT_FORMAT = "text"  # Gradescope's output formats: text, html, simple_format (its default), md, ansi


class _TextEnum(str, Enum):
    def __str__(self) -> str:
        return self.value


class TestStatus(_TextEnum):
    __test__ = False   # not a pytest test class
    PASSED = "passed"
    FAILED = "failed"


class GradingStatus(_TextEnum):
    GRADED = "graded"      # the grader ran the tests (assignments it could not grade carry an error)
    EMPTY = "empty"        # no file for any assignment in the submission (every assignment "missing file")
    REFUSED = "refused"    # the intake refused the entry (unsafe archive, a link, no usable file...)
    ERROR = "error"        # the grader itself failed on this student
    MISSING = "missing"    # a roster student without a submission


@dataclass
class Attachment:
    kind: str          # "svg" | "png" (base64) | "text"
    title: str
    data: str


@dataclass
class TestResult:
    __test__ = False   # not a pytest test class
    name: str
    number: str        # "<assignment>.<n>", e.g. "conv.4"
    assignment: str
    max_score: float
    passed: bool
    visibility: str    # "visible" | "after_due_date" | "hidden" | "after_published"
    output: str = ""
    tags: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)   # not in results.json
    seconds: float = 0.0                                          # not in results.json

    @property
    def score(self) -> float:
        return self.max_score if self.passed else 0.0

    @property
    def status(self) -> TestStatus:
        return TestStatus.PASSED if self.passed else TestStatus.FAILED

    @property
    def public(self) -> bool:
        return self.visibility == "visible"

    def to_dict(self) -> dict:
        return {"name": self.name, "number": self.number, "score": self.score, "max_score": self.max_score,
                "status": str(self.status), "visibility": self.visibility, "output": self.output,
                "output_format": TEXT_FORMAT, "name_format": TEXT_FORMAT, "tags": list(self.tags),
                "assignment": self.assignment}

    @classmethod
    def from_dict(cls, data: dict) -> "TestResult":
        return cls(name=data["name"], number=data["number"], assignment=data["assignment"],
                   max_score=float(data["max_score"]), passed=data["status"] == TestStatus.PASSED,
                   visibility=data["visibility"], output=data.get("output", ""), tags=list(data.get("tags", [])))


@dataclass
class AssignmentResult:
    name: str
    title: str                        # not in results.json (read back, it is the name)
    tests: list[TestResult]
    error: str | None = None          # one line: why it could not be graded at all
    public_only: bool = False
    hidden_points: float | None = None  # points in hidden tests not run (student self-check)
    seconds: float = 0.0              # not in results.json
    graded_path: str | None = None    # the submission's file graded ("hw3/Conv.py"), None when none was
    notes: list[str] = field(default_factory=list)       # how it was found (another case, a notebook...)
    candidates: list[str] = field(default_factory=list)  # every copy found, when there were several
    ambiguous: bool = False           # several different copies: the instructor should look
    diagnoses: list[str] = field(default_factory=list)   # "Likely mistake: <explanation> (<functions>)"

    @property
    def max_score(self) -> float:
        return sum(t.max_score for t in self.tests)

    @property
    def score(self) -> float:
        return 0.0 if self.error else sum(t.score for t in self.tests)

    def to_dict(self) -> dict:
        """This assignment's entry in results.json's "assignments" (its tests are listed apart)."""
        return {"name": self.name, "score": self.score, "max_score": self.max_score, "error": self.error,
                "public_only": self.public_only, "hidden_points": self.hidden_points,
                "graded_path": self.graded_path, "notes": list(self.notes), "candidates": list(self.candidates),
                "ambiguous": self.ambiguous, "diagnoses": list(self.diagnoses)}

    @classmethod
    def from_dict(cls, data: dict, tests: list[TestResult]) -> "AssignmentResult":
        return cls(name=data["name"], title=data["name"], tests=tests, error=data.get("error"),
                   public_only=bool(data.get("public_only", False)), hidden_points=data.get("hidden_points"),
                   graded_path=data.get("graded_path"), notes=[str(n) for n in data.get("notes") or []],
                   candidates=[str(c) for c in data.get("candidates") or []],
                   ambiguous=bool(data.get("ambiguous", False)),
                   diagnoses=[str(d) for d in data.get("diagnoses") or []])


@dataclass
class GradingResult:
    submission: str                   # not in results.json (read back: what the reader passes)
    assignments: list[AssignmentResult]
    sandbox: str                      # "bubblewrap" | "basic" | "not run"
    device: str                       # "cpu" | "gpu (...)" | "not run"
    version: str
    seconds: float = 0.0
    isolation: dict = field(default_factory=dict)  # the sandbox's Isolation.as_dict(): what was in force
    status: GradingStatus = GradingStatus.GRADED   # graded, or empty (no file for any assignment)
    ignored: list[str] = field(default_factory=list)  # what the intake left out (venv/, data files), summarised

    @property
    def ambiguous(self) -> bool:
        return any(a.ambiguous for a in self.assignments)

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

    def to_dict(self) -> dict:
        """The results.json data of this result, strings as they are (see the module docstring)."""
        return {
            "score": round(self.score, 6),
            "max_score": round(self.max_score, 6),
            "execution_time": round(self.seconds, 3),
            "output_format": TEXT_FORMAT,
            "test_output_format": TEXT_FORMAT,
            "test_name_format": TEXT_FORMAT,
            "tests": [t.to_dict() for t in self.tests],
            "assignments": [a.to_dict() for a in self.assignments],
            "status": str(self.status),
            "ignored": list(self.ignored),
            "grader": {"version": self.version, "sandbox": self.sandbox, "device": self.device,
                       "isolation": dict(self.isolation)},
        }

    @classmethod
    def from_dict(cls, data: dict, submission: str = "") -> "GradingResult":
        """The result `to_dict` wrote (what results.json does not hold gets its default: titles
        are the assignment names, no attachments, no per-test or per-assignment seconds).

        Raises KeyError, TypeError or ValueError for data that is not such a dictionary."""
        tests = [TestResult.from_dict(t) for t in data["tests"]]
        assignments = [AssignmentResult.from_dict(a, [t for t in tests if t.assignment == a["name"]])
                       for a in data["assignments"]]
        grader = data["grader"]
        return cls(submission=submission, assignments=assignments, sandbox=grader["sandbox"],
                   device=grader["device"], version=grader["version"], seconds=float(data["execution_time"]),
                   isolation=dict(grader.get("isolation") or {}),
                   status=GradingStatus(data.get("status", GradingStatus.GRADED)),
                   ignored=[str(i) for i in data.get("ignored") or []])
