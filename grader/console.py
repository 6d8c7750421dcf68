"""Terminal output. The only module that imports rich."""
from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .models import AssignmentResult, GradingResult

out = Console(highlight=False)
MESSAGE_LINES = 6


def _status(passed: bool) -> Text:
    return Text("passed", style="green") if passed else Text("FAILED", style="bold red")


def _first_lines(text: str, n: int = MESSAGE_LINES) -> str:
    lines = text.strip().splitlines()
    return "\n".join(lines[:n]) + (f"\n… ({len(lines) - n} more lines)" if len(lines) > n else "")


def _footer(result: GradingResult) -> str:
    note = " — no bubblewrap: student code not isolated from the file system" if result.sandbox == "basic" else ""
    return f"sandbox: {result.sandbox}{note} · device: {result.device} · {result.seconds:.1f} s"


def print_assignments(rows, course) -> None:
    table = Table(title=f"Assignments in {course.root}")
    for col in ("#", "name", "title", "public tests", "public points", "hidden tests", "hidden points"):
        table.add_column(col)
    for spec, points in rows:
        table.add_row(str(spec.order), spec.name, spec.title, str(points.public_tests), f"{points.public:g}",
                      str(points.hidden_tests) if spec.has_solution else "-",
                      f"{points.hidden:g}" if spec.has_solution else
                      (f"{spec.hidden_points:g} (not here)" if spec.hidden_points else "-"))
    out.print(table)


def _tests_table(assignment: AssignmentResult, title: str) -> Table:
    table = Table(title=title, show_lines=False, expand=True)
    table.add_column("test", ratio=3)
    table.add_column("status", no_wrap=True)
    table.add_column("points", no_wrap=True, justify="right")
    table.add_column("message", ratio=4)
    for t in assignment.tests:
        table.add_row(t.name, _status(t.passed), f"{t.score:g}/{t.max_score:g}",
                      "" if t.passed else _first_lines(t.output))
    return table


def print_check(result: GradingResult, quiet: bool = False) -> None:
    a = result.assignments[0]
    if not quiet:
        out.print(_tests_table(a, f"{a.title}: public tests only"))
    if a.error:
        out.print(f"[bold red]Not graded:[/] {a.error}")
    hidden = f"; {a.hidden_points:g} more points are in hidden tests" if a.hidden_points else "; hidden tests are not run here"
    passed = sum(t.passed for t in a.tests)
    out.print(f"[bold]Public tests only:[/] {passed}/{len(a.tests)} passed, "
              f"{a.score:g}/{a.max_score:g} points{hidden}.")
    if not quiet:
        out.print(f"[dim]{_footer(result)}[/]")


def print_grade(result: GradingResult, paths: dict[str, Path], quiet: bool = False) -> None:
    if not quiet:
        table = Table(title=f"Grading {Path(result.submission).name}")
        for col in ("assignment", "score", "tests passed", "note"):
            table.add_column(col)
        for a in result.assignments:
            note = a.error or ("public tests only" if a.public_only else "")
            table.add_row(a.name, f"{a.score:g}/{a.max_score:g}",
                          f"{sum(t.passed for t in a.tests)}/{len(a.tests)}", note)
        out.print(table)
        failed = [t for t in result.tests if not t.passed]
        for t in failed[:8]:
            out.print(f"[red]✗[/] {t.number} {t.name}: {_first_lines(t.output, 2)}")
        if len(failed) > 8:
            out.print(f"[dim]… and {len(failed) - 8} more failed tests (see the report)[/]")
        out.print(f"[dim]{_footer(result)}[/]")
    out.print(f"[bold]{result.score:g}/{result.max_score:g}[/] points · reports: {paths['html'].parent}")


def print_validate(rows) -> None:
    table = Table(title="Validation: reference must earn every point, skeleton none")
    for col in ("assignment", "reference", "skeleton", "time", "verdict"):
        table.add_column(col)
    for spec, reference, skeleton, problems in rows:
        verdict = Text("ok", style="green") if not problems else Text("\n".join(problems), style="red")
        table.add_row(spec.name, f"{reference.score:g}/{reference.max_score:g}",
                      f"{skeleton.score:g}/{skeleton.max_score:g}",
                      f"{reference.seconds + skeleton.seconds:.1f} s", verdict)
    out.print(table)
