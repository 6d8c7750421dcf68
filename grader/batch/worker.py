"""What a batch worker does with one student: grade the entry, return plain data.

Runs in a worker process (local pool or Dask worker), never in the parent; the parent writes
the files. Every failure becomes the student's outcome (refused: the intake said no; error:
the grader itself failed) so one bad submission never stops a batch.
"""
from __future__ import annotations

import atexit
import ctypes
import os
import resource
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..course import load_course
from ..intake import SubmissionError
from ..models import GradingResult, GradingStatus
from ..options import GradeOptions
from ..pipeline import KeptReferences, grade_submission

PR_SET_PDEATHSIG = 1
_ONE_AT_A_TIME = threading.Lock()  # grading uses process-wide state (stdout redirection, pytest)
_KEPT = KeptReferences()           # this worker's reference children, reused for every student
atexit.register(_KEPT.close)


@dataclass(frozen=True)
class Job:
    student: str
    folder: str
    entry: str                         # path of the entry in SUBMISSIONS_DIR
    course_root: str
    assignments: tuple[str, ...]
    options: GradeOptions


@dataclass
class WorkerStats:
    pid: int = 0
    host: str = ""
    peak_rss_kib: int = 0              # this worker process, over its life so far
    child_peak_rss_kib: int = 0        # the largest sandbox child it has waited for

    @classmethod
    def here(cls) -> "WorkerStats":
        return cls(pid=os.getpid(), host=socket.gethostname(),
                   peak_rss_kib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                   child_peak_rss_kib=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)


@dataclass
class Outcome:
    """What a worker sends back for one student (the store turns it into their record)."""
    student: str
    folder: str
    status: GradingStatus              # graded, empty, refused or error (never missing)
    reason: str = ""                   # one line; "" when graded without trouble
    result: GradingResult | None = None
    seconds: float = 0.0
    worker: WorkerStats = field(default_factory=WorkerStats)


def one_line(text: str, limit: int = 300) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def assignment_errors(result: GradingResult) -> str:
    """The assignments that could not be graded, with their one-line reasons, and those whose
    file was ambiguous (every copy named, and the one graded)."""
    parts = [f"{a.name}: {a.error}" for a in result.assignments if a.error]
    parts += [f"{a.name}: ambiguous, graded {a.graded_path} of {', '.join(a.candidates)}"
              for a in result.assignments if a.ambiguous]
    return "; ".join(parts)


def grade_job(job: Job) -> Outcome:
    """Grade one student (see the module docstring). Safe to call from any thread."""
    with _ONE_AT_A_TIME:
        started = time.perf_counter()
        try:
            course = load_course(Path(job.course_root))
            result = grade_submission(Path(job.entry), course, list(job.assignments), job.options, _KEPT)
            status = GradingStatus.EMPTY if result.status == GradingStatus.EMPTY else GradingStatus.GRADED
            reason = "empty submission: no file for any assignment" if status == GradingStatus.EMPTY \
                else assignment_errors(result)
            outcome = Outcome(job.student, job.folder, status, one_line(reason), result)
        except SubmissionError as exc:
            outcome = Outcome(job.student, job.folder, GradingStatus.REFUSED, one_line(f"refused: {exc}"))
        except Exception as exc:  # noqa: BLE001  (the grader failing on one student must not stop the batch)
            outcome = Outcome(job.student, job.folder, GradingStatus.ERROR,
                              one_line(f"grading failed: {type(exc).__name__}: {exc}"))
        outcome.seconds = time.perf_counter() - started
        outcome.worker = WorkerStats.here()
        return outcome


def init_local_worker(parent_pid: int) -> None:
    """Initialiser of a local pool worker: Ctrl-C is the parent's business, and the worker dies
    with the parent (a SIGKILLed batch leaves no worker grading for nobody)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os._exit(1)
