"""`grader.check` in a Jupyter kernel (run headless with nbclient): the public tests of the file
next to the notebook, shown as a table with the same counts as `grader check` in a terminal."""
from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

REPO = Path(__file__).resolve().parents[1]
SUMMARY = re.compile(r"Public tests only:\s+(\d+)/(\d+) passed, ([\d.]+)/([\d.]+) points")


def _half_done_conv() -> str:
    """The conv skeleton with conv_output_size filled in (the reference's), the rest untouched."""
    reference = (REPO / "solutions/conv/conv.py").read_text()
    function = next(n for n in ast.parse(reference).body if getattr(n, "name", "") == "conv_output_size")
    return (REPO / "assignments/conv/conv.py").read_text() + "\n\nimport numbers\n\n\n" + \
        ast.get_source_segment(reference, function) + "\n"


def test_grader_check_in_a_kernel_shows_what_the_terminal_shows(tmp_path, monkeypatch):
    (tmp_path / "conv.py").write_text(_half_done_conv())
    monkeypatch.setenv("GRADER_COURSE", str(REPO))
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    done = subprocess.run([sys.executable, "-m", "grader", "check", "conv"], cwd=tmp_path, env=os.environ,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    passed, total, score, max_score = SUMMARY.search(" ".join(done.stdout.split())).groups()
    assert 0 < int(passed) < int(total)

    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell('import grader\nresult = grader.check("conv")\nresult'),
        nbformat.v4.new_code_cell('print(result.passed, result.failed, f"{result.score:g}", f"{result.max_score:g}")'),
    ])
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    shown = notebook.cells[0].outputs[0]["data"]
    html = shown["text/html"]
    assert SUMMARY.search(html).groups() == (passed, total, score, max_score)
    assert html.count(">passed<") == int(passed) and html.count(">FAILED<") == int(total) - int(passed)
    assert "conv_output_size" in html and "74 more points are in hidden tests" in html
    assert SUMMARY.search(shown["text/plain"]).groups() == (passed, total, score, max_score)
    printed = notebook.cells[1].outputs[0]["text"].split()
    assert printed == [passed, str(int(total) - int(passed)), score, max_score]
