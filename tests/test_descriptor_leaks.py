"""A dead child leaves nothing behind in the grader: no descriptor, no thread, no process. After a
class of submissions that crash on every call, a correct one still earns full marks, even at a
low open-file limit."""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from grader.course import load_course
from grader.pipeline import GradeOptions, grade_submission

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
CRASHES = "import os\nimport numpy as np\ndef double(x):\n    os._exit(3)\n"


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_crashing_children_leak_no_descriptor_or_thread(tmp_path, toy_course):
    course = load_course(toy_course)
    folder = tmp_path / "crashes"
    folder.mkdir()
    (folder / "toy.py").write_text(CRASHES)
    grade_submission(folder, course, ["toy"])  # warm-up: caches, the sandbox probe
    fds, threads = _open_descriptors(), threading.active_count()
    for _ in range(3):
        result = grade_submission(folder, course, ["toy"], GradeOptions())
        assert result.assignments[0].error is None and result.score == 0
    assert _open_descriptors() == fds
    assert threading.active_count() == threads


def _low_descriptor_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))


def test_a_correct_student_after_twelve_crashing_ones_gets_full_marks(tmp_path, toy_course):
    subs = tmp_path / "subs"
    for k in range(12):
        (subs / f"crash{k:02d}").mkdir(parents=True)
        (subs / f"crash{k:02d}" / "toy.py").write_text(CRASHES)
    (subs / "zz-correct").mkdir()
    (subs / "zz-correct" / "toy.py").write_text((toy_course / "solutions/toy/toy.py").read_text())
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "grader", "batch", str(subs), "--out", str(out), "--jobs", "1",
                           "--course", str(toy_course), "--quiet"], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, preexec_fn=_low_descriptor_limit,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    correct = json.loads((out / "zz-correct" / "results.json").read_text())
    reference = grade_submission(toy_course / "solutions/toy", load_course(toy_course), ["toy"])
    assert correct["score"] == reference.score > 0
