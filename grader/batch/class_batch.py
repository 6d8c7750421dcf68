"""Grade a class: discover the students, grade those not up to date, write everything under DIR.

Each finished student is written at once (reports, then their record: ``store``), so killing
the batch loses only the students in flight; the gradebook and the summary are written at the
end from the records of every student, whether graded in this run or kept from an earlier one,
and the per-assignment statistics they and the console show are computed once (``stats``).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..course import Course
from ..device import resolve_device
from ..models import GradingStatus
from ..inventory import count_points
from ..options import GradeOptions
from .. import secret as course_secret
from ..sandbox.config import resolve_isolation
from .discovery import BatchInputError, Entry, apply_roster, discover, make_folders_unique, read_roster
from .executors import make_executor
from .fingerprint import entry_fingerprint, grading_key
from .gradebook import write_gradebook
from .records import StudentRow
from .stats import AssignmentStats, assignment_stats, graded
from .store import Store, new_run_id
from .summary import class_summary, write_summary
from .worker import Job, Outcome, WorkerStats, one_line


@dataclass
class BatchSettings:
    submissions: Path
    out: Path
    assignments: list[str] | None = None
    options: GradeOptions = field(default_factory=GradeOptions)
    jobs: int | None = None
    executor: str = "local"            # "local" | "dask"
    scheduler: str | None = None
    roster: Path | None = None
    force: bool = False


@dataclass
class BatchReport:
    rows: list[StudentRow]
    assignments: list[str]
    maxima: dict[str, float]
    stats: list[AssignmentStats]       # per assignment, over the graded students
    graded: int                        # students graded (or refused) in this run
    kept: int                          # students whose earlier results were up to date
    seconds: float
    executor: str
    workers: int
    gradebook: Path
    summary: Path
    ignored: list[str] = field(default_factory=list)   # files of SUBMISSIONS_DIR that are no student


class Progress:
    """What the batch tells whoever watches (the console): a no-op by default."""

    def start(self, total: int, kept: int, workers: int, executor: str) -> None: ...

    def advance(self, row: StudentRow) -> None: ...

    def finish(self) -> None: ...


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def run_batch(settings: BatchSettings, course: Course, progress: Progress | None = None) -> BatchReport:
    """Grade the batch described by `settings` (see the module docstring)."""
    started = time.perf_counter()
    progress = progress or Progress()
    specs = course.select(settings.assignments)
    names = [s.name for s in specs]
    titles = [(s.name, s.title) for s in specs]
    workers = settings.jobs if settings.jobs is not None else default_jobs()
    if workers < 1:
        raise BatchInputError(f"--jobs must be at least 1 (got {workers})")
    if settings.scheduler and settings.executor != "dask":
        raise BatchInputError("--scheduler needs --executor dask")
    roster = read_roster(settings.roster) if settings.roster is not None else None
    ignored: list[str] = []   # files in the submissions folder that are no student (readme.txt)
    entries = apply_roster(discover(settings.submissions, settings.out, ignored), roster)
    make_folders_unique(entries, reserved_names(settings.submissions, settings.out))
    options = settings.options.with_outputs(settings.submissions, settings.out)
    # the course secret keys the hidden tests' inputs: a new secret regrades everyone (and a
    # missing one is reported here, before any worker starts)
    hidden = not options.public_only and any(spec.has_solution for spec in specs)
    secret_id = course_secret.fingerprint(course_secret.read_secret(course.root / "solutions")) if hidden else ""
    key = grading_key(course, names, {"seed": options.seed, "sandbox": options.sandbox, "device": options.device,
                                      "secret": secret_id})
    if options.sandbox == "bubblewrap":   # asked for: refused here, in one line, not once per student
        resolve_isolation(options.sandbox, resolve_device(options.device)[0], probe=True)
    executor = make_executor(settings.executor, workers, settings.scheduler)  # fails early without Dask
    settings.out.mkdir(parents=True, exist_ok=True)
    store = Store(settings.out)
    run_id = new_run_id()
    with store.locked():
        rows, pending = [StudentRow(entry, None) for entry in entries], {}
        refused_here = []
        for row in rows:
            entry = row.entry
            if entry.path is None:
                continue
            try:
                fingerprint = entry_fingerprint(entry.path)
            except OSError as exc:
                fingerprint, entry.refusal = "unreadable", f"unreadable entry: {one_line(exc.strerror or str(exc))}"
            row.record = None if settings.force else store.current(entry, fingerprint, key)
            if row.record is not None:
                continue
            if entry.refusal:  # decided here, without a worker
                outcome = Outcome(entry.student, entry.folder, GradingStatus.REFUSED, entry.refusal,
                                  worker=WorkerStats())
                row.record = store.save(entry, outcome, fingerprint, key, run_id, titles, course.templates)
                row.fresh = True
                refused_here.append(row)
            else:
                pending[entry.folder] = (row, fingerprint)
        jobs = [Job(row.entry.student, folder, str(row.entry.path.resolve()), str(course.root), tuple(names), options)
                for folder, (row, _) in pending.items()]
        kept_count = sum(r.record is not None and not r.fresh for r in rows)
        progress.start(len(jobs) + len(refused_here), kept_count, workers, executor.name)
        try:
            for row in refused_here:
                progress.advance(row)
            if jobs:
                with executor:
                    for outcome in executor.run(jobs):
                        row, fingerprint = pending[outcome.folder]
                        row.record = store.save(row.entry, outcome, fingerprint, key, run_id, titles,
                                               course.templates)
                        row.fresh = True
                        progress.advance(row)
        finally:
            progress.finish()
        maxima = assignment_maxima(rows, specs)
        stats = assignment_stats(rows, titles, maxima)
        gradebook = write_gradebook(settings.out / "gradebook.csv", rows, names, maxima,
                                    roster.columns if roster else ())
        summary = class_summary(rows, stats, title=_batch_title(settings, course), ignored=ignored)
        summary_path = write_summary(settings.out / "summary.html", summary, course.templates)
    return BatchReport(rows=rows, assignments=names, maxima=maxima, stats=stats,
                       graded=sum(r.fresh for r in rows), kept=kept_count,
                       seconds=time.perf_counter() - started, executor=executor.name, workers=workers,
                       gradebook=gradebook, summary=summary_path, ignored=ignored)


def reserved_names(submissions: Path, out: Path) -> set[str]:
    """Names under `out` no student folder may take: the top of the submissions folder when it
    lies inside `out` (reports must never land among the submissions)."""
    try:
        return {submissions.resolve().relative_to(out.resolve()).parts[0]}
    except (ValueError, IndexError):
        return set()


def assignment_maxima(rows: list[StudentRow], specs) -> dict[str, float]:
    """Points available per assignment: from a graded student, else by counting the tests."""
    maxima: dict[str, float] = {}
    for row in graded(rows):
        for a in row.result.assignments:
            if not a.error and a.max_score > maxima.get(a.name, 0.0):
                maxima[a.name] = a.max_score
    for spec in specs:
        if spec.name not in maxima:
            points = count_points(spec)
            maxima[spec.name] = points.public + (points.hidden if spec.has_solution else 0.0)
    return maxima


def _batch_title(settings: BatchSettings, course: Course) -> str:
    return f"{settings.submissions.resolve().name} ({course.root.name})"


__all__ = ["BatchInputError", "BatchReport", "BatchSettings", "Entry", "Progress", "run_batch", "default_jobs"]
