"""results.json: a superset of Gradescope's autograder results format.

``results_dict`` is ``GradingResult.to_dict`` (``grader.models``, the one writer of the format,
whose ``from_dict`` reads it back) applied to a copy of the result whose every string has
passed through ``sanitize.clean``. The keys:

- top level: ``score``, ``max_score``, ``execution_time`` (seconds), ``tests``,
  ``assignments``, ``grader``, and ``output_format``, ``test_output_format``,
  ``test_name_format`` (all "text");
- each test: ``name``, ``number`` ("conv.4"), ``score``, ``max_score``, ``status`` ("passed" or
  "failed"), ``visibility`` (Gradescope's: "visible", "after_due_date", "after_published",
  "hidden"), ``output`` (the check's message; for public tests also what the student printed),
  ``output_format`` and ``name_format`` ("text"), ``tags``, and ``assignment`` (its name);
- top level too: ``status`` ("graded", or "empty" when the submission holds no file for any
  assignment) and ``ignored`` (what the intake left out, one summarised line each: "venv/ (600
  files)");
- each assignment: ``name``, ``score``, ``max_score``, ``error`` (one line when it could not be
  graded at all, its score then 0, else null; its tests then carry one short shared message),
  ``public_only`` and ``hidden_points`` (the points waiting in hidden tests that were not run,
  or null), ``graded_path`` (the submission's file graded, or null), ``notes`` (how it was
  found: another case, a notebook, copies), ``candidates`` (every copy found, when several),
  ``ambiguous`` (several different copies) and ``diagnoses`` ("Likely mistake: ..." lines from
  the mistake catalogue, matched on the student's outputs; usually empty);
- ``grader``: ``version``, ``sandbox`` (the mode: "bubblewrap" or "basic"), ``device``, and
  ``isolation`` (what was in force: mode, uid, seccomp, resource fences, and a one-line
  ``summary``).

Every text field is declared plain text: Gradescope's default format for outputs renders HTML,
so a student's exception text could otherwise become markup on Gradescope's pages. The
Gradescope entry point (``grader.gradescope``) adds ``output`` and ``stdout_visibility``.
"""
from __future__ import annotations

from ..models import TEXT_FORMAT, GradingResult
from .sanitize import clean_result

__all__ = ["TEXT_FORMAT", "results_dict"]


def results_dict(result: GradingResult) -> dict:
    """The results.json data of `result`, every string cleaned (see the module docstring)."""
    return clean_result(result).to_dict()
