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
    # the warning names the submission (in a batch: which student was graded again)
    assert any(r.getMessage().startswith("submission: ") and "grading in basic mode" in r.getMessage()
               and "no-such-option" in r.getMessage() for r in caplog.records)


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


def test_bubblewrap_that_hangs_at_its_first_start_is_refused_not_blamed_on_the_student(load, untried, monkeypatch):
    """No frame at all within the import limit: no student code ran, so the sandbox failed."""
    from grader.sandbox import SandboxRefused, StudentUnavailable
    real = bwrap.argv
    monkeypatch.setattr(bwrap, "argv", lambda *args, **kwargs: ["bash", "-c", "sleep 30", "--"] + real(*args, **kwargs))
    module = load("x = 1\n", start=False, import_timeout=1)
    with pytest.raises(SandboxRefused, match="no answer within 1 s"):
        module.start()
    assert bwrap.verdict("cpu") is False
    bwrap.record("cpu", True)   # once bubblewrap worked, a hang is this sandbox's failure, said as such
    with pytest.raises(StudentUnavailable, match="did not start within 1 s .no student code ran"):
        module.start()


def test_a_batch_asking_for_bubblewrap_that_cannot_start_is_one_line_and_exit_2(toy_course, tmp_path, refusing,
                                                                              capsys):
    (tmp_path / "subs" / "ada").mkdir(parents=True)
    (tmp_path / "subs" / "ada" / "toy.py").write_text(STUDENT)
    code = main(["batch", str(tmp_path / "subs"), "--out", str(tmp_path / "out"), "--sandbox", "bubblewrap",
                 "--course", str(toy_course)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("grader: error: --sandbox bubblewrap: bubblewrap cannot start") \
        and err.count("\n") == 1
    assert not (tmp_path / "out" / "gradebook.csv").exists()


def test_a_grader_error_is_graded_again_by_the_next_batch(tmp_path):
    """A grader error says nothing about the submission: it is never kept as up to date."""
    from grader.batch.discovery import Entry
    from grader.batch.store import Store
    from grader.batch.worker import Outcome, WorkerStats
    from grader.models import GradingStatus
    entry = Entry(student="ada", folder="ada", path=tmp_path)
    store = Store(tmp_path / "out")
    with store.locked():
        for status, kept in ((GradingStatus.REFUSED, True), (GradingStatus.ERROR, False)):
            outcome = Outcome("ada", "ada", status, "the reason", worker=WorkerStats())
            store.save(entry, outcome, "fingerprint", "key", "run", [("toy", "Toy")], None)
            assert (store.current(entry, "fingerprint", "key") is not None) is kept, status
