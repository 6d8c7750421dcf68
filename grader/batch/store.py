"""The batch's memory: what was graded, from which content, with which grader.

Layout under the output folder DIR (nothing is written elsewhere):

    DIR/<folder>/results.json, report.html, report.md   one student's reports
    DIR/.batch/state/<folder>.json                      that student's state record
    DIR/.batch/lock                                     held while a batch writes to DIR

A student's reports are written first, each atomically, and the state record last: a record
exists only for a student whose reports are complete, so a batch killed at any instant loses
at most the students in flight, and a rerun grades exactly the students without a current
record (a missing record, or one whose submission fingerprint or grading key differs).
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
from datetime import datetime, timezone
from pathlib import Path

from .. import __version__
from ..models import AssignmentResult, GradingResult
from ..reports import write_reports
from ..reports.render import atomic_write
from .discovery import BatchInputError, Entry
from .worker import Outcome

STATE_VERSION = 1


class Store:
    def __init__(self, out: Path):
        self.out = out
        self.state_dir = out / ".batch" / "state"

    @contextlib.contextmanager
    def locked(self):
        """Hold DIR's lock for the duration (two batches never write the same DIR at once)."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        handle = open(self.out / ".batch" / "lock", "a+")
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise BatchInputError(f"another batch is writing to {self.out}; "
                                      "wait for it or use another --out") from None
            _remove_stale_temporaries(self.state_dir)
            yield self
        finally:
            handle.close()

    def _state_path(self, folder: str) -> Path:
        return self.state_dir / f"{folder}.json"

    def load(self, folder: str) -> dict | None:
        try:
            state = json.loads(self._state_path(folder).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return state if isinstance(state, dict) and state.get("state_version") == STATE_VERSION else None

    def current(self, entry: Entry, fingerprint: str, key: str) -> dict | None:
        """The stored record when it is up to date for this content and this grader, else None."""
        state = self.load(entry.folder)
        if (state is None or state.get("fingerprint") != fingerprint or state.get("grading_key") != key
                or state.get("student") != entry.student
                or not (self.out / entry.folder / "results.json").is_file()):
            return None
        return state

    def save(self, entry: Entry, outcome: Outcome, fingerprint: str, key: str, run_id: str,
             assignments: list[tuple[str, str]], template_dir: Path | None) -> dict:
        """Write the student's reports, then their state record; return the record."""
        result = outcome.result or _not_graded(entry, outcome, assignments)
        result.submission = entry.display
        _remove_stale_temporaries(self.out / entry.folder)
        write_reports(result, self.out / entry.folder, template_dir)
        state = {
            "state_version": STATE_VERSION,
            "student": entry.student,
            "folder": entry.folder,
            "entry": entry.path.name if entry.path is not None else "",
            "status": outcome.status,
            "reason": outcome.reason,
            "fingerprint": fingerprint,
            "grading_key": key,
            "run_id": run_id,
            "graded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "seconds": round(outcome.seconds, 3),
            "score": result.score if outcome.status == "graded" else 0.0,
            "max_score": result.max_score,
            "assignments": [{"name": a.name, "title": a.title, "score": a.score, "max_score": a.max_score,
                             "error": a.error} for a in result.assignments],
            "sandbox": result.isolation_summary,
            "device": result.device,
            "version": result.version,
            "worker": vars(outcome.worker),
        }
        atomic_write(self._state_path(entry.folder), json.dumps(state, indent=1, ensure_ascii=True) + "\n")
        return state

    def results(self, folder: str) -> dict | None:
        """The student's results.json, or None when absent or unreadable."""
        try:
            data = json.loads((self.out / folder / "results.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None


def _not_graded(entry: Entry, outcome: Outcome, assignments: list[tuple[str, str]]) -> GradingResult:
    """A result for a student who could not be graded: each assignment carries the reason."""
    return GradingResult(submission=entry.display,
                         assignments=[AssignmentResult(name=n, title=t, tests=[], error=outcome.reason)
                                      for n, t in assignments],
                         sandbox="not run", device="not run", version=__version__, seconds=outcome.seconds)


def _remove_stale_temporaries(folder: Path) -> None:
    """Delete what an atomic write killed halfway left behind (``.name.XXXX`` files); only
    called while this batch holds DIR's lock, so no live write is touched."""
    if folder.is_dir():
        for path in folder.glob(".*.*"):
            if path.is_file() and not path.is_symlink():
                path.unlink(missing_ok=True)


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + os.urandom(3).hex()
