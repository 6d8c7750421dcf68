"""Inline SVG line charts for reports, built as plain strings (no plotting library).

All text that goes into the picture (title, axis labels, series names) is escaped, so a
name chosen by anyone cannot inject markup into an HTML report.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

# Okabe-Ito colours (distinguishable with colour-blindness); dashes vary as well so that
# two series drawn exactly on top of each other both stay visible.
_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
_DASHES = ("", "6 4", "2 3", "10 3 2 3")

_MARGIN_LEFT, _MARGIN_RIGHT, _MARGIN_TOP, _MARGIN_BOTTOM = 64, 16, 52, 44


def _text(value: object) -> str:
    return escape(str(value), quote=True)


def _number(value: float) -> str:
    """Short coordinate text: 2 decimals are ample for a picture."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _finite(value: object, log: bool) -> float | None:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if not math.isfinite(v) or (log and v <= 0.0):
        return None
    return v


def _nice_step(span: float, target_ticks: int) -> float:
    raw = span / max(target_ticks, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 2.5, 5.0, 10.0):
        if raw <= factor * power:
            return factor * power
    return 10.0 * power


def _linear_ticks(low: float, high: float, target_ticks: int = 5) -> tuple[float, float, list[float]]:
    if high <= low:
        pad = abs(low) * 0.1 or 1.0
        low, high = low - pad, high + pad
    step = _nice_step(high - low, target_ticks)
    start = math.floor(low / step) * step
    stop = math.ceil(high / step) * step
    ticks = []
    k = 0
    while start + k * step <= stop + step * 1e-9:
        ticks.append(start + k * step)
        k += 1
    return start, stop, ticks


def _log_ticks(low: float, high: float, max_ticks: int = 8) -> tuple[float, float, list[float]]:
    """Axis range in log10 units (whole decades) and tick positions (log10 values)."""
    lo = math.floor(math.log10(low))
    hi = math.ceil(math.log10(high))
    if hi == lo:
        hi = lo + 1
    every = max(1, math.ceil((hi - lo) / max_ticks))
    return float(lo), float(hi), [float(k) for k in range(int(lo), int(hi) + 1, every)]


def _linear_label(value: float, step: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1e4 or abs(value) < 1e-3:
        return f"{value:.3g}"
    decimals = max(0, -math.floor(math.log10(step)) + (1 if step / 10 ** math.floor(math.log10(step)) == 2.5 else 0))
    return f"{value:.{decimals}f}"


def line_chart(series: Mapping[str, Sequence[float]], *, title: str, x_label: str, y_label: str,
               log_y: bool = False, x_values: Sequence[float] | None = None,
               width: int = 560, height: int = 320) -> str:
    """Draw one or more series as lines in an SVG image and return the SVG text.

    Inputs:
    - series: name -> y values; the i-th value is drawn at x_values[i] (default i + 1).
    - title, x_label, y_label: text shown on the picture (escaped here).
    - log_y: logarithmic y axis with ticks at whole decades; values <= 0, NaN and inf
      cannot be drawn there and leave a gap in their line (on a linear axis only NaN and
      inf do).
    - width, height: size of the picture in pixels.

    Returns a standalone `<svg>` element (with a <title> for screen readers) that can be
    written to a .svg file or inlined in HTML.
    """
    names = list(series)
    lengths = [len(series[name]) for name in names]
    n_points = max(lengths, default=0)
    xs = [float(v) for v in x_values] if x_values is not None else [float(i + 1) for i in range(n_points)]
    if len(xs) < n_points:
        raise ValueError(f"line_chart: {len(xs)} x values for series of up to {n_points} points")

    points = {name: [(xs[i], _finite(v, log_y)) for i, v in enumerate(series[name])] for name in names}
    ys = [y for pts in points.values() for _, y in pts if y is not None]
    used_x = [x for pts in points.values() for x, y in pts if y is not None] or xs or [0.0, 1.0]

    plot_left, plot_right = _MARGIN_LEFT, width - _MARGIN_RIGHT
    plot_top, plot_bottom = _MARGIN_TOP, height - _MARGIN_BOTTOM

    x_low, x_high, x_ticks = _linear_ticks(min(used_x), max(used_x), target_ticks=min(10, max(1, len(xs) - 1)))
    if ys:
        if log_y:
            y_low, y_high, y_ticks = _log_ticks(min(ys), max(ys))
        else:
            y_low, y_high, y_ticks = _linear_ticks(min(ys), max(ys))
    else:
        y_low, y_high, y_ticks = (0.0, 1.0, [0.0, 1.0])

    def to_px_x(x: float) -> float:
        return plot_left + (x - x_low) / (x_high - x_low) * (plot_right - plot_left)

    def to_px_y(y: float) -> float:
        value = math.log10(y) if log_y else y
        return plot_bottom - (value - y_low) / (y_high - y_low) * (plot_bottom - plot_top)

    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" font-family="sans-serif" font-size="11">',
        f"<title>{_text(title)}</title>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{width / 2:.1f}" y="18" text-anchor="middle" font-size="14" font-weight="bold">{_text(title)}</text>',
    ]

    # Grid, ticks and tick labels.
    y_step = (y_ticks[1] - y_ticks[0]) if len(y_ticks) > 1 else 1.0
    for t in y_ticks:
        py = plot_bottom - (t - y_low) / (y_high - y_low) * (plot_bottom - plot_top)
        label = f"1e{int(t)}" if log_y else _linear_label(t, y_step)
        out.append(f'<line x1="{plot_left}" y1="{_number(py)}" x2="{plot_right}" y2="{_number(py)}" stroke="#e0e0e0"/>')
        out.append(f'<text x="{plot_left - 6}" y="{_number(py + 4)}" text-anchor="end">{_text(label)}</text>')
    x_step = (x_ticks[1] - x_ticks[0]) if len(x_ticks) > 1 else 1.0
    for t in x_ticks:
        px = to_px_x(t)
        out.append(f'<line x1="{_number(px)}" y1="{plot_bottom}" x2="{_number(px)}" y2="{plot_bottom + 4}" stroke="#444444"/>')
        out.append(f'<text x="{_number(px)}" y="{plot_bottom + 16}" text-anchor="middle">{_text(_linear_label(t, x_step))}</text>')
    out.append(f'<rect x="{plot_left}" y="{plot_top}" width="{plot_right - plot_left}" '
               f'height="{plot_bottom - plot_top}" fill="none" stroke="#444444"/>')

    # Axis labels.
    out.append(f'<text x="{(plot_left + plot_right) / 2:.1f}" y="{height - 8}" text-anchor="middle">{_text(x_label)}</text>')
    mid_y = (plot_top + plot_bottom) / 2
    out.append(f'<text x="14" y="{mid_y:.1f}" text-anchor="middle" transform="rotate(-90 14 {mid_y:.1f})">'
               f"{_text(y_label + (' (log scale)' if log_y else ''))}</text>")

    # Lines: one polyline per unbroken run of drawable points, plus a marker per point.
    for k, name in enumerate(names):
        colour = _COLOURS[k % len(_COLOURS)]
        dash = _DASHES[k % len(_DASHES)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        runs: list[list[tuple[float, float]]] = [[]]
        for x, y in points[name]:
            if y is None:
                runs.append([])
            else:
                runs[-1].append((to_px_x(x), to_px_y(y)))
        out.append(f'<g><title>{_text(name)}</title>')
        for run in runs:
            if len(run) > 1:
                coords = " ".join(f"{_number(px)},{_number(py)}" for px, py in run)
                out.append(f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2"{dash_attr}/>')
            for px, py in run:
                out.append(f'<circle cx="{_number(px)}" cy="{_number(py)}" r="2.5" fill="{colour}"/>')
        out.append("</g>")

    # Legend along the top, under the title.
    legend_x = plot_left
    for k, name in enumerate(names):
        colour = _COLOURS[k % len(_COLOURS)]
        dash = _DASHES[k % len(_DASHES)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<line x1="{legend_x}" y1="36" x2="{legend_x + 24}" y2="36" stroke="{colour}" stroke-width="2"{dash_attr}/>')
        out.append(f'<text x="{legend_x + 30}" y="40">{_text(name)}</text>')
        legend_x += 30 + 7 * len(str(name)) + 24

    if not ys:
        out.append(f'<text x="{(plot_left + plot_right) / 2:.1f}" y="{mid_y:.1f}" text-anchor="middle" '
                   f'fill="#888888">no drawable values{" (log scale needs values > 0)" if log_y else ""}</text>')
    out.append("</svg>")
    return "\n".join(out)
