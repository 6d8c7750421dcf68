"""`grader.check("conv")` in Python or Jupyter: the self-check of `grader check`, as an object
that a notebook shows as a table (``_repr_html_``) with the same rows and closing line as the
terminal's. The student's code runs in the sandboxed child process as always, never in the
notebook's kernel; the file tested is ``<module>.py`` next to the notebook (the kernel's current
folder), else the one in the course's ``assignments/<name>/``."""
from __future__ import annotations

import html
import os
from dataclasses import replace
from pathlib import Path

from . import console
from .course import find_course
from .models import GradingResult
from .options import from_environment
from .selfcheck import all_passed, self_check

STYLE = {True: ("passed", "#1a7f37"), False: ("FAILED", "#cf222e")}


class CheckResult:
    """What `grader.check` returns: counts as attributes, a table when shown."""

    def __init__(self, result: GradingResult, release: str | None):
        self.result, self.release = result, release
        self.assignment = result.assignments[0]
        self.passed = sum(t.passed for t in self.assignment.tests)
        self.failed = len(self.assignment.tests) - self.passed
        self.score, self.max_score = self.assignment.score, self.assignment.max_score
        self.ok = all_passed(result)

    def _lines(self) -> list[str]:
        a = self.assignment
        notes = [f"Not graded: {a.error}"] if a.error else []
        return [*notes, f"Public tests only: {console.check_summary(a)}", console.footer_line(self.result),
                *([self.release] if self.release else [])]

    def __repr__(self) -> str:
        rows = [f"{'passed' if ok else 'FAILED'}  {points:>7}  {name}" + (f"\n{' ' * 19}{message}" if message else "")
                for name, ok, points, message in console.check_rows(self.assignment)]
        return "\n".join([f"{self.assignment.title}: public tests only", *rows, *self._lines()])

    def _repr_html_(self) -> str:
        e = html.escape
        rows = "".join(
            f"<tr><td>{e(name)}</td><td style='color:{STYLE[ok][1]};font-weight:bold'>{STYLE[ok][0]}</td>"
            f"<td style='text-align:right'>{e(points)}</td><td><pre style='margin:0;white-space:pre-wrap'>"
            f"{e(message)}</pre></td></tr>" for name, ok, points, message in console.check_rows(self.assignment))
        head = "".join(f"<th>{c}</th>" for c in ("test", "status", "points", "message"))
        lines = "".join(f"<p style='margin:2px 0'>{e(line)}</p>" for line in self._lines())
        return (f"<div class='grader-check'><table><caption style='font-weight:bold'>"
                f"{e(self.assignment.title)}: public tests only</caption><thead><tr>{head}</tr></thead>"
                f"<tbody>{rows}</tbody></table>{lines}</div>")


def check(name: str, path: str | Path | None = None, *, course: str | Path | None = None,
          **options) -> CheckResult:
    """Run the public tests of assignment `name` on your file and return the table.

    `path`: the folder holding your file (default: the notebook's folder when it has it, else the
    course's assignments/<name>/). `course`: the course folder (default: $GRADER_COURSE, else the
    current folder or a parent). Other keywords are grading options (sandbox="basic", device="cpu",
    seed=...), as on the command line."""
    settings = replace(from_environment(os.environ, public_only=True), **options)
    result, release = self_check(find_course(course), name, Path(path) if path is not None else None, settings)
    return CheckResult(result, release)
