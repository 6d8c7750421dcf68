"""summary.html: the class at a glance (score distributions, where the class struggles,
submissions that could not be graded, the slowest ones, the sandbox and device used).

The numbers are computed here; the template (``templates/summary.html.j2``) only lays them
out. Charts are inline SVG strings built here from numbers, with every piece of text escaped,
so the page stays self-contained (no script, no external file).
"""
from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from html import escape
from pathlib import Path

from .. import __version__
from ..reports.render import atomic_write, environment
from .gradebook import STATUSES, StudentRow

HISTOGRAM_BINS = 10
SLOWEST = 10


@dataclass
class AssignmentStats:
    name: str
    title: str
    max_score: float
    scores: list[float]
    histogram_svg: str = ""

    @property
    def count(self) -> int:
        return len(self.scores)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.scores) if self.scores else 0.0

    @property
    def median(self) -> float:
        return statistics.median(self.scores) if self.scores else 0.0

    @property
    def low(self) -> float:
        return min(self.scores, default=0.0)

    @property
    def high(self) -> float:
        return max(self.scores, default=0.0)

    @property
    def full_marks(self) -> int:
        return sum(s >= self.max_score for s in self.scores) if self.max_score else 0


@dataclass
class TestStats:
    number: str
    name: str
    assignment: str
    attempts: int = 0
    passed: int = 0

    @property
    def failed(self) -> int:
        return self.attempts - self.passed

    @property
    def pass_rate(self) -> float:
        return self.passed / self.attempts if self.attempts else 0.0


@dataclass
class ClassSummary:
    title: str
    generated: str
    version: str
    counts: dict[str, int]
    assignments: list[AssignmentStats]
    tests: list[TestStats]
    problems: list[StudentRow]
    slowest: list[StudentRow]
    students: list[StudentRow]
    environments: list[tuple[str, str, int]]       # (sandbox, device, number of students)
    assignment_names: list[str] = field(default_factory=list)
    max_total: float = 0.0


def histogram_svg(title: str, scores: list[float], max_score: float, bins: int = HISTOGRAM_BINS) -> str:
    """A bar chart of `scores` in `bins` equal bins of [0, max_score] (the top bin includes max)."""
    width, height, left, right, top, bottom = 520, 226, 40, 24, 36, 40
    counts = [0] * bins
    for s in scores:
        k = int(bins * s / max_score) if max_score > 0 else 0
        counts[min(max(k, 0), bins - 1)] += 1
    peak = max(counts + [1])
    plot_w, plot_h = width - left - right, height - top - bottom
    bar_w = plot_w / bins
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" role="img" aria-label="{escape(title, quote=True)}">',
             f'<text x="{left}" y="16" font-size="13" font-weight="600">{escape(title)}</text>',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#57606a"/>']
    for tick in sorted({0, peak // 2, peak}):
        y = top + plot_h - plot_h * tick / peak
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{tick}</text>')
    for k, count in enumerate(counts):
        h = plot_h * count / peak
        x = left + k * bar_w
        lo, hi = max_score * k / bins, max_score * (k + 1) / bins
        label = f"{lo:g}–{hi:g} points: {count} student{'s' if count != 1 else ''}"
        parts.append(f'<rect x="{x + 1:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" '
                     f'fill="#0072B2"><title>{escape(label)}</title></rect>')
        if count:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h - h - 3:.1f}" font-size="11" '
                         f'text-anchor="middle">{count}</text>')
    for k in range(0, bins + 1, 2):
        x = left + k * bar_w
        parts.append(f'<text x="{x:.1f}" y="{top + plot_h + 15}" font-size="11" text-anchor="middle">'
                     f'{100 * k // bins}%</text>')
    parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" font-size="11" text-anchor="middle">'
                 f'score (share of {max_score:g} points)</text>')
    parts.append("</svg>")
    return "".join(parts)


def class_summary(rows: list[StudentRow], results: dict[str, dict], assignments: list[tuple[str, str]],
                  maxima: dict[str, float], title: str) -> ClassSummary:
    """Summarise the batch. `results` maps a student's folder to their results.json data."""
    names = [n for n, _ in assignments]
    graded = [r for r in rows if r.status == "graded"]
    stats = []
    for name, assignment_title in assignments:
        scores = [r.score(name) for r in graded]
        a = AssignmentStats(name, assignment_title, maxima.get(name, 0.0), [s for s in scores if s is not None])
        a.histogram_svg = histogram_svg(f"{assignment_title}: {a.count} students", a.scores, a.max_score)
        stats.append(a)
    tests: dict[str, TestStats] = {}
    for row in graded:
        data = results.get(row.entry.folder) or {}
        failed_assignments = {a["name"] for a in row.state["assignments"] if a.get("error")}
        for t in data.get("tests", []):
            assignment = str(t.get("number", "")).split(".")[0]
            if assignment in failed_assignments:  # file missing or broken: says nothing about this test
                continue
            entry = tests.setdefault(t["number"], TestStats(t["number"], t["name"], assignment))
            entry.attempts += 1
            entry.passed += t.get("status") == "passed"
    ordered_tests = sorted(tests.values(), key=lambda t: (-(t.failed / t.attempts if t.attempts else 0),
                                                          names.index(t.assignment) if t.assignment in names else 99,
                                                          _number_key(t.number)))
    environments = Counter((r.state.get("sandbox", "?"), r.state.get("device", "?")) for r in graded)
    counts = Counter(r.status for r in rows)
    return ClassSummary(
        title=title,
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        version=__version__,
        counts={s: counts.get(s, 0) for s in STATUSES} | {"total": len(rows)},
        assignments=stats,
        tests=ordered_tests,
        problems=[r for r in rows if r.status in ("refused", "error") or (r.status == "graded" and r.reason)],
        slowest=sorted(graded, key=lambda r: -float(r.state.get("seconds", 0.0)))[:SLOWEST],
        students=rows,
        environments=[(s, d, n) for (s, d), n in environments.most_common()],
        assignment_names=names,
        max_total=sum(maxima.get(n, 0.0) for n in names),
    )


def _number_key(number: str) -> tuple:
    return tuple(int(p) if p.isdigit() else 0 for p in number.split(".")[1:])


def write_summary(path: Path, summary: ClassSummary, template_dir: Path | None = None) -> Path:
    template = environment(template_dir).get_template("summary.html.j2")
    atomic_write(path, template.render(summary=summary))
    return path
