"""Reports from results: results.json (Gradescope-compatible), report.html and report.md (Jinja)."""
from .render import write_reports

__all__ = ["write_reports"]
