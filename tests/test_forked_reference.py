"""The reference timed against the student's code runs in a fork of the grader (sandbox/forked.py):
the same pipes and serve loop as a sandbox's child, none of the grader's descriptors, the
student's limits, gone with the grader; a sandbox where forking is not safe."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import types
from pathlib import Path

import numpy as np
import pytest

from grader.course import find_course
from grader.pipeline import GradeOptions, grade_submission
from grader.sandbox import Limits, StudentRaised, resolve_sandbox
from grader.sandbox import box as box_module
from grader.sandbox import cgroups
from grader.sandbox.forked import ForkedModule
from grader.sandbox.workspace import Session

ROOT = Path(__file__).resolve().parents[1]
SOURCE = """
import numpy as np

def double(x):
    return 2 * np.asarray(x)

def shout(text):
    print("reference says", text)
    return len(text)

def fail():
    raise ValueError("the reference refuses")
"""


def _module(tmp_path: Path) -> tuple[Path, types.ModuleType]:
    folder = tmp_path / "ref"
    folder.mkdir()
    (folder / "toyref.py").write_text(SOURCE)
    loaded = types.ModuleType("toyref")
    exec(compile(SOURCE, str(folder / "toyref.py"), "exec"), loaded.__dict__)
    return folder, loaded


@pytest.fixture
def forked(tmp_path):
    folder, loaded = _module(tmp_path)
    with Session() as session:
        module = ForkedModule(folder, "toyref", resolve_sandbox("auto", "cpu", Limits()), session, loaded)
        yield module
        module.close()


def _pid(module: ForkedModule) -> int:
    return module.ready().process.pid


def test_the_reference_is_served_by_a_fork_with_the_same_calls(forked):
    x = np.arange(6.0).reshape(2, 3)
    seconds, doubled = forked.timed_call("double", (x,))
    assert forked.forked and np.array_equal(doubled, 2 * x) and 0 < seconds < 5
    assert forked.functions == ["double", "fail", "shout"]
    assert forked.call_many("double", [((np.ones(2),), {}), ((np.zeros(1),), {})])[0].tolist() == [2.0, 2.0]
    with pytest.raises(StudentRaised, match="the reference refuses"):
        forked.call("fail")


def test_what_the_reference_prints_is_its_output_not_the_graders(forked, capfd):
    assert forked.call("shout", ("hello",)) == 5
    assert "reference says hello" in forked.take_output()
    assert "reference says" not in capfd.readouterr().out


def test_the_fork_holds_only_its_pipes(forked, tmp_path):
    kept = open(tmp_path / "grader-file", "w")   # a descriptor of the grader's, open at the fork
    try:
        pid = _pid(forked)
        fds = sorted(int(n) for n in os.listdir(f"/proc/{pid}/fd"))
        targets = [os.readlink(f"/proc/{pid}/fd/{n}") for n in fds]
    finally:
        kept.close()
    assert len(fds) == 5 and fds[:3] == [0, 1, 2], targets
    assert targets[0] == os.devnull and all(t.startswith("pipe:") for t in targets[1:]), targets


@pytest.mark.skipif(cgroups.detect() is None, reason="no control groups here")
def test_the_fork_runs_under_the_students_limits(forked):
    pid = _pid(forked)
    text = Path(f"/proc/{pid}/cgroup").read_text()
    group = forked._box.group
    assert group.name in text and pid in group.pids()
    forked.close()
    assert not any(path.exists() for path in group.paths.values())


def test_closing_ends_the_fork(forked):
    pid = _pid(forked)
    forked.close()
    assert not Path(f"/proc/{pid}").exists()


def test_a_fork_from_another_thread_is_a_sandbox_instead(forked):
    done = {}
    thread = threading.Thread(target=lambda: done.update(value=forked.call("double", (np.ones(2),)).tolist()))
    thread.start()
    thread.join(60)
    assert done["value"] == [2.0, 2.0] and not forked.forked


def test_the_fork_dies_with_the_grader(tmp_path):
    folder, _ = _module(tmp_path)
    script = textwrap.dedent(f"""
        import sys, time, types
        sys.path.insert(0, {str(ROOT)!r})
        from grader.sandbox import Limits, resolve_sandbox
        from grader.sandbox.forked import ForkedModule
        from grader.sandbox.workspace import Session
        loaded = types.ModuleType("toyref")
        exec(open({str(folder / 'toyref.py')!r}).read(), loaded.__dict__)
        module = ForkedModule({str(folder)!r}, "toyref", resolve_sandbox("auto", "cpu", Limits()), Session(), loaded)
        print(module.ready().process.pid, flush=True)
        time.sleep(60)
    """)
    grader = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    pid = int(grader.stdout.readline())
    assert Path(f"/proc/{pid}").exists()
    grader.send_signal(signal.SIGKILL)
    grader.wait(10)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not Path(f"/proc/{pid}").exists()


def test_a_grading_starts_one_sandbox_the_references_child_is_forked(toy_course, tmp_path, monkeypatch):
    starts = []
    real = box_module.Box.start
    monkeypatch.setattr(box_module.Box, "start", lambda self, module: starts.append(module) or real(self, module))
    (tmp_path / "toy.py").write_text("import numpy as np\ndef double(x):\n    return 2 * np.asarray(x)\n")
    result = grade_submission(tmp_path, find_course(toy_course), options=GradeOptions())
    speed = [t for t in result.assignments[0].tests if "speed" in t.tags]
    assert speed and all(t.passed for t in speed) and "ratio" in speed[0].output
    assert starts == ["toy"]
