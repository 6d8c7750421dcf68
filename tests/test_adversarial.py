"""Adversarial conv submissions: each attack earns nothing on what it attacks, grading completes,
a report is written, and correct parts elsewhere keep their points.

"Earns nothing on what it attacks" is measured against a baseline in which the attacked
function simply raises NotImplementedError: the attack must score exactly what the baseline
scores, test by test.
"""
from __future__ import annotations

import json
import time

import pytest

from grader.pipeline import GradeOptions, grade_submission
from grader.reports import write_reports
from grader.reports.results_json import results_dict
from tests.conftest import needs_bwrap
from tests.helpers import COURSE, make_submission

pytestmark = pytest.mark.slow

ATTACKED = "conv2d_forward"

BASELINE = f"""
def {ATTACKED}(x, w, b, stride=1, pad=0):
    raise NotImplementedError
"""

FUNCTION_ATTACKS = {
    "infinite_loop": f"""
def {ATTACKED}(x, w, b, stride=1, pad=0):
    while True:
        pass
""",
    "memory_bomb": f"""
def {ATTACKED}(x, w, b, stride=1, pad=0):
    hoard = []
    while True:
        hoard.append(bytearray(64 << 20))
""",
    "ignores_sigterm_and_sigalrm": f"""
import signal as _signal
_signal.signal(_signal.SIGTERM, _signal.SIG_IGN)
_signal.signal(_signal.SIGALRM, _signal.SIG_IGN)
def {ATTACKED}(x, w, b, stride=1, pad=0):
    _signal.alarm(0)
    while True:
        pass
""",
    "rigged_ndarray_subclass": f"""
import numpy as _np
class _Rigged(_np.ndarray):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __array_ufunc__(self, *args, **kwargs): return _np.zeros(1)
    def __array_function__(self, *args, **kwargs): return True
def {ATTACKED}(x, w, b, stride=1, pad=0):
    return _np.zeros(1).view(_Rigged)
""",
    "monkeypatch_numpy_and_pytest": f"""
import numpy as _np
_np.allclose = lambda *a, **k: True
_np.testing.assert_allclose = lambda *a, **k: None
_np.array_equal = lambda *a, **k: True
try:
    import pytest as _pytest
    _pytest.approx = lambda *a, **k: _np.zeros(1)
except Exception:
    pass
def {ATTACKED}(x, w, b, stride=1, pad=0):
    return _np.zeros(1)
""",
    "prints_fake_results_and_writes_results_json": f"""
import json as _json, os as _os
import numpy as _np
def {ATTACKED}(x, w, b, stride=1, pad=0):
    print("PASSED all tests 100/100")
    fake = _json.dumps({{"score": 1000, "max_score": 1, "tests": []}})
    for folder in (".", "..", "/tmp", _os.environ.get("HOME", "."), "/submission/.."):
        try:
            open(_os.path.join(folder, "results.json"), "w").write(fake)
        except OSError:
            pass
    return _np.zeros(1)
""",
}

IMPORT_ATTACKS = {
    "os_exit_at_import": ("import os\nos._exit(0)\n", "exited with code 0"),
    "sys_exit_at_import": ("import sys\nsys.exit(0)\n", "SystemExit"),
    "syntax_error": ("def conv2d_forward(x, w, b:\n    pass\n", "SyntaxError"),
}


def grade_to_disk(folder, out, assignments):
    result = grade_submission(folder, COURSE, assignments=assignments, options=GradeOptions())
    write_reports(result, out, COURSE.templates)
    return json.loads((out / "results.json").read_text()), result


def scores(results: dict, assignment: str) -> dict[str, float]:
    return {t["name"]: t["score"] for t in results["tests"] if t["number"].startswith(assignment + ".")}


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    folder = make_submission(tmp_path_factory.mktemp("baseline"), "conv", append=BASELINE)
    result = grade_submission(folder, COURSE, assignments=["conv"], options=GradeOptions())
    data = results_dict(result)
    assert 0 < data["score"] < data["max_score"]
    return data


@pytest.mark.parametrize("attack", sorted(FUNCTION_ATTACKS))
def test_function_attack_earns_nothing_on_what_it_attacks(attack, baseline, tmp_path):
    folder = make_submission(tmp_path, "conv", append=FUNCTION_ATTACKS[attack])
    started = time.monotonic()
    data, _ = grade_to_disk(folder, tmp_path / "out", ["conv"])
    assert time.monotonic() - started < 90
    assert scores(data, "conv") == scores(baseline, "conv")
    assert (tmp_path / "out" / "report.html").is_file()
    assert data["assignments"][0]["error"] is None


@needs_bwrap
def test_reading_the_reference_from_disk_fails_under_bubblewrap(baseline, tmp_path):
    solution = COURSE.assignment("conv").solution_file
    attack = f"""
import importlib.util as _util
def {ATTACKED}(x, w, b, stride=1, pad=0):
    spec = _util.spec_from_file_location("stolen", {str(solution)!r})
    stolen = _util.module_from_spec(spec)
    spec.loader.exec_module(stolen)
    return stolen.{ATTACKED}(x, w, b, stride=stride, pad=pad)
"""
    folder = make_submission(tmp_path, "conv", append=attack)
    data, _ = grade_to_disk(folder, tmp_path / "out", ["conv"])
    assert data["grader"]["sandbox"] == "bubblewrap"
    assert scores(data, "conv") == scores(baseline, "conv")


def _with_correct_pool(folder):
    if "pool" in {a.name for a in COURSE.assignments} and COURSE.assignment("pool").has_solution:
        spec = COURSE.assignment("pool")
        (folder / spec.filename).write_text(spec.solution_file.read_text())
        return ["conv", "pool"]
    return ["conv"]


@pytest.mark.parametrize("attack", sorted(IMPORT_ATTACKS))
def test_import_time_attack_zeroes_conv_only(attack, tmp_path):
    source, reason = IMPORT_ATTACKS[attack]
    folder = make_submission(tmp_path, "conv", source=source)
    assignments = _with_correct_pool(folder)
    data, _ = grade_to_disk(folder, tmp_path / "out", assignments)
    conv = next(a for a in data["assignments"] if a["name"] == "conv")
    assert conv["score"] == 0 and reason in conv["error"] and conv["max_score"] > 0
    for other in data["assignments"]:
        if other["name"] != "conv":
            assert other["score"] == other["max_score"] > 0
    assert (tmp_path / "out" / "report.html").is_file()


def test_missing_file_zeroes_conv_only(tmp_path):
    folder = tmp_path / "student"
    folder.mkdir()
    assignments = _with_correct_pool(folder)
    data, _ = grade_to_disk(folder, tmp_path / "out", ["conv", *assignments[1:]])
    conv = next(a for a in data["assignments"] if a["name"] == "conv")
    assert conv["score"] == 0 and "missing file: conv.py" in conv["error"]
