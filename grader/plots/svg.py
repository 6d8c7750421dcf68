"""Inline SVG charts for reports, built as plain strings (no plotting library): line charts
(the init report's curves) and bar charts (the class summary's score histograms).

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
_LEGEND_Y = 36
_FAILING = "#cf222e"        # a series whose test failed: red, thick, named "(failed)" in the legend
_LIMIT = 1e300              # |values| beyond are clamped: the axis arithmetic must stay finite
_LOG_FLOOR = 1e-300         # positive values below are clamped there on a log axis (5e-324 included)


def _format(value: object) -> str:
    """Attribute text: numbers with at most 2 decimals (ample for a picture), the rest escaped."""
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return escape(str(value), quote=True)


def _element(tag: str, text: str | None = None, children: str = "", **attributes: object) -> str:
    """One SVG element holding `children` (SVG text built here) then `text` (escaped);
    attribute names use _ for - (stroke_width -> stroke-width)."""
    attrs = "".join(f' {name.replace("_", "-")}="{_format(value)}"' for name, value in attributes.items()
                    if value is not None)
    if text is None and not children:
        return f"<{tag}{attrs}/>"
    return f"<{tag}{attrs}>{children}{escape(str(text), quote=True) if text is not None else ''}</{tag}>"


def _finite(value: object, log: bool) -> float | None:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if not math.isfinite(v) or (log and v <= 0.0):
        return None
    return min(max(v, _LOG_FLOOR), _LIMIT) if log else min(max(v, -_LIMIT), _LIMIT)


def _nice_step(span: float, target_ticks: int) -> float:
    raw = span / max(target_ticks, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 2.5, 5.0, 10.0):
        if raw <= factor * power:
            return factor * power
    return 10.0 * power


def _linear_ticks(low: float, high: float, target_ticks: int = 5) -> tuple[float, float, list[float]]:
    """Axis range rounded out to a 'nice' step (1, 2, 2.5 or 5 times a power of 10) and its ticks."""
    if high <= low:
        pad = abs(low) * 0.1 or 1.0
        low, high = low - pad, high + pad
    step = _nice_step(high - low, target_ticks)
    start = math.floor(low / step) * step
    stop = math.ceil(high / step) * step
    count = int(round((stop - start) / step))
    return start, stop, [start + k * step for k in range(count + 1)]


def _log_ticks(low: float, high: float, max_ticks: int = 8) -> tuple[float, float, list[float]]:
    """Axis range in log10 units (whole decades) and tick positions (log10 values): every
    decade (every k-th when there are many), plus 2x and 5x when the range is at most two
    decades."""
    lo = math.floor(math.log10(low))
    hi = math.ceil(math.log10(high))
    if hi == lo:
        hi = lo + 1
    every = max(1, math.ceil((hi - lo) / max_ticks))
    hi = lo + every * math.ceil((hi - lo) / every)
    ticks = [float(k) for k in range(lo, hi + 1, every)]
    if hi - lo <= 2:
        ticks += [k + math.log10(m) for k in range(lo, hi) for m in (2, 5)]
    return float(lo), float(hi), sorted(ticks)


def _log_label(exponent: float) -> str:
    """Label of the tick at 10**exponent: plain decimals from 0.001 to 1000, else 1e-6 style."""
    value = 10.0 ** exponent
    if 1e-3 <= value <= 1e3:
        return f"{value:.6g}"
    power = math.floor(exponent + 1e-9)
    return f"{round(10.0 ** (exponent - power))}e{power}"


def _linear_label(value: float, step: float) -> str:
    if abs(value) < step * 1e-9:
        return "0"
    if abs(value) >= 1e4 or abs(value) < 1e-3:
        return f"{value:.3g}"
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    if round(step / 10.0 ** math.floor(math.log10(step) + 1e-9), 6) == 2.5:
        decimals += 1
    return f"{value:.{decimals}f}"


def line_chart(series: Mapping[str, Sequence[float]], *, title: str, x_label: str, y_label: str,
               log_y: bool = False, x_values: Sequence[float] | None = None,
               band: tuple[str, Sequence[float], Sequence[float]] | None = None,
               failing: Sequence[str] = (), width: int = 560, height: int = 320) -> str:
    """Draw one or more series as lines in an SVG image and return the SVG text.

    Inputs:
    - series: name -> y values; the i-th value is drawn at x_values[i] (default i + 1).
    - title, x_label, y_label: text shown on the picture (escaped here).
    - log_y: logarithmic y axis with ticks at whole decades; values <= 0, NaN and inf
      cannot be drawn there and leave a gap in their line (on a linear axis only NaN and
      inf do); positive values under 1e-300 are drawn at 1e-300, |values| over 1e300 at 1e300.
    - band: (name, lows, highs), a shaded area (what a test accepts, say) drawn under the lines.
    - failing: names of series drawn as failing (red, thick, "(failed)" in the legend), so a
      chart agrees with the verdict of the test beside it.
    - width, height: size of the picture in pixels.

    Returns a standalone `<svg>` element (with a <title> for screen readers) that can be
    written to a .svg file or inlined in HTML. Raises ValueError when x_values is shorter
    than a series.
    """
    names = list(series)
    n_points = max((len(series[name]) for name in names), default=0)
    xs = [float(v) for v in x_values] if x_values is not None else [float(i + 1) for i in range(n_points)]
    if len(xs) < n_points:
        raise ValueError(f"line_chart: {len(xs)} x values for series of up to {n_points} points")

    points = {name: [(xs[i], _finite(v, log_y)) for i, v in enumerate(series[name])] for name in names}
    edges = [[(xs[i], _finite(v, log_y)) for i, v in enumerate(vs)] for vs in (band[1], band[2])] if band else []
    ys = [y for pts in [*points.values(), *edges] for _, y in pts if y is not None]
    used_x = [x for pts in points.values() for x, y in pts if y is not None] or xs or [0.0, 1.0]

    left, right = _MARGIN_LEFT, width - _MARGIN_RIGHT
    top, bottom = _MARGIN_TOP, height - _MARGIN_BOTTOM
    mid_x, mid_y = (left + right) / 2, (top + bottom) / 2

    x_low, x_high, x_ticks = _linear_ticks(min(used_x), max(used_x), target_ticks=min(10, max(1, len(xs) - 1)))
    if not ys:
        y_low, y_high, y_ticks = 0.0, 1.0, [0.0, 1.0]
    elif log_y:
        y_low, y_high, y_ticks = _log_ticks(min(ys), max(ys))
    else:
        y_low, y_high, y_ticks = _linear_ticks(min(ys), max(ys))

    def px_x(x: float) -> float:
        return left + (x - x_low) / (x_high - x_low) * (right - left)

    def px_y(axis_value: float) -> float:
        """Pixel row of a value in axis units (log10 of y on a log axis)."""
        return bottom - (axis_value - y_low) / (y_high - y_low) * (bottom - top)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" font-family="sans-serif" font-size="11">',
        _element("title", title),
        _element("rect", x=0, y=0, width=width, height=height, fill="#ffffff"),
        _element("text", title, x=width / 2, y=18.0, text_anchor="middle", font_size=14, font_weight="bold"),
    ]

    # Grid lines with y tick labels, x ticks with labels, the frame, the axis labels.
    y_step = (y_ticks[1] - y_ticks[0]) if len(y_ticks) > 1 else 1.0
    for t in y_ticks:
        py = px_y(t)
        out.append(_element("line", x1=left, y1=py, x2=right, y2=py, stroke="#e0e0e0"))
        label = _log_label(t) if log_y else _linear_label(t, y_step)
        out.append(_element("text", label, x=left - 6, y=py + 4, text_anchor="end"))
    x_step = (x_ticks[1] - x_ticks[0]) if len(x_ticks) > 1 else 1.0
    for t in x_ticks:
        px = px_x(t)
        out.append(_element("line", x1=px, y1=bottom, x2=px, y2=bottom + 4, stroke="#444444"))
        out.append(_element("text", _linear_label(t, x_step), x=px, y=bottom + 16, text_anchor="middle"))
    out.append(_element("rect", x=left, y=top, width=right - left, height=bottom - top, fill="none",
                        stroke="#444444"))
    out.append(_element("text", x_label, x=mid_x, y=height - 8, text_anchor="middle"))
    out.append(_element("text", y_label + (" (log scale)" if log_y else ""), x=14, y=mid_y, text_anchor="middle",
                        transform=f"rotate(-90 14 {mid_y:.1f})"))

    # The band (where both edges are drawable), then the lines: one polyline per unbroken run of
    # drawable points, plus a marker per point; the legend along the top, under the title.
    legend_x = left
    if band:
        pairs = [(px_x(x), lo, hi) for (x, lo), (_, hi) in zip(*edges) if lo is not None and hi is not None]
        to_px = (lambda v: px_y(math.log10(v))) if log_y else px_y
        outline = [(x, to_px(hi)) for x, _, hi in pairs] + [(x, to_px(lo)) for x, lo, _ in reversed(pairs)]
        if len(pairs) > 1:
            out.append(_element("polygon", points=" ".join(f"{_format(x)},{_format(y)}" for x, y in outline),
                                fill="#bbbbbb", fill_opacity=0.35, stroke="none"))
        out.append(_element("rect", x=legend_x, y=_LEGEND_Y - 5, width=24, height=10, fill="#bbbbbb",
                            fill_opacity=0.35))
        out.append(_element("text", band[0], x=legend_x + 30, y=_LEGEND_Y + 4))
        legend_x += 30 + 7 * len(str(band[0])) + 24
    for k, name in enumerate(names):
        bad = name in failing
        style = {"stroke": _FAILING if bad else _COLOURS[k % len(_COLOURS)], "stroke_width": 3 if bad else 2,
                 "stroke_dasharray": _DASHES[k % len(_DASHES)] or None}
        runs: list[list[tuple[float, float]]] = [[]]
        for x, y in points[name]:
            if y is None:
                runs.append([])
            else:
                runs[-1].append((px_x(x), px_y(math.log10(y) if log_y else y)))
        out.append("<g>" + _element("title", name))
        for run in runs:
            if len(run) > 1:
                coords = " ".join(f"{_format(px)},{_format(py)}" for px, py in run)
                out.append(_element("polyline", points=coords, fill="none", **style))
            out.extend(_element("circle", cx=px, cy=py, r=2.5, fill=style["stroke"]) for px, py in run)
        out.append("</g>")
        out.append(_element("line", x1=legend_x, y1=_LEGEND_Y, x2=legend_x + 24, y2=_LEGEND_Y, **style))
        label = f"{name} (failed)" if bad else name
        out.append(_element("text", label, x=legend_x + 30, y=_LEGEND_Y + 4, fill=_FAILING if bad else None))
        legend_x += 30 + 7 * len(str(label)) + 24

    if not ys:
        note = "no drawable values" + (" (log scale needs values > 0)" if log_y else "")
        out.append(_element("text", note, x=mid_x, y=mid_y, text_anchor="middle", fill="#888888"))
    out.append("</svg>")
    return "\n".join(out)


def bar_chart(counts: Sequence[int], *, title: str, x_label: str, tooltips: Sequence[str],
              ticks: Mapping[int, str], width: int = 520, height: int = 226) -> str:
    """Draw `counts` as adjacent vertical bars of equal width and return the SVG text.

    Inputs:
    - counts: the bars' heights (numbers of things, >= 0), left to right.
    - title, x_label: text shown above and under the picture (escaped here).
    - tooltips: one text per bar, shown when pointing at it (escaped here).
    - ticks: edge index (0 = the left edge of the first bar, len(counts) = the right edge of
      the last) -> the label shown under the axis there.
    - width, height: size of the picture in pixels.

    Each bar with a count shows it above; the y axis is labelled at 0, half the peak and the
    peak. Returns a standalone `<svg>` element with a <title> for screen readers.
    """
    left, right, top, bottom = 40, 24, 36, 40
    peak = max([*counts, 1])
    plot_w, plot_h = width - left - right, height - top - bottom
    base = top + plot_h
    bar_w = plot_w / max(len(counts), 1)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" font-family="sans-serif" font-size="11">',
           _element("title", title),
           _element("text", title, x=left, y=16, font_size=13, font_weight=600),
           _element("line", x1=left, y1=base, x2=left + plot_w, y2=base, stroke="#57606a")]
    for tick in sorted({0, peak // 2, peak}):
        out.append(_element("text", str(tick), x=left - 6, y=base - plot_h * tick / peak + 4, text_anchor="end"))
    for k, count in enumerate(counts):
        h, x = plot_h * count / peak, left + k * bar_w
        out.append(_element("rect", children=_element("title", tooltips[k]), x=x + 1, y=base - h,
                            width=bar_w - 2, height=h, fill=_COLOURS[0]))
        if count:
            out.append(_element("text", str(count), x=x + bar_w / 2, y=base - h - 3, text_anchor="middle"))
    for k, label in sorted(ticks.items()):
        out.append(_element("text", label, x=left + k * bar_w, y=base + 15, text_anchor="middle"))
    out.append(_element("text", x_label, x=left + plot_w / 2, y=height - 6, text_anchor="middle"))
    out.append("</svg>")
    return "\n".join(out)
