"""The class from the database, in the shapes the batch's renderers read.

Each upload is an attempt; the attempt that *counts* for a student and an assignment is the best
or the last graded one (``Policy.counts``). A student's counted attempts are combined into one
``GradingResult`` inside a batch ``StudentRow``, so the batch's own summary (``class_summary``),
statistics and gradebook (``gradebook_text``) render the live class unchanged.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..batch.class_batch import assignment_maxima
from ..batch.discovery import Entry, folder_name
from ..batch.gradebook import gradebook_text
from ..batch.records import StudentRecord, StudentRow, not_graded
from ..batch.stats import assignment_stats
from ..batch.summary import class_summary
from ..course import AssignmentSpec, Course
from ..inventory import count_points
from ..models import GradingResult, GradingStatus
from ..reports.render import environment
from ..reports.results_json import results_dict
from .db import Account, Grading, Submission
from .settings import Policy

COUNTING = ("graded", "empty")          # gradings that may count (a grader error never replaces a score)
NO_SUBMISSION = "no submission"         # an assignment the student has not submitted (yet)
MAX_RESULTS_BYTES = 64 << 20


@dataclass
class Attempt:
    submission: Submission
    grading: Grading | None
    login: str

    @property
    def done(self) -> bool:
        return self.grading is not None and self.submission.state == "done"


def attempts(session: Session, account_id: int | None = None, assignment: str | None = None) -> list[Attempt]:
    """Every upload (of one account, of one assignment), newest first, with its current grading."""
    query = (select(Submission, Grading, Account.login).join(Account, Account.id == Submission.account_id)
             .outerjoin(Grading, Grading.id == Submission.grading_id)
             .order_by(Submission.created_at.desc(), Submission.id.desc()))
    if account_id is not None:
        query = query.where(Submission.account_id == account_id)
    if assignment is not None:
        query = query.where(Submission.assignment == assignment)
    return [Attempt(s, g, login) for s, g, login in session.execute(query).all()]


def counted(found: list[Attempt], policy: Policy) -> dict[tuple[str, str], Attempt]:
    """(login, assignment) -> the attempt that counts (best or last graded; else the last done)."""
    chosen: dict[tuple[str, str], Attempt] = {}
    for attempt in sorted(found, key=lambda a: (a.submission.created_at, a.submission.id)):
        if not attempt.done:
            continue
        key = (attempt.login, attempt.submission.assignment)
        held = chosen.get(key)
        counts = attempt.grading.status in COUNTING
        if held is None or (counts and (held.grading.status not in COUNTING or policy.counts == "last"
                                        or attempt.grading.score >= held.grading.score)):
            chosen[key] = attempt
    return chosen


def load_result(data_dir: Path, grading: Grading, login: str) -> GradingResult | None:
    """The grading's results.json, read back (None when it cannot be)."""
    if not grading.report_dir:
        return None
    path = data_dir / grading.report_dir / "results.json"
    try:
        if path.stat().st_size > MAX_RESULTS_BYTES:
            return None
        return GradingResult.from_dict(json.loads(path.read_text(encoding="utf-8")), submission=login)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def class_rows(session: Session, data_dir: Path, course: Course, policy: Policy) -> list[StudentRow]:
    """One batch row per student account (roster order: by login), their counted attempts combined."""
    chosen = counted(attempts(session), policy)
    specs = list(course.assignments)
    rows = []
    for account in session.scalars(select(Account).where(Account.role == "student").order_by(Account.login)):
        entry = Entry(account.login, folder_name(account.login), None)
        mine = {name: a for (login, name), a in chosen.items() if login == account.login}
        if not mine:
            rows.append(StudentRow(entry))
            continue
        parts, first, seconds = [], None, 0.0
        for spec in specs:
            attempt = mine.get(spec.name)
            result = load_result(data_dir, attempt.grading, account.login) if attempt else None
            found = next((a for a in result.assignments if a.name == spec.name), None) if result else None
            if found is None:
                reason = NO_SUBMISSION if attempt is None else (attempt.grading.reason or "no result")
                found = not_graded(account.login, reason, [(spec.name, spec.title)]).assignments[0]
            else:
                found.title, first, seconds = spec.title, first or result, seconds + attempt.grading.seconds
            parts.append(found)
        base = first or not_graded(account.login, "not graded", [])
        combined = GradingResult(account.login, parts, base.sandbox, base.device, base.version, seconds,
                                 base.isolation)
        status = GradingStatus.GRADED if first else GradingStatus.ERROR
        reason = "; ".join(a.grading.reason for a in mine.values() if a.grading.reason)
        rows.append(StudentRow(entry, StudentRecord(account.login, entry.folder, status, combined, reason,
                                                    seconds=seconds)))
    return rows


@functools.lru_cache(maxsize=64)
def _points(spec: AssignmentSpec) -> float:
    points = count_points(spec)   # collects the tests: slow, so once per assignment and process
    return points.public + (points.hidden if spec.has_solution else 0.0)


def maxima(rows: list[StudentRow], specs: list[AssignmentSpec]) -> dict[str, float]:
    """Points per assignment: from a graded student (``assignment_maxima``), else counted once."""
    found = assignment_maxima(rows, [])
    return {spec.name: found[spec.name] if spec.name in found else _points(spec) for spec in specs}


def summary_html(rows: list[StudentRow], course: Course, title: str) -> str:
    specs = list(course.assignments)
    maxima_ = maxima(rows, specs)
    stats = assignment_stats(rows, [(s.name, s.title) for s in specs], maxima_)
    for entry in stats:   # live: an assignment a student has not submitted yet is not a 0 in its distribution
        entry.scores = [r.score(entry.name) for r in rows if r.result is not None and r.status == GradingStatus.GRADED
                        and any(a.name == entry.name and a.error != NO_SUBMISSION for a in r.result.assignments)]
    summary = class_summary(rows, stats, title=title)
    return environment(course.templates).get_template("summary.html.j2").render(summary=summary)


def gradebook_csv(rows: list[StudentRow], course: Course) -> str:
    specs = list(course.assignments)
    return gradebook_text(rows, [s.name for s in specs], maxima(rows, specs))


def results_export(rows: list[StudentRow]) -> dict:
    """Every student's counted result in the results.json format (Gradescope's superset)."""
    return {"students": [{"student": r.entry.student, "status": str(r.status),
                          "results": results_dict(r.result) if r.result is not None else None} for r in rows]}
