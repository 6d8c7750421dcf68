"""Verdicts a student cannot rig: hidden inputs that cannot be replayed from the public seed,
timed inputs drawn fresh in every grading with the student's sandbox frozen while the reference
runs, and graded gradient checks that a probe-detecting forward cannot fool."""
from __future__ import annotations

import contextlib
import os
import stat
import subprocess
import sys
import textwrap
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import TEST_COURSE_SECRET, needs_bwrap
from helpers import assignment_tests, grade, make_submission

from grader.checks import SpeedJudge
from grader.course import CourseError, load_course
from grader.pipeline import GradeOptions, grade_submission
from grader.reports import write_reports
from grader.secret import ENV_VAR, FILENAME, create_secret, hidden_rng, read_secret

REPO = Path(__file__).resolve().parents[1]
PUBLIC_SEED = GradeOptions().seed
OTHER_SECRET = "c0ffee" * 11

# -- a one-function course whose tests show the inputs they drew -------------------------------

ECHO_TEST = '''
import numpy as np
import pytest

from grader.checks import assert_close


@pytest.mark.points(1)
def test_{kind}_double(student, rng, attach):
    """double doubles a random vector ({kind})"""
    x = rng.standard_normal(6)
    attach.text("input", repr(x.tolist()))
    assert_close(student.double(x), 2 * x, func="double", case="{kind}", rtol=0)


@pytest.mark.points(0)
def test_{kind}_environment(student):
    """no course secret in the child's environment ({kind})"""
    assert student.secret_in_environment() == ""


@pytest.mark.points(0)
def test_{kind}_anywhere(student):
    """no course secret anywhere the child can look ({kind})"""
    assert student.secret_anywhere() == ""
'''

ECHO_REFERENCE = '''
import numpy as np


def double(x):
    return 2 * x


def secret_in_environment():
    return ""


def secret_anywhere():
    return ""
'''

# A student who replays the generators of the public seed: answers only inputs it predicted.
REPLAYER = '''
import os
import zlib

import numpy as np

TEST_IDS = ["assignments/echo/tests/test_echo_public.py::test_public_double",
            "solutions/echo/tests/test_echo_hidden.py::test_hidden_double"]
PREDICTED = [np.random.default_rng([{seed}, zlib.crc32(i.encode())]).standard_normal(6) for i in TEST_IDS]


def double(x):
    if any(np.array_equal(x, p) for p in PREDICTED):
        return 2 * x
    return np.zeros_like(x)


def secret_in_environment():
    return " ".join(k for k in os.environ if "SECRET" in k)


def secret_anywhere():
    """The environment, the course's secret file, the grader's environment (the parent process)."""
    found = [secret_in_environment()]
    try:
        with open({course} + "/solutions/" + {filename}) as handle:
            found.append(handle.read())
    except OSError:
        pass
    try:
        with open("/proc/%d/environ" % os.getppid(), "rb") as handle:
            if b"SECRET" in handle.read():
                found.append("the grader's environment")
    except OSError:
        pass
    return " ".join(f for f in found if f)
'''


def _write_echo_course(root: Path) -> Path:
    files = {
        "assignments/echo/assignment.toml": 'title = "Echo"\nmodule = "echo"\norder = 1\nhidden_points = 1\n',
        "assignments/echo/echo.py": "def double(x):\n    raise NotImplementedError\n",
        "assignments/echo/tests/test_echo_public.py": ECHO_TEST.format(kind="public"),
        "solutions/echo/echo.py": ECHO_REFERENCE,
        "solutions/echo/tests/test_echo_hidden.py": ECHO_TEST.format(kind="hidden"),
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(textwrap.dedent(text).lstrip())
    return root


@pytest.fixture
def echo(tmp_path):
    """(course, replaying submission) in a fresh folder: no secret file yet."""
    root = _write_echo_course(tmp_path / "course")
    sub = tmp_path / "replayer"
    sub.mkdir()
    (sub / "echo.py").write_text(REPLAYER.format(seed=PUBLIC_SEED, course=repr(str(root)), filename=repr(FILENAME)))
    return load_course(root), sub


def _grade(course, sub, **options):
    (assignment,) = grade_submission(sub, course, ["echo"], GradeOptions(**options)).assignments
    assert assignment.error is None
    return {t.name.split(" (")[1].rstrip(")"): t for t in assignment.tests if "double" in t.name}


def _inputs(tests):
    return {kind: t.attachments[0].data for kind, t in tests.items()}


def _replay(test_id: str) -> str:
    """What a test would draw from the public seed (the scheme public tests use)."""
    return repr(np.random.default_rng([PUBLIC_SEED, zlib.crc32(test_id.encode())]).standard_normal(6).tolist())


def test_replayed_public_seed_predicts_public_inputs_but_not_hidden_ones(echo):
    course, sub = echo
    tests = _grade(course, sub)
    drawn = _inputs(tests)
    # The replay is faithful: it predicts the public test's input exactly ...
    assert tests["public"].passed
    assert drawn["public"] == _replay("assignments/echo/tests/test_echo_public.py::test_public_double")
    # ... but not the hidden test's, keyed by the course secret.
    assert not tests["hidden"].passed
    assert drawn["hidden"] != _replay("solutions/echo/tests/test_echo_hidden.py::test_hidden_double")


def test_same_secret_and_seed_regrade_identically_other_secret_or_seed_differs(echo, monkeypatch):
    course, sub = echo
    first, again = _inputs(_grade(course, sub)), _inputs(_grade(course, sub))
    assert first == again
    other_seed = _inputs(_grade(course, sub, seed=PUBLIC_SEED + 1))
    assert other_seed["hidden"] != first["hidden"] and other_seed["public"] != first["public"]
    monkeypatch.setenv(ENV_VAR, OTHER_SECRET)
    other_secret = _inputs(_grade(course, sub))
    assert other_secret["hidden"] != first["hidden"]
    assert other_secret["public"] == first["public"]  # public tests stay on the public seed


def test_secret_file_created_once_owner_only_and_used(echo, monkeypatch):
    course, sub = echo
    monkeypatch.delenv(ENV_VAR)
    path = course.root / "solutions" / FILENAME
    assert not path.exists()
    first = _inputs(_grade(course, sub))
    text = path.read_text()
    assert len(text.strip()) == 64 and int(text, 16) >= 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert _inputs(_grade(course, sub)) == first and path.read_text() == text  # kept, not replaced
    assert create_secret(course.root / "solutions") == path and path.read_text() == text
    # the file's secret is what keys the inputs: the same secret through the environment agrees
    monkeypatch.setenv(ENV_VAR, text.strip())
    assert _inputs(_grade(course, sub)) == first


def test_missing_or_malformed_secret_is_an_error_never_the_public_seed(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_VAR)
    with pytest.raises(CourseError, match="no course secret"):
        read_secret(tmp_path / "solutions", create=False)
    monkeypatch.setenv(ENV_VAR, "1234")
    with pytest.raises(CourseError, match="at least 32 hex digits"):
        read_secret(tmp_path)
    monkeypatch.setenv(ENV_VAR, "not hex " * 8)
    with pytest.raises(CourseError, match="hex digits"):
        read_secret(tmp_path)


def test_hidden_generator_depends_on_secret_seed_and_test_id():
    key = bytes.fromhex(TEST_COURSE_SECRET)
    draw = lambda secret, seed, test: hidden_rng(secret, seed, test).standard_normal(4).tolist()  # noqa: E731
    base = draw(key, 1, "t")
    assert draw(key, 1, "t") == base
    assert base not in (draw(key, 2, "t"), draw(key, 1, "u"), draw(bytes.fromhex(OTHER_SECRET), 1, "t"))


def _secret_tests(result):
    return {t.name: t for t in result.assignments[0].tests if "course secret" in t.name}


def test_secret_reaches_neither_child_environment_nor_reports(echo, tmp_path):
    course, sub = echo
    result = grade_submission(sub, course, ["echo"], GradeOptions())
    environment = {name: t for name, t in _secret_tests(result).items() if "environment" in name}
    assert len(environment) == 2 and all(t.passed for t in environment.values())
    for path in write_reports(result, tmp_path / "out").values():
        assert TEST_COURSE_SECRET not in path.read_text().lower()


@needs_bwrap
@pytest.mark.parametrize("source", ["file", "environment"])
def test_secret_is_nowhere_in_the_bubblewrap_sandbox(echo, monkeypatch, source):
    # Without bubblewrap ("basic") the child can read the course's files, solutions included:
    # the documented limit of that mode. With it, neither the file nor the grader's environment
    # (which bubblewrap itself must not inherit: the child could read it in /proc/<ppid>/environ).
    course, sub = echo
    create_secret(course.root / "solutions")
    if source == "file":
        monkeypatch.delenv(ENV_VAR)
    result = grade_submission(sub, course, ["echo"], GradeOptions(sandbox="bubblewrap"))
    tests = _secret_tests(result)
    assert len(tests) == 4
    assert all(t.passed for t in tests.values()), [t.output[-200:] for t in tests.values()]


def test_gradescope_zip_carries_the_course_secret_only_with_solutions(tmp_path, grader_wheel):
    env = {**os.environ, ENV_VAR: OTHER_SECRET, "PYTHONPATH": str(REPO)}
    for flag, name in (([], "full.zip"), (["--public-only"], "public.zip")):
        done = subprocess.run([sys.executable, "-m", "grader", "release", "--gradescope", "--assignment", "pool",
                               "--course", str(REPO), "--out", str(tmp_path / name), "--wheel", str(grader_wheel),
                               *flag], capture_output=True, text=True, env=env, timeout=120)
        assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(tmp_path / "full.zip") as archive:
        assert archive.read(f"solutions/{FILENAME}").decode().strip() == OTHER_SECRET
    with zipfile.ZipFile(tmp_path / "public.zip") as archive:
        assert not any(n.startswith("solutions/") for n in archive.namelist())


# -- speed: fresh inputs, the student frozen while the reference is timed ------------------------

class FakeModule:
    """Stands in for a sandboxed module in SpeedJudge: doubles its input, records its calls."""

    def __init__(self, log: list, name: str):
        self.log, self.name, self.is_frozen = log, name, False

    @contextlib.contextmanager
    def frozen(self):
        self.is_frozen = True
        try:
            yield
        finally:
            self.is_frozen = False

    def timed_call(self, func, args, kwargs, timeout):
        self.log.append((self.name, args[0].copy()))
        return 1e-3, 2 * args[0]


def test_speed_inputs_are_fresh_and_the_student_is_frozen_while_the_reference_runs():
    runs = []
    for _ in range(2):
        log = []
        student = FakeModule(log, "student")
        reference = FakeModule(log, "reference")
        frozen_during = []
        real = reference.timed_call
        reference.timed_call = lambda *a, **k: (frozen_during.append(student.is_frozen), real(*a, **k))[1]
        SpeedJudge(student, reference).compare("double", lambda rng: ((rng.standard_normal(5),), {}),
                                                threshold=2, case="n=5", repeats=3)
        assert frozen_during == [True] * 4 and not student.is_frozen
        runs.append(log)
    # every round on new inputs, the same for both sides; another grading, other inputs
    first, second = runs
    assert [n for n, _ in first].count("student") == 4
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(first[::2], first[1::2]))
    assert not any(np.array_equal(a, b) for (_, a), (_, b) in zip(first, second))


# -- gradient checks: probe-detecting forwards earn nothing in graded checks ----------------------

# An all-zero maxpool_backward whose forward recognises the probe calls of a gradient check
# (x +- eps next to the last backward's input) and returns there the output at that input: the
# value a zero gradient predicts.
POOL_RIG = '''
_honest_forward = maxpool_forward
_last = {}


def maxpool_backward(dz, x, size=2, stride=2):
    _last["x"] = np.array(x, dtype=np.float64)
    _last["z"] = _honest_forward(x, size=size, stride=stride)
    return np.zeros_like(x)


def maxpool_forward(x, size=2, stride=2):
    prev = _last.get("x")
    if prev is not None and prev.shape == x.shape and 0 < np.max(np.abs(x - prev)) < 1e-3:
        return _last["z"]
    return _honest_forward(x, size=size, stride=stride)
'''

# All-zero gradients from ae_loss_and_grads, whose loss at params +- eps next to the last
# unperturbed call is that call's loss.
AE_RIG = '''
_honest_loss_and_grads = ae_loss_and_grads
_last = {}


def _distance(a, b):
    if set(a) != set(b) or any(np.shape(a[k]) != np.shape(b[k]) for k in a):
        return None
    return max(float(np.max(np.abs(np.asarray(a[k]) - np.asarray(b[k])))) for k in a)


def ae_loss_and_grads(x_in, x_target, params, activation="sigmoid", decoder="linear"):
    zeros = {k: np.zeros_like(v) for k, v in params.items()}
    prev = _last.get("params")
    d = None if prev is None else _distance(params, prev)
    if d is not None and 0 < d < 1e-3:
        return _last["loss"], zeros
    loss, _ = _honest_loss_and_grads(x_in, x_target, params, activation, decoder)
    _last["params"] = {k: np.array(v) for k, v in params.items()}
    _last["loss"] = loss
    return loss, zeros
'''


@pytest.mark.parametrize("assignment, rig, n_graded", [("pool", POOL_RIG, 4), ("autoencoder", AE_RIG, 6)])
def test_probe_detecting_forward_earns_no_graded_gradient_points(tmp_path, assignment, rig, n_graded):
    results = grade(make_submission(tmp_path, assignment, append=rig, name="rigged"), [assignment])
    gradient = [t for t in assignment_tests(results, assignment) if "gradient" in t["tags"]]
    graded = [t for t in gradient if t["visibility"] == "after_due_date"]
    assert len(graded) == n_graded
    assert all(t["score"] == 0 and "finite differences of the reference" in t["output"] for t in graded)
    # When grading, the public gradient checks also differentiate the reference: no points there.
    public = [t for t in gradient if t["visibility"] == "visible"]
    assert public and all(t["score"] == 0 for t in public)
    # The rig is real: the self-check, which differentiates the student's own forward (the
    # lecture's exercise), is fooled by it.
    self_check = grade(make_submission(tmp_path, assignment, append=rig, name="self"), [assignment], public_only=True)
    assert all(t["status"] == "passed" for t in assignment_tests(self_check, assignment) if "gradient" in t["tags"])


def test_float32_forward_is_named_in_the_public_gradient_check(tmp_path):
    # A correct backward; a forward that returns float32 for float64 input.
    rig = ("\n_honest_forward = maxpool_forward\n\n\ndef maxpool_forward(x, size=2, stride=2):\n"
           "    return _honest_forward(x, size=size, stride=stride).astype(np.float32)\n")
    results = grade(make_submission(tmp_path, "pool", append=rig, name="float32"), ["pool"], public_only=True)
    (check,) = [t for t in assignment_tests(results, "pool") if "gradient" in t["tags"]]
    assert check["status"] == "failed"
    assert "returned float32 for float64 input" in check["output"] and "agrees" in check["output"]
    assert "elements off" not in check["output"]
