"""Terminal output. The only module that imports rich.

Text that did not come from the grader itself (test messages, which quote students, student
errors, submission and file names, batch reasons) never reaches rich as markup: it goes in as
``rich.text.Text`` (no markup, no emoji codes; stronger than ``rich.markup.escape``, which
leaves emoji codes) after ``reports.sanitize.clean`` (no terminal escapes or other control
characters). So a message such as "[/]" prints as itself.
"""
from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .models import AssignmentResult, GradingResult, GradingStatus
from .reports.check_text import check_lines, check_summary, wrap
from .reports.sanitize import clean

out = Console(highlight=False, width=None if sys.stdout.isatty() else 120)
MESSAGE_LINES = 6


def _plain(text, style: str = "") -> Text:
    """Untrusted text as a rich ``Text``: cleaned, never parsed as markup."""
    return Text(clean(text), style=style)


def _first_lines(text: str, n: int = MESSAGE_LINES) -> Text:
    lines = clean(text).strip().split("\n")
    return Text("\n".join(lines[:n]) + (f"\n… ({len(lines) - n} more lines)" if len(lines) > n else ""))


def _footer(result: GradingResult) -> str:
    return clean(f"sandbox: {result.isolation_summary} · device: {result.device} · {result.seconds:.1f} s")


def print_assignments(rows, course) -> None:
    table = Table(title=_plain(f"Assignments in {course.root}"))
    for col in ("#", "name", "title", "public tests", "public points", "hidden tests", "hidden points"):
        table.add_column(col)
    for spec, points in rows:
        table.add_row(str(spec.order), _plain(spec.name), _plain(spec.title), str(points.public_tests),
                      f"{points.public:g}",
                      str(points.hidden_tests) if spec.has_solution else "-",
                      f"{points.hidden:g}" if spec.has_solution else
                      (f"{spec.hidden_points:g} (not here)" if spec.hidden_points else "-"))
    out.print(table)


def check_rows(assignment: AssignmentResult) -> list[tuple[str, bool, str, str]]:
    """The self-check table's rows (test, passed, points, message; cleaned text), for the terminal
    and for `grader.check` in a notebook alike."""
    return [(clean(t.name), t.passed, f"{t.score:g}/{t.max_score:g}", "" if t.passed else _first_lines(t.output).plain)
            for t in assignment.tests]


def footer_line(result: GradingResult) -> str:
    return _footer(result)


_CHECK_STYLES = {"title": "bold", "failed": "bold red", "message": "", "passed": "green",
                 "diagnosis": "bold yellow", "meta": "dim", "summary": "bold"}


def check_width() -> int | None:
    """The width `grader check` wraps to: COLUMNS when set, else the terminal's; None (no
    wrapping) when piped without COLUMNS."""
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    return out.width if out.is_terminal else None


def print_check(result: GradingResult, quiet: bool = False, release: str | None = None,
                verbose: bool = False) -> None:
    """Failures first (by function), the passes in one line (each with `verbose`), the likely
    mistake, the file and the sandbox, and the public/hidden points line last."""
    a, width = result.assignments[0], check_width()

    def show(text: str, kind: str) -> None:
        for line in wrap(text, width):
            out.print(Text(line, style=_CHECK_STYLES[kind]), soft_wrap=True)

    if not quiet:
        for text, kind in check_lines(a, width, verbose):
            out.print(Text(text, style=_CHECK_STYLES[kind]), soft_wrap=True)
        if a.graded_path:
            show(f"file graded: {a.graded_path}", "meta")
        _print_notes(result)
    if a.error:
        show(f"Not graded: {a.error}", "failed")
    if not quiet:
        show(_footer(result), "meta")
        if release:
            show(release, "meta")
    show(f"Public tests only: {check_summary(a)}", "summary")


def print_grade(result: GradingResult, paths: dict[str, Path], quiet: bool = False) -> None:
    if not quiet:
        table = Table(title=_plain(f"Grading {Path(result.submission).name}"))
        for col in ("assignment", "score", "tests passed", "file graded", "note"):
            table.add_column(col)
        for a in result.assignments:
            note = a.error or ("public tests only" if a.public_only else "")
            table.add_row(_plain(a.name), f"{a.score:g}/{a.max_score:g}",
                          f"{sum(t.passed for t in a.tests)}/{len(a.tests)}", _plain(a.graded_path or "-"),
                          _plain(note))
        out.print(table)
        _print_notes(result)
        not_graded = {a.name for a in result.assignments if a.error}   # their reason is in the table, once
        failed = [t for t in result.tests if not t.passed and t.assignment not in not_graded]
        for t in failed[:8]:
            out.print(Text.assemble(("✗", "red"), " ", _plain(f"{t.number} {t.name}: "), _first_lines(t.output, 2)))
        if len(failed) > 8:
            out.print(f"[dim]… and {len(failed) - 8} more failed tests (see the report)[/]")
        out.print(Text(_footer(result), style="dim"))
    out.print(Text.assemble((f"{result.score:g}/{result.max_score:g}", "bold"), " points · reports: ",
                            _plain(paths["html"].parent)))


def _print_notes(result: GradingResult) -> None:
    """How each file was found (another case, a notebook, copies), an empty submission, and what was ignored."""
    if result.status == GradingStatus.EMPTY:
        out.print(Text("Empty submission: no file for any assignment was found.", style="bold red"))
    for a in result.assignments:
        for note in a.notes:
            out.print(Text.assemble((f"{a.name}:", "bold yellow" if a.ambiguous else "bold"), " ", _plain(note)))
    if result.ignored:
        out.print(_plain(f"ignored (not needed for grading): {', '.join(result.ignored)}", style="dim"))


def print_validate(rows) -> None:
    table = Table(title="Validation: reference must earn every point, skeleton none")
    for col in ("assignment", "reference", "skeleton", "time", "verdict"):
        table.add_column(col)
    for spec, reference, skeleton, problems in rows:
        verdict = Text("ok", style="green") if not problems else _plain("\n".join(problems), style="red")
        table.add_row(_plain(spec.name), f"{reference.score:g}/{reference.max_score:g}",
                      f"{skeleton.score:g}/{skeleton.max_score:g}",
                      f"{reference.seconds + skeleton.seconds:.1f} s", verdict)
    out.print(table)


def print_skeletons(rows) -> None:
    for spec, changed in rows:
        state = {True: "written", False: "up to date", None: "kept as written (the reference has no solution markers)"}
        out.print(_plain(f"{spec.name}: {spec.skeleton_file} {state[changed]}"))


def print_leaks(leaks) -> None:
    out.print(Text(f"The leak guard refused the release ({len(leaks)} problem{'s' if len(leaks) != 1 else ''}); "
                   "nothing was written:", style="bold red"))
    for leak in leaks:
        out.print(_plain(f"  {leak}", style="red"))


def print_release(release, written: list[Path], quiet: bool = False) -> None:
    if not quiet:
        table = Table(title="Release")
        for col in ("assignment", "title", "public points", "hidden points"):
            table.add_column(col)
        for name, info in release.manifest["assignments"].items():
            table.add_row(_plain(name), _plain(info["title"]), f"{info['public_points']:g}", f"{info['hidden_points']:g}")
        out.print(table)
        out.print(_plain(f"{len(release.files)} files, checked by the leak guard; content hash "
                         f"{release.manifest['content_hash'][:12]}, grader {release.manifest['grader_version']}"))
    for path in written:
        out.print(_plain(f"written: {path}"))


# -- batch grading (grader batch) ---------------------------------------------------------------

class BatchProgress:
    """The progress bar of `grader batch`: done / total, failures so far, ETA; each refused or
    failed student is printed above the bar as it happens. Quiet: nothing at all."""

    FAILING = (GradingStatus.REFUSED, GradingStatus.ERROR)

    def __init__(self, quiet: bool = False):
        self.quiet = quiet
        self.failures = 0
        self._bar = None
        self._task = None

    def start(self, total: int, kept: int, workers: int, executor: str) -> None:
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)
        if self.quiet:
            return
        where = f"{workers} local worker{'s' if workers != 1 else ''}" if executor == "local" else "Dask"
        kept_note = f" ({kept} up to date, kept)" if kept else ""
        out.print(Text(f"Grading {total} student{'s' if total != 1 else ''} on {where}{kept_note}"))
        if not total:
            return
        self._bar = Progress(TextColumn("[bold]grading"), BarColumn(), MofNCompleteColumn(),
                             TextColumn("failures: {task.fields[failures]}"), TimeElapsedColumn(),
                             TextColumn("ETA"), TimeRemainingColumn(), console=out)
        self._task = self._bar.add_task("grading", total=total, failures=0)
        self._bar.start()

    def advance(self, row) -> None:
        if row.status in self.FAILING:
            self.failures += 1
        if self._bar is None:
            return
        if row.status in self.FAILING:
            self._bar.console.print(_plain(f"✗ {row.entry.display}: {row.reason}", style="red"))
        self._bar.update(self._task, advance=1, failures=self.failures)

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def print_batch(report, quiet: bool = False, problem_rows: int = 15) -> None:
    """The final table of `grader batch` (per-assignment statistics, problem students) and the
    closing lines (each under 80 columns but for the paths); quiet: the closing lines only."""
    if not quiet:
        table = Table(title=f"Batch: {len(report.rows)} students")
        for col in ("assignment", "max", "mean", "median", "min", "full marks"):
            table.add_column(col, justify="left" if col == "assignment" else "right")
        for a in report.stats:
            table.add_row(_plain(a.name), f"{a.max_score:g}",
                          f"{a.mean:.1f}" if a.count else "-",
                          f"{a.median:g}" if a.count else "-",
                          f"{a.low:g}" if a.count else "-",
                          str(a.full_marks) if a.count and a.max_score else "-")
        out.print(table)
        problems = [r for r in report.rows if r.needs_a_look]
        if problems:
            listing = Table(title="Needs a look", show_lines=False)
            for col in ("student", "status", "reason"):
                listing.add_column(col)
            for r in problems[:problem_rows]:
                listing.add_row(_plain(r.entry.display), _batch_status(r.status), _plain(r.reason))
            out.print(listing)
            if len(problems) > problem_rows:
                out.print(Text(f"… and {len(problems) - problem_rows} more (see {report.summary})", style="dim"))
    counts = Counter(r.status for r in report.rows)
    out.print(Text(f"{len(report.rows)} students ({report.graded} done in this run, {report.kept} kept as up "
                   f"to date) in {report.seconds:.1f} s", style="bold"))
    out.print(Text(f"{counts[GradingStatus.GRADED]} graded, {counts[GradingStatus.EMPTY]} empty, "
                   f"{counts[GradingStatus.REFUSED]} refused, {counts[GradingStatus.ERROR]} grader errors, "
                   f"{counts[GradingStatus.MISSING]} without a submission", style="bold"))
    if report.ignored:
        out.print(_plain(f"ignored in the submissions folder (not a folder or an archive): "
                         f"{', '.join(report.ignored)}", style="dim"))
    out.print(_plain(f"gradebook: {report.gradebook}"))
    out.print(_plain(f"summary: {report.summary}"))


def _batch_status(status: GradingStatus) -> Text:
    style = {GradingStatus.GRADED: "green", GradingStatus.REFUSED: "bold red", GradingStatus.EMPTY: "bold red",
             GradingStatus.ERROR: "bold red"}.get(status, "dim")
    return Text(str(status), style=style)
