"""gradebook.csv: one row per student, ready for a spreadsheet or an LMS import.

Columns: ``student``, the roster's extra columns (name, email, ...), ``folder`` (where the
reports are), ``status`` (graded, empty, refused, error, missing), one column per assignment
(points), ``total``, ``max_total``, ``flags`` (``ambiguous`` when a file was graded from one of
several different copies, which ``reason`` names), ``reason``. Scores are 0 for a refused or
empty submission and for a student who submitted nothing, and empty for a grader error (so a
failure of ours is never imported as a zero).

Cells that hold text from students (ids, reasons quoting file names) are written so that a
spreadsheet cannot read them as formulas (a leading ``= + - @`` gets a ``'`` in front).
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

from ..files import atomic_write
from ..reports.sanitize import inert
from .records import StudentRow

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(text: str) -> str:
    """Text a spreadsheet shows as text (never evaluates as a formula), its control characters
    escaped (``reports.sanitize.inert``)."""
    text = inert(text)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def number_cell(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def gradebook_text(rows: list[StudentRow], assignments: list[str], maxima: dict[str, float],
                   roster_columns: tuple[str, ...] = ()) -> str:
    extra = [c for c in roster_columns if c != "student"]
    ours = {"student", "folder", "status", "total", "max_total", "reason", "flags", *assignments}
    header = ["student", *(f"roster {c}" if c in ours else c for c in extra), "folder", "status", *assignments,
              "total", "max_total", "flags", "reason"]
    max_total = sum(maxima.get(a, 0.0) for a in assignments)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        cells = [row.entry.display, *(row.entry.roster.get(c, "") for c in extra), row.entry.folder, row.status]
        cells = [safe_cell(c) for c in cells]
        cells += [number_cell(row.score(a)) for a in assignments]
        cells += [number_cell(row.total(assignments)), number_cell(max_total), "ambiguous" if row.ambiguous else "",
                  safe_cell(row.reason)]
        writer.writerow(cells)
    return buffer.getvalue()


def write_gradebook(path: Path, rows: list[StudentRow], assignments: list[str], maxima: dict[str, float],
                    roster_columns: tuple[str, ...] = ()) -> Path:
    atomic_write(path, gradebook_text(rows, assignments, maxima, roster_columns))
    return path
