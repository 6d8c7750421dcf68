"""Write results.json, report.html and report.md for one graded submission.

Templates live in the course's ``templates/`` folder (falling back to the copy beside this
package); autoescaping is on for HTML. The HTML report is self-contained: no external CSS,
fonts, scripts or images (pictures are inline SVG or data: URIs), and its Content-Security-Policy
forbids them anyway.

Student text is inert in every report: the result is passed through ``sanitize.clean_result``
before rendering, every value a template prints is made ``inert`` once more (Jinja's
``finalize``), and the Markdown template quotes student text with the ``md_inline`` and
``md_code`` filters.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path

import jinja2
from markupsafe import Markup

from ..files import atomic_write
from ..models import GradingResult
from . import feedback
from .results_json import results_dict
from .sanitize import clean_result, inert, md_code, md_inline

PACKAGE_TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


@functools.lru_cache(maxsize=8)
def environment(template_dir: Path | None = None) -> jinja2.Environment:
    """The Jinja environment for a course's templates: made once per process (its templates are
    compiled once, a batch renders every student with them), with Jinja's bytecode cache (a
    private 0700 folder of this user in the temporary folder, keyed by each template's source)
    so a one-off grading does not compile them again either."""
    folders = [str(p) for p in (template_dir, PACKAGE_TEMPLATES) if p is not None and Path(p).is_dir()]
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(folders), bytecode_cache=_bytecode_cache(),
                             autoescape=jinja2.select_autoescape(["html", "html.j2"]),
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined,
                             finalize=_finalize)
    env.filters["points"] = lambda x: f"{x:g}"
    env.filters["npoints"] = lambda x: f"{x:g} point" + ("" if x == 1 else "s")
    env.filters["md_inline"] = md_inline
    env.filters["md_code"] = md_code
    for name in ("diagnoses", "failure_groups", "passed_tests"):
        env.globals[name] = getattr(feedback, name)
    return env


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    try:   # Jinja makes the folder 0700 and refuses one another user owns or could write to
        return jinja2.FileSystemBytecodeCache()
    except (OSError, RuntimeError):
        return None


def _finalize(value):
    """Every value a template prints: text made inert (markup the grader built, e.g. an SVG
    chart, is kept as it is)."""
    return inert(value) if isinstance(value, str) and not isinstance(value, Markup) else value


def render_report(result: GradingResult, kind: str, template_dir: Path | None = None, *,
                  cleaned: bool = False) -> str:
    """The report of `kind` ("html" or "md"); `cleaned`: `result` already went through ``clean_result``."""
    result = result if cleaned else clean_result(result)
    template = environment(template_dir).get_template(f"report.{kind}.j2")
    return template.render(result=result, student=Path(result.submission).name)


def write_reports(result: GradingResult, out: Path, template_dir: Path | None = None) -> dict[str, Path]:
    """Write the three report files into `out`; return their paths by kind."""
    paths = {"json": out / "results.json", "html": out / "report.html", "md": out / "report.md"}
    cleaned = clean_result(result)   # once for both templates
    atomic_write(paths["html"], render_report(cleaned, "html", template_dir, cleaned=True))
    atomic_write(paths["md"], render_report(cleaned, "md", template_dir, cleaned=True))
    atomic_write(paths["json"], json.dumps(results_dict(result), indent=2) + "\n")
    return paths
