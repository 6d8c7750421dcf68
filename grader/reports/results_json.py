"""results.json: a superset of Gradescope's autograder results format (see DESIGN.md).

Every string in it has passed through ``sanitize.clean``. Every text field is declared plain
text (``output_format``/``name_format`` per test, ``output_format``, ``test_output_format`` and
``test_name_format`` at the top): Gradescope's default format for outputs renders HTML, so a
student's exception text could otherwise become markup on Gradescope's pages.
"""
from __future__ import annotations

from ..models import GradingResult
from .sanitize import clean_result

TEXT_FORMAT = "text"  # Gradescope's output formats: text, html, simple_format (its default), md, ansi


def results_dict(result: GradingResult) -> dict:
    result = clean_result(result)
    tests = []
    for t in result.tests:
        tests.append({"name": t.name, "number": t.number, "score": t.score, "max_score": t.max_score,
                      "status": t.status, "visibility": t.visibility, "output": t.output,
                      "output_format": TEXT_FORMAT, "name_format": TEXT_FORMAT, "tags": list(t.tags)})
    return {
        "score": round(result.score, 6),
        "max_score": round(result.max_score, 6),
        "execution_time": round(result.seconds, 3),
        "output_format": TEXT_FORMAT,
        "test_output_format": TEXT_FORMAT,
        "test_name_format": TEXT_FORMAT,
        "tests": tests,
        "assignments": [{"name": a.name, "score": a.score, "max_score": a.max_score, "error": a.error,
                         "public_only": a.public_only, "hidden_points": a.hidden_points}
                        for a in result.assignments],
        "grader": {"version": result.version, "sandbox": result.sandbox, "device": result.device,
                   "isolation": dict(result.isolation)},
    }
