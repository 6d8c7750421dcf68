"""summary.html: the class at a glance, read top-down: what needs attention (refused, errors,
empty, ambiguous, timeouts), the common mistakes (the reports' diagnoses, counted), the score
distributions, the tests some students fail (with who failed them), the slowest submissions and
every student; the sandbox and device used.

The numbers come from ``stats``; the histograms are drawn by ``grader.plots`` (inline SVG, every
piece of text escaped, so the page stays self-contained: no script, no external file); the
template (``templates/summary.html.j2``) only lays them out.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .. import __version__
from ..files import atomic_write
from ..models import GradingStatus
from ..plots import bar_chart
from ..reports.render import environment
from .records import StudentRow
from .stats import AssignmentStats, MistakeStats, TestStats, common_mistakes, graded, pass_rates, timed_out

HISTOGRAM_BINS = 10
SLOWEST = 10


@dataclass
class ClassSummary:
    title: str
    generated: str
    version: str
    counts: dict[str, int]                         # students per status, and "total"
    assignments: list[AssignmentStats]
    histograms: dict[str, str]                     # assignment name -> SVG
    tests: list[TestStats]                         # the tests some student failed, the most failed first
    problems: list[tuple[StudentRow, str, str]]    # needs attention: (student, status, reason)
    slowest: list[StudentRow]
    students: list[StudentRow]
    environments: list[tuple[str, str, int]]       # (sandbox, device, number of students)
    assignment_names: list[str] = field(default_factory=list)
    max_total: float = 0.0
    ignored: list[str] = field(default_factory=list)  # files of the submissions folder that are no student
    mistakes: list[MistakeStats] = field(default_factory=list)
    always_passed: list[TestStats] = field(default_factory=list)   # passed by every student who took them


def _attention(rows: list[StudentRow]) -> list[tuple[StudentRow, str, str]]:
    """Refused, empty, errors, ambiguous or incomplete gradings, then calls that ran out of time."""
    found = []
    for r in rows:
        late = timed_out(r)
        status = "ambiguous" if r.ambiguous and r.status == GradingStatus.GRADED else str(r.status)
        if r.needs_a_look:
            found.append((r, status, r.reason + (f"; timed out in {', '.join(late)}" if late else "")))
        elif late:
            found.append((r, "timeout", f"timed out in {', '.join(late)}"))
    return found


def histogram_svg(stats: AssignmentStats, bins: int = HISTOGRAM_BINS) -> str:
    """A bar chart of the students' scores in `bins` equal bins of [0, max score]."""
    top, counts = stats.max_score, stats.histogram(bins)
    tooltips = [f"{top * k / bins:g}–{top * (k + 1) / bins:g} points: {n} student{'s' if n != 1 else ''}"
                for k, n in enumerate(counts)]
    return bar_chart(counts, title=f"{stats.title}: {stats.count} students",
                     x_label=f"score (share of {top:g} points)", tooltips=tooltips,
                     ticks={k: f"{100 * k // bins}%" for k in range(0, bins + 1, 2)})


def class_summary(rows: list[StudentRow], stats: list[AssignmentStats], title: str,
                  ignored: list[str] = ()) -> ClassSummary:
    """Summarise the batch: `rows` every student, `stats` the assignments' (``stats.assignment_stats``),
    `ignored` the entries of the submissions folder that are not students."""
    names = [a.name for a in stats]
    environments = Counter((r.result.isolation_summary, r.result.device) for r in graded(rows))
    counts = Counter(r.status for r in rows)
    tests = pass_rates(rows, names)
    return ClassSummary(
        title=title,
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        version=__version__,
        counts={str(s): counts.get(s, 0) for s in GradingStatus} | {"total": len(rows),
                                                                   "ambiguous": sum(r.ambiguous for r in rows)},
        assignments=stats,
        histograms={a.name: histogram_svg(a) for a in stats},
        tests=[t for t in tests if t.failed],
        always_passed=[t for t in tests if not t.failed],
        mistakes=common_mistakes(rows, names),
        problems=_attention(rows),
        slowest=sorted(graded(rows), key=lambda r: -r.record.seconds)[:SLOWEST],
        students=rows,
        environments=[(s, d, n) for (s, d), n in environments.most_common()],
        assignment_names=names,
        max_total=sum(a.max_score for a in stats),
        ignored=list(ignored),
    )


def write_summary(path: Path, summary: ClassSummary, template_dir: Path | None = None) -> Path:
    template = environment(template_dir).get_template("summary.html.j2")
    atomic_write(path, template.render(summary=summary))
    return path
