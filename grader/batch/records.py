"""What the batch knows of each student: their record (how the grading went, its result, what it
was graded from) and their row (the entry with its record, as the gradebook, the summary and the
console read it).

A record's on-disk form (``.batch/state/<folder>.json``, see ``store``) is ``StudentRecord.to_dict``:
the bookkeeping fields below and, under ``"result"``, the student's results.json data
(``reports.results_json.results_dict``), read back with ``GradingResult.from_dict``. So a
student kept from an earlier run reads exactly like one graded in this run, and no one reads
results.json back.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .. import __version__
from ..models import AssignmentResult, GradingResult, GradingStatus
from ..reports.results_json import results_dict
from .discovery import Entry, display_name
from .worker import WorkerStats

STATE_VERSION = 2  # 2: the result inside the record (1 kept per-assignment scores only)


@dataclass
class StudentRecord:
    student: str                       # the student's id
    folder: str                        # their folder under DIR
    status: GradingStatus              # graded, empty, refused or error
    result: GradingResult              # what their results.json holds (strings cleaned)
    reason: str = ""                   # one line; "" when graded without trouble
    entry: str = ""                    # the entry's name in SUBMISSIONS_DIR
    fingerprint: str = ""              # of the entry's content (``fingerprint.entry_fingerprint``)
    grading_key: str = ""              # of everything else the result depends on (``fingerprint.grading_key``)
    run_id: str = ""                   # the batch run that graded it
    graded_at: str = ""                # ISO 8601, UTC
    seconds: float = 0.0               # wall-clock time of the grading (worker side)
    worker: WorkerStats = field(default_factory=WorkerStats)

    def to_dict(self) -> dict:
        return {"state_version": STATE_VERSION, "student": self.student, "folder": self.folder,
                "entry": self.entry, "status": str(self.status), "reason": self.reason,
                "fingerprint": self.fingerprint, "grading_key": self.grading_key, "run_id": self.run_id,
                "graded_at": self.graded_at, "seconds": round(self.seconds, 3), "worker": asdict(self.worker),
                "result": results_dict(self.result)}

    @classmethod
    def from_dict(cls, data: dict) -> "StudentRecord":
        """The record `to_dict` wrote; raises KeyError, TypeError or ValueError for anything else
        (an unknown ``state_version`` included)."""
        if data.get("state_version") != STATE_VERSION:
            raise ValueError(f"state version {data.get('state_version')!r}, not {STATE_VERSION}")
        return cls(student=data["student"], folder=data["folder"], status=GradingStatus(data["status"]),
                   result=GradingResult.from_dict(data["result"], submission=display_name(data["student"])),
                   reason=data.get("reason", ""), entry=data.get("entry", ""),
                   fingerprint=data.get("fingerprint", ""), grading_key=data.get("grading_key", ""),
                   run_id=data.get("run_id", ""), graded_at=data.get("graded_at", ""),
                   seconds=float(data.get("seconds", 0.0)), worker=WorkerStats(**data.get("worker", {})))


def not_graded(submission: str, reason: str, assignments: list[tuple[str, str]],
               seconds: float = 0.0) -> GradingResult:
    """The result of a student who could not be graded: each assignment (name, title) carries
    `reason` as its error, so scores 0."""
    return GradingResult(submission=submission,
                         assignments=[AssignmentResult(name=n, title=t, tests=[], error=reason)
                                      for n, t in assignments],
                         sandbox="not run", device="not run", version=__version__, seconds=seconds)


@dataclass
class StudentRow:
    """One student of the batch: their entry and their record (None: nothing submitted)."""
    entry: Entry
    record: StudentRecord | None = None
    fresh: bool = False                # graded (or refused) in this run, not kept from an earlier one

    @property
    def status(self) -> GradingStatus:
        return GradingStatus.MISSING if self.record is None else self.record.status

    @property
    def result(self) -> GradingResult | None:
        return None if self.record is None else self.record.result

    @property
    def reason(self) -> str:
        if self.record is None:
            return "no submission"
        return "; ".join(part for part in (self.record.reason, self.entry.note) if part)

    @property
    def ambiguous(self) -> bool:
        """Graded from one of several different copies of a file (the instructor should look)."""
        return self.record is not None and self.record.result.ambiguous

    @property
    def needs_a_look(self) -> bool:
        """Refused, empty, a grader error, or graded with an assignment that could not be graded
        or whose file was ambiguous."""
        return self.status in (GradingStatus.REFUSED, GradingStatus.ERROR, GradingStatus.EMPTY) or (
            self.status == GradingStatus.GRADED and bool(self.reason))

    def score(self, assignment: str) -> float | None:
        """Points in `assignment`: None for a grader error, 0 when not graded."""
        if self.status == GradingStatus.ERROR:
            return None
        if self.record is None or self.status != GradingStatus.GRADED:
            return 0.0
        return next((a.score for a in self.record.result.assignments if a.name == assignment), 0.0)

    def total(self, assignments: list[str]) -> float | None:
        scores = [self.score(a) for a in assignments]
        return None if any(s is None for s in scores) else sum(scores)
