"""The batch's memory: what was graded, from which content, with which grader.

Layout under the output folder DIR (nothing is written elsewhere):

    DIR/<folder>/results.json, report.html, report.md   one student's reports
    DIR/.batch/state/<folder>.json                      that student's record (``records.StudentRecord``)
    DIR/.batch/lock                                     held while a batch writes to DIR

A student's reports are written first, each atomically, and the record last: a record
exists only for a student whose reports are complete, so a batch killed at any instant loses
at most the students in flight, and a rerun grades exactly the students without a current
record (a missing or unreadable record, or one whose submission fingerprint or grading key
differs).
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
from datetime import datetime, timezone
from pathlib import Path

from ..files import atomic_write
from ..models import GradingStatus
from ..reports import write_reports
from ..reports.sanitize import clean_result
from .discovery import BatchInputError, Entry
from .records import StudentRecord, not_graded
from .worker import Outcome


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

    def load(self, folder: str) -> StudentRecord | None:
        """The stored record, or None when it is absent, unreadable or of another format."""
        try:
            return StudentRecord.from_dict(json.loads(self._state_path(folder).read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def current(self, entry: Entry, fingerprint: str, key: str) -> StudentRecord | None:
        """The stored record when it is up to date for this content and this grader, else None.
        A grader error is never up to date: it says nothing about the submission (a sandbox that
        could not start, a killed worker), so the next run grades the student again."""
        record = self.load(entry.folder)
        if (record is None or record.status == GradingStatus.ERROR or record.fingerprint != fingerprint
                or record.grading_key != key
                or record.student != entry.student
                or not (self.out / entry.folder / "results.json").is_file()):
            return None
        return record

    def save(self, entry: Entry, outcome: Outcome, fingerprint: str, key: str, run_id: str,
             assignments: list[tuple[str, str]], template_dir: Path | None) -> StudentRecord:
        """Write the student's reports, then their record; return the record."""
        result = outcome.result or not_graded(entry.display, outcome.reason, assignments, outcome.seconds)
        result.submission = entry.display
        _remove_stale_temporaries(self.out / entry.folder)
        write_reports(result, self.out / entry.folder, template_dir)
        record = StudentRecord(
            student=entry.student, folder=entry.folder, status=outcome.status, result=clean_result(result),
            reason=outcome.reason, entry=entry.path.name if entry.path is not None else "",
            fingerprint=fingerprint, grading_key=key, run_id=run_id,
            graded_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            seconds=outcome.seconds, worker=outcome.worker)
        atomic_write(self._state_path(entry.folder), json.dumps(record.to_dict(), indent=1, ensure_ascii=True) + "\n")
        return record


def _remove_stale_temporaries(folder: Path) -> None:
    """Delete what an atomic write killed halfway left behind (``.name.XXXX`` files); only
    called while this batch holds DIR's lock, so no live write is touched."""
    if folder.is_dir():
        for path in folder.glob(".*.*"):
            if path.is_file() and not path.is_symlink():
                path.unlink(missing_ok=True)


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + os.urandom(3).hex()
