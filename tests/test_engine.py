"""The engine end to end on a one-function toy course: scores, feedback, reports, CLI, exit codes."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.course import find_course
from grader.pipeline import GradeOptions, grade_submission
from grader.reports import write_reports
from grader.reports.results_json import results_dict

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args, cwd=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "grader", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)


@pytest.fixture(scope="module")
def graded(toy_course, tmp_path_factory):
    """The toy reference, graded once, with a student print that tries to inject HTML."""
    folder = tmp_path_factory.mktemp("printing")
    (folder / "toy.py").write_text("import numpy as np\n"
                                   "def double(x):\n    print('<script>alert(1)</script>')\n    return 2 * np.asarray(x)\n")
    course = find_course(toy_course)
    result = grade_submission(folder, course, options=GradeOptions())
    out = tmp_path_factory.mktemp("out")
    write_reports(result, out, course.templates)
    return result, out


def test_results_json_has_the_design_fields(graded):
    result, out = graded
    data = json.loads((out / "results.json").read_text())
    assert set(data) >= {"score", "max_score", "execution_time", "tests", "assignments", "grader"}
    assert data["score"] == 6 and data["max_score"] == 7  # all but the deliberately failing hidden test
    for test in data["tests"]:
        assert set(test) >= {"name", "number", "score", "max_score", "status", "visibility", "output", "tags"}
        assert test["status"] in ("passed", "failed") and test["number"].startswith("toy.")
    assert data["assignments"] == [{"name": "toy", "score": 6.0, "max_score": 7.0, "error": None,
                                    "public_only": False, "hidden_points": None, "graded_path": "toy.py",
                                    "notes": [], "candidates": [], "ambiguous": False, "diagnoses": []}]
    assert data["status"] == "graded" and data["ignored"] == []
    assert data["grader"]["sandbox"] in ("bubblewrap", "basic") and data["grader"]["device"].startswith("cpu")
    names = [t["name"] for t in data["tests"]]
    assert "double matches the reference [5]" in names
    speed = next(t for t in data["tests"] if "speed" in t["tags"])
    assert re.search(r"ratio \d+\.\d \(allowed 20; \d timed rounds\)", speed["output"])


def test_hidden_feedback_never_shows_test_source_or_student_output(graded):
    result, out = graded
    hidden = [t for t in result.tests if not t.public]
    assert hidden and all(t.visibility == "after_due_date" for t in hidden)
    failing = next(t for t in hidden if not t.passed)
    for text in (failing.output, (out / "report.html").read_text(), (out / "report.md").read_text()):
        assert "secret_expected" not in text and "123456789" not in text and "Traceback" not in text
    assert all("<script>" not in t.output for t in hidden)  # student stdout only on public tests
    public = next(t for t in result.tests if t.public)
    assert "Your code printed" in public.output and "<script>alert(1)</script>" in public.output


def test_html_report_is_self_contained_and_escaped(graded):
    _, out = graded
    html = (out / "report.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert not re.search(r"<(script|link)\b", html) and "http://" not in html and "https://" not in html
    assert 'name="viewport"' in html and "Sandbox:" in html and "Device:" in html


def test_check_reports_public_tests_only(toy_course):
    done = run_cli("check", "toy", "--course", toy_course, "--path", toy_course / "solutions" / "toy")
    assert done.returncode == 0, done.stderr
    assert "public tests only" in done.stdout.lower() and "6 more points are in hidden tests" in done.stdout
    skeleton = run_cli("check", "toy", "--course", toy_course)  # default: assignments/toy
    assert skeleton.returncode == 1 and "NotImplementedError" in skeleton.stdout


def test_grade_writes_reports_and_exits_zero_whatever_the_score(toy_course, tmp_path):
    out = tmp_path / "rep"
    done = run_cli("grade", toy_course / "assignments" / "toy", "--course", toy_course, "--out", out)
    assert done.returncode == 0, done.stderr
    data = json.loads((out / "results.json").read_text())
    assert data["score"] == 0 and data["max_score"] == 7
    assert (out / "report.html").is_file() and (out / "report.md").is_file()


@pytest.mark.parametrize("args,message", [
    (["grade", "/no/such/submission"], "no such file or folder"),
    (["grade", ".", "--assignment", "nope"], "unknown assignment 'nope'"),
    (["check", "nope"], "unknown assignment"),
    (["grade"], "required"),
    (["frobnicate"], "invalid choice"),
    (["grade", ".", "--sandbox", "docker"], "invalid choice"),
])
def test_bad_input_is_one_line_and_exit_code_2(toy_course, args, message):
    done = run_cli(*args, "--course", toy_course)
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_no_course_here_is_exit_code_2(tmp_path):
    done = run_cli("list", cwd=tmp_path)
    assert done.returncode == 2 and "no course folder" in done.stderr


def test_missing_file_and_syntax_error_become_assignment_errors(toy_course, tmp_path):
    course = find_course(toy_course)
    (tmp_path / "empty").mkdir()
    missing = grade_submission(tmp_path / "empty", course).assignments[0]
    assert missing.error == "missing file: toy.py is not in the submission" and missing.score == 0
    assert missing.tests and not any(t.passed for t in missing.tests)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "toy.py").write_text("def double(x)\n    return x\n")
    broken = grade_submission(tmp_path / "broken", course).assignments[0]
    assert "SyntaxError" in broken.error and "line 1" in broken.error and broken.score == 0


def test_validate_flags_a_reference_that_loses_points(toy_course):
    done = run_cli("validate", "--course", toy_course)
    assert done.returncode == 1 and "reference loses points" in done.stdout


def test_list_shows_points(toy_course):
    done = run_cli("list", "--course", toy_course)
    assert done.returncode == 0 and "toy" in done.stdout


def test_results_dict_round_trips_through_json(graded):
    result, _ = graded
    assert json.loads(json.dumps(results_dict(result)))["score"] == 6


def test_results_json_reads_back_into_the_model(graded):
    from grader.models import GradingResult, TestStatus
    _, out = graded
    data = json.loads((out / "results.json").read_text())
    assert all(t["assignment"] == "toy" for t in data["tests"])
    again = GradingResult.from_dict(data, submission="printing")
    assert again.to_dict() == data and (again.score, again.max_score) == (6, 7)
    assert {t.status for t in again.tests} == {TestStatus.PASSED, TestStatus.FAILED}


def test_an_assignment_whose_tests_did_not_run_is_an_error_not_a_zero(toy_course, tmp_path):
    course = find_course(toy_course)
    result = grade_submission(toy_course / "solutions/toy", course, ["toy"], GradeOptions(keyword="no_such_test"))
    assert result.assignments[0].error == "no test of toy matched -k 'no_such_test'"
    shutil.rmtree(tmp_path / "c", ignore_errors=True)
    shutil.copytree(toy_course, tmp_path / "c")
    for test_file in (tmp_path / "c").rglob("test_*.py"):
        test_file.unlink()
    result = grade_submission(toy_course / "solutions/toy", find_course(tmp_path / "c"), ["toy"])
    assert result.assignments[0].error.startswith("none of toy's tests ran")


def test_bubblewrap_asked_for_where_it_cannot_start_is_one_line_and_exit_2(toy_course):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PATH": "/nonexistent"}  # no bwrap on the PATH
    done = subprocess.run([sys.executable, "-m", "grader", "grade", str(toy_course / "solutions/toy"),
                           "--course", str(toy_course), "--sandbox", "bubblewrap", "--out", "/dev/null/x"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "bubblewrap cannot start" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_a_self_check_counts_the_points_waiting_in_hidden_tests(toy_course):
    result = grade_submission(toy_course / "solutions/toy", find_course(toy_course), ["toy"],
                              GradeOptions(public_only=True))
    assert result.assignments[0].hidden_points == 6  # counted from the hidden tests, as toml says


def test_a_visibility_gradescope_does_not_know_is_refused_at_collection(toy_course, tmp_path):
    course_root = tmp_path / "course"
    shutil.copytree(toy_course, course_root)
    hidden = course_root / "solutions/toy/tests/test_toy_hidden.py"
    hidden.write_text(hidden.read_text() + '\n\n@pytest.mark.visibility("after_lunch")\n'
                      'def test_odd_visibility(student):\n    pass\n')
    result = grade_submission(course_root / "solutions/toy", find_course(course_root), ["toy"])
    assert "visibility 'after_lunch' is not one of" in result.assignments[0].error


@pytest.mark.parametrize("failure,where", [(KeyboardInterrupt, "import"), (KeyboardInterrupt, "call"),
                                           (OSError, "import")])
def test_ctrl_c_or_a_failure_of_the_grader_stops_the_grading_instead_of_scoring_it(toy_course, tmp_path,
                                                                                   monkeypatch, where, failure):
    """pytest itself only reports an interrupted session or a failing hook ("no tests ran"):
    raised again after pytest, the grading stops (exit 130 at the command line; a batch records
    a grader error), never a score of 0 out of 0 for the student. (The wait for the student's
    import runs in a hook; a grader failure inside a test body fails that test, as before.)"""
    from grader.sandbox.proxy import SandboxedModule
    folder = tmp_path / "student"
    folder.mkdir()
    (folder / "toy.py").write_text("import numpy as np\ndef double(x):\n    return 2 * np.asarray(x)\n")

    def fail(*args, **kwargs):
        raise failure()
    monkeypatch.setattr(SandboxedModule, "ready" if where == "import" else "call", fail)
    with pytest.raises(failure):
        grade_submission(folder, find_course(toy_course), options=GradeOptions())
