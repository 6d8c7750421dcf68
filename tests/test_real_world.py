"""Real-world submissions (issue 11): what students' systems and editors make is graded right or
named clearly. A correct conv.py inside a zipped project with a virtual environment and a 60 MB
data file, a Windows PowerShell zip, ``Conv.py``, a Jupyter notebook: full marks, with a note;
``hw3/`` beside ``hw3 copy/``: both named, the student flagged; a broken file: one message; an
empty folder: status ``empty``; stray files in a batch folder: ignored, not students."""
from __future__ import annotations

import json
import zipfile

import nbformat
import numpy as np
import pytest

from grader.pipeline import GradeOptions, grade_submission
from grader.reports import write_reports
from grader.reports.results_json import results_dict
from grader.reports.sanitize import md_inline
from tests.helpers import COURSE, assignment_score, assignment_tests
from tests.test_batch import gradebook, run_grader, toy_sources, write_zip

pytestmark = pytest.mark.slow

CONV = COURSE.assignment("conv")
REFERENCE = CONV.solution_file.read_bytes()
SKELETON = CONV.skeleton_file.read_bytes()
CONV_POINTS = 103.0


def notebook(*cells: str) -> str:
    """A notebook as Jupyter saves it (a markdown cell, then code cells)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# Homework 3: convolution")]
    nb.cells += [nbformat.v4.new_code_cell(c, execution_count=k) for k, c in enumerate(cells, 1)]
    return nbformat.writes(nb)


def project_zip(path):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("hw3/conv.py", REFERENCE, compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("hw3/data/cifar_subset.npy", np.random.default_rng(0).bytes(60_000_000))
        z.writestr("hw3/venv/pyvenv.cfg", "home = /usr/bin\ninclude-system-site-packages = false\n")
        for i in range(599):
            z.writestr(f"hw3/venv/lib/python3.12/site-packages/numpy/m{i}.py", "x = 1\n",
                       compress_type=zipfile.ZIP_DEFLATED)
    return path


def powershell_zip(path):  # Compress-Archive of Windows PowerShell 5.1: backslashes, no folder entries
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("hw3\\conv.py", REFERENCE)
        z.writestr("hw3\\notes.txt", "done\r\n")
    return path


def renamed(path):
    path.mkdir()
    (path / "Conv.py").write_bytes(REFERENCE)
    return path


def jupyter(path):
    path.mkdir()
    (path / "conv.ipynb").write_text(notebook("%matplotlib inline\nimport numpy as np", "!pip install numpy",
                                              REFERENCE.decode(), "print(conv_output_size(5, 3, pad=1))"))
    return path


CASES = {
    "project.zip": (project_zip, "hw3/conv.py", None),
    "powershell.zip": (powershell_zip, "hw3/conv.py", None),
    "renamed": (renamed, "Conv.py", "must be named conv.py"),
    "notebook": (jupyter, "conv.ipynb", "code cells of the notebook conv.ipynb"),
}


def grade_to(submission, out, assignments=("conv",)):
    result = grade_submission(submission, COURSE, list(assignments) if assignments else None, GradeOptions())
    write_reports(result, out, COURSE.root / "templates")
    return results_dict(result)


@pytest.mark.parametrize("case", list(CASES))
def test_a_correct_conv_in_what_students_submit_earns_full_marks_with_a_note(tmp_path, case):
    make, graded, note = CASES[case]
    data = grade_to(make(tmp_path / case), tmp_path / "out")
    conv = data["assignments"][0]
    print(f"{case}: {conv['score']:g}/{conv['max_score']:g}, graded {conv['graded_path']}, notes {conv['notes']}")
    assert (conv["score"], conv["max_score"], conv["error"]) == (CONV_POINTS, CONV_POINTS, None)
    assert conv["graded_path"] == graded and data["status"] == "graded" and not conv["ambiguous"]
    report = (tmp_path / "out" / "report.md").read_text()
    assert f"Graded: {md_inline(graded)}" in report
    if note:
        assert any(note in n for n in conv["notes"]) and md_inline(note.split()[-1]) in report
    else:
        assert conv["notes"] == []
    if case == "project.zip":
        assert data["ignored"] == ["hw3/venv/ (600 files)", "hw3/data/cifar_subset.npy (60.0 MB)"]
    if case == "notebook":
        assert "%matplotlib inline (cell 1), !pip install numpy (cell 2)" in conv["notes"][1]


def test_hw3_and_hw3_copy_are_both_named_and_the_filled_in_one_graded(tmp_path):
    archive = tmp_path / "student.zip"
    write_zip(archive, {"hw3/conv.py": SKELETON, "hw3 copy/conv.py": REFERENCE})
    data = grade_to(archive, tmp_path / "out")
    conv = data["assignments"][0]
    assert conv["ambiguous"] and conv["graded_path"] == "hw3 copy/conv.py" and conv["score"] == CONV_POINTS
    assert sorted(conv["candidates"]) == ["hw3 copy/conv.py", "hw3/conv.py"]
    for kind in ("md", "html"):
        report = (tmp_path / "out" / f"report.{kind}").read_text()
        assert "Ambiguous" in report
        for name in ("hw3/conv.py", "hw3 copy/conv.py"):
            assert (md_inline(name) if kind == "md" else name) in report


def test_a_syntax_error_is_said_once_and_the_report_stays_short(tmp_path):
    (tmp_path / "dave").mkdir()
    (tmp_path / "dave" / "conv.py").write_text("import numpy as np\n\n\ndef conv_output_size(n, f, stride=1, pad=0)\n"
                                              "    return 1\n")
    data = grade_to(tmp_path / "dave", tmp_path / "out", assignments=None)
    conv = next(a for a in data["assignments"] if a["name"] == "conv")
    assert "SyntaxError" in conv["error"] and "line 4" in conv["error"] and conv["graded_path"] == "conv.py"
    tests = assignment_tests(data, "conv")
    assert len(tests) > 50 and {t["output"] for t in tests} == {
        "not run: conv.py could not be graded (the reason is given once, for the whole assignment)"}
    assert data["status"] == "graded"   # a file was there: broken, not empty
    lines = (tmp_path / "out" / "report.md").read_text().splitlines()
    print(f"report.md of a syntax-error conv.py, every assignment: {len(lines)} lines")
    assert len(lines) < 80 and sum("SyntaxError" in line for line in lines) == 1


def test_an_empty_folder_has_status_empty(tmp_path):
    (tmp_path / "empty").mkdir()
    data = grade_to(tmp_path / "empty", tmp_path / "out", assignments=None)
    assert data["status"] == "empty" and data["score"] == 0 and data["max_score"] > 300
    assert all(a["error"].startswith("missing file") and a["graded_path"] is None for a in data["assignments"])
    assert len({t["output"] for t in data["tests"]}) == len(data["assignments"])   # one message per assignment
    report = (tmp_path / "out" / "report.md").read_text()
    assert "Empty submission" in report and len(report.splitlines()) < 80
    assert assignment_score(data, "conv") == (0, CONV_POINTS)


def test_batch_flags_ambiguous_and_empty_students_and_ignores_stray_files(tmp_path, toy_course):
    src = toy_sources(toy_course)
    subs, out = tmp_path / "subs", tmp_path / "out"
    subs.mkdir()
    write_zip(subs / "ann.zip", {"hw3/toy.py": src["skeleton"].encode(), "hw3 copy/toy.py": src["full"].encode()})
    (subs / "emma").mkdir()
    (subs / "emma" / "notes.txt").write_text("I will submit tomorrow")
    (subs / "nina").mkdir()
    (subs / "nina" / "toy.ipynb").write_text(notebook("%load_ext autoreload", src["full"]))
    (subs / "readme.txt").write_text("submissions of week 3")
    done = run_grader("batch", subs, "--out", out, "--jobs", 2, "--course", toy_course)
    assert done.returncode == 0, done.stderr
    book = gradebook(out)
    assert sorted(book) == ["ann", "emma", "nina"], "readme.txt is no student"
    assert book["ann"]["flags"] == "ambiguous" and book["ann"]["status"] == "graded"
    assert "hw3/toy.py" in book["ann"]["reason"] and "hw3 copy/toy.py" in book["ann"]["reason"]
    assert book["ann"]["total"] == "6" and book["nina"]["total"] == "6" and book["nina"]["flags"] == ""
    assert (book["emma"]["status"], book["emma"]["total"]) == ("empty", "0")
    assert "readme.txt" in " ".join(done.stdout.split()) and "1 empty" in done.stdout
    summary = (out / "summary.html").read_text()
    assert "readme.txt" in summary and "ambiguous" in summary and 'class="status-empty"' in summary
    assert json.loads((out / "emma" / "results.json").read_text())["status"] == "empty"
