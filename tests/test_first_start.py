"""No probe sandbox: a grading's first real start tells whether bubblewrap works here.

bubblewrap is made to fail by giving it an option it does not know (``bwrap.argv`` patched in
this process), never by changing a host setting. Each test starts from "not tried yet".
"""
from __future__ import annotations

import pytest

from grader.cli import main
from grader.course import find_course
from grader.pipeline import GradeOptions, grade_submission
from grader.sandbox import bwrap

pytestmark = pytest.mark.skipif(not bwrap.works("cpu"), reason="bubblewrap is not usable here")

STUDENT = "import numpy as np\ndef double(x):\n    return 2 * np.asarray(x)\n"
FULL = 6   # of the toy's 7 points: one hidden test fails on purpose (conftest.TOY_HIDDEN)


@pytest.fixture
def untried(monkeypatch):
    """This process has not started a bubblewrap sandbox yet (restored afterwards)."""
    monkeypatch.setattr(bwrap, "_VERDICTS", {})


@pytest.fixture
def refusing(monkeypatch, untried):
    """bubblewrap exits at once with its own error, before the runtime starts."""
    real = bwrap.argv
    monkeypatch.setattr(bwrap, "argv", lambda *args, **kwargs: real(*args, **kwargs)[:1] + ["--no-such-option"]
                        + real(*args, **kwargs)[1:])


@pytest.fixture
def submission(tmp_path):
    def make(source: str = STUDENT):
        folder = tmp_path / "submission"
        folder.mkdir(exist_ok=True)
        (folder / "toy.py").write_text(source)
        return folder
    return make


def test_a_grading_starts_no_probe_sandbox(toy_course, submission, untried, monkeypatch):
    monkeypatch.setattr(bwrap, "_probe", lambda device: pytest.fail("a grading ran the probe sandbox"))
    result = grade_submission(submission(), find_course(toy_course), options=GradeOptions())
    assert result.sandbox == "bubblewrap" and result.assignments[0].error is None
    assert result.assignments[0].score == FULL
    assert bwrap.verdict("cpu") is True


def test_bubblewrap_failing_at_its_first_start_grades_again_in_basic_mode(toy_course, submission, refusing, caplog):
    result = grade_submission(submission(), find_course(toy_course), options=GradeOptions())
    assert result.sandbox == "basic" and result.isolation["mode"] == "basic"
    toy = result.assignments[0]
    assert toy.error is None and toy.score == FULL
    assert bwrap.verdict("cpu") is False
    assert any("grading in basic mode" in r.getMessage() and "no-such-option" in r.getMessage()
               for r in caplog.records)


def test_asking_for_bubblewrap_that_cannot_start_is_one_line_and_exit_2(toy_course, submission, refusing, capsys):
    code = main(["grade", str(submission()), "--out", str(submission().parent / "out"),
                 "--sandbox", "bubblewrap", "--course", str(toy_course)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("grader: error: --sandbox bubblewrap: bubblewrap cannot start a sandbox") and \
        err.count("\n") == 1 and "Traceback" not in err
    assert not (submission().parent / "out" / "results.json").exists()


@pytest.mark.parametrize("source", [
    "import os, sys\nsys.stderr.write('bwrap: Creating new namespace failed\\n')\nos._exit(1)\n",
    "import os\nos.kill(os.getpid(), 9)\n",
    "import os\nos.close(1); os.close(2)\nfor fd in range(3, 64):\n    try: os.close(fd)\n    except OSError: pass\n"
    "import time\ntime.sleep(0.5)\nraise SystemExit(1)\n",
])
def test_student_code_cannot_make_the_grader_leave_bubblewrap(toy_course, submission, untried, source):
    """The runtime's "started" frame is sent before the student's module is imported: whatever
    the import does (pretend to be bubblewrap failing, die, close every pipe), the sandbox had
    started, so the grading stays in bubblewrap and the student's import is what failed."""
    result = grade_submission(submission(source), find_course(toy_course), options=GradeOptions())
    assert result.sandbox == "bubblewrap" and bwrap.verdict("cpu") is True
    toy = result.assignments[0]
    assert toy.error is not None and "toy.py" in toy.error and toy.score == 0


def test_a_failure_after_bubblewrap_worked_is_not_a_refusal(toy_course, submission, untried, monkeypatch):
    """Once a sandbox started in this process, a later start that fails is that grading's error,
    never a quiet switch to basic mode for the students after it."""
    course = find_course(toy_course)
    assert grade_submission(submission(), course, options=GradeOptions()).sandbox == "bubblewrap"
    real = bwrap.argv
    monkeypatch.setattr(bwrap, "argv", lambda *args, **kwargs: real(*args, **kwargs)[:1] + ["--no-such-option"]
                        + real(*args, **kwargs)[1:])
    result = grade_submission(submission(), course, options=GradeOptions())
    assert result.sandbox == "bubblewrap" and bwrap.verdict("cpu") is True
    assert result.assignments[0].error is not None and result.assignments[0].score == 0


def test_a_forked_references_start_says_nothing_about_bubblewrap(tmp_path, untried):
    """Only a child that bubblewrap started proves that bubblewrap works here."""
    from tests.test_forked_reference import reference
    module, session = reference(str(tmp_path))
    try:
        module.ready()
        assert bwrap.verdict("cpu") is None
    finally:
        module.close()
        session.close()
