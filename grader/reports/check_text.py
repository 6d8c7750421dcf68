"""The self-check's terminal text (`grader check`), laid out as plain lines: the failures first
(grouped by function, each with its full test name and case and its message wrapped to the
width), the passes in one line (each on its own with `verbose`), the diagnoses, and the
hidden-points line last. The console prints the lines and gives them their colours.

Every line is (text, kind), kind one of "title", "failed", "message", "passed", "diagnosis",
"meta", "summary"; the text is cleaned (``sanitize.clean``) and wrapped to `width` columns
(None: not wrapped, e.g. when piped without COLUMNS).
"""
from __future__ import annotations

import textwrap

from ..models import AssignmentResult, TestResult
from .feedback import diagnoses, failure_groups, passed_tests
from .sanitize import clean

MESSAGE_LINES = 6   # of a failure's message, before "… (N more lines)"


def check_summary(a: AssignmentResult) -> str:
    """The self-check's closing line, after "Public tests only:"."""
    hidden = f"; {a.hidden_points:g} more points are in hidden tests" if a.hidden_points else "; hidden tests are not run here"
    return f"{sum(t.passed for t in a.tests)}/{len(a.tests)} passed, {a.score:g}/{a.max_score:g} points{hidden}."


def wrap(text: str, width: int | None, indent: str = "", hanging: str = "") -> list[str]:
    """`text` (several lines allowed) wrapped to `width`: first line at `indent`, the rest at
    `hanging` (default: `indent`); words longer than the width are broken, hyphens are not."""
    hanging = hanging or indent
    lines: list[str] = []
    for k, line in enumerate(clean(text).split("\n")):
        first = indent if k == 0 else hanging
        if width is None:
            lines.append(first + line)
        else:
            lines += textwrap.wrap(line, max(width, 20), initial_indent=first, subsequent_indent=hanging,
                                   break_on_hyphens=False) or [first.rstrip()]
    return lines


def _message(test: TestResult, width: int | None) -> list[str]:
    lines = wrap(test.output.strip() or "(no message)", width, "    ")
    if len(lines) > MESSAGE_LINES:
        lines = lines[:MESSAGE_LINES] + [f"    … ({len(lines) - MESSAGE_LINES} more lines)"]
    return lines


def _failure(test: TestResult, width: int | None) -> list[tuple[str, str]]:
    head = wrap(f"✗ {test.number} {test.name}  {test.score:g}/{test.max_score:g}", width, "  ", "    ")
    return [(line, "failed") for line in head] + [(line, "message") for line in _message(test, width)]


def check_lines(a: AssignmentResult, width: int | None, verbose: bool = False) -> list[tuple[str, str]]:
    """The tests' part of `grader check` (the console adds the file, notes and footer before the
    summary line): failures, passes, diagnoses."""
    lines: list[tuple[str, str]] = [(clean(f"{a.title}: public tests only"), "title")]
    for group in failure_groups(a):
        lines.append((clean(f"{group.function}: {len(group.tests)} failed"), "title"))
        for test in group.tests if verbose else [group.first]:
            lines += _failure(test, width)
        if group.others and not verbose:
            more = f"and {len(group.others)} more case{'s' if len(group.others) != 1 else ''}: {group.other_cases()}"
            lines += [(line, "message") for line in wrap(more, width, "  ", "    ")]
    passed = passed_tests(a)
    if passed and not a.error:
        points = sum(t.max_score for t in passed)
        hint = "" if verbose or len(passed) == len(a.tests) else " (--verbose lists them)"
        lines += [(line, "passed") for line in
                  wrap(f"✓ {len(passed)} passed, {points:g} points{hint}", width)]
        if verbose:
            lines += [(line, "passed") for t in passed
                      for line in wrap(f"✓ {t.number} {t.name}  {t.score:g}/{t.max_score:g}", width, "  ", "    ")]
    for d in diagnoses(a):
        lines += [(line, "diagnosis") for line in wrap(f"Likely mistake: {d}", width)]
    return lines
