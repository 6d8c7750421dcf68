"""Pictures for reports, drawn as plain SVG text (trusted side; no plotting library)."""
from grader.plots.svg import line_chart

__all__ = ["line_chart"]
