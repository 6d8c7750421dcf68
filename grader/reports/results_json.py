"""results.json: a superset of Gradescope's autograder results format (see DESIGN.md)."""
from __future__ import annotations

from ..models import GradingResult


def results_dict(result: GradingResult) -> dict:
    tests = []
    for t in result.tests:
        tests.append({"name": t.name, "number": t.number, "score": t.score, "max_score": t.max_score,
                      "status": t.status, "visibility": t.visibility, "output": t.output,
                      "tags": list(t.tags)})
    return {
        "score": round(result.score, 6),
        "max_score": round(result.max_score, 6),
        "execution_time": round(result.seconds, 3),
        "tests": tests,
        "assignments": [{"name": a.name, "score": a.score, "max_score": a.max_score, "error": a.error,
                         "public_only": a.public_only, "hidden_points": a.hidden_points}
                        for a in result.assignments],
        "grader": {"version": result.version, "sandbox": result.sandbox, "device": result.device},
    }
