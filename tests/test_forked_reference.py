"""The reference timed against the student's code runs in a fork of the grader (sandbox/forked.py):
the same pipes and serve loop as a sandbox's child, none of the grader's descriptors, the
student's limits, gone with the grader; a sandbox where forking is not safe.

A fork is taken only while the grader has no threads but the sandbox children's pipe readers;
this test process may hold others (a Dask test's offload thread), so each check that needs the
fork runs in a fresh interpreter (``in_fresh_process``), as a grading command would.
"""
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


def in_fresh_process(check: str, *args: str) -> None:
    """Run this module's function `check`(*args) in a new interpreter; fail with its output."""
    code = f"import sys; sys.path[:0] = [{str(ROOT)!r}]; from tests.test_forked_reference import {check}; " \
           f"{check}(*{list(args)!r})"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def reference(folder: str) -> tuple[ForkedModule, Session]:
    """A forked reference serving SOURCE, made in `folder`."""
    files = Path(folder) / "ref"
    files.mkdir()
    (files / "toyref.py").write_text(SOURCE)
    loaded = types.ModuleType("toyref")
    exec(compile(SOURCE, str(files / "toyref.py"), "exec"), loaded.__dict__)
    session = Session()
    return ForkedModule(files, "toyref", resolve_sandbox("auto", "cpu", Limits()), session, loaded), session


def served_by_a_fork(folder: str) -> None:
    module, session = reference(folder)
    x = np.arange(6.0).reshape(2, 3)
    seconds, doubled = module.timed_call("double", (x,))
    assert module.forked and np.array_equal(doubled, 2 * x) and 0 < seconds < 5
    assert module.functions == ["double", "fail", "shout"]
    assert module.call_many("double", [((np.ones(2),), {}), ((np.zeros(1),), {})])[0].tolist() == [2.0, 2.0]
    try:
        module.call("fail")
        raise AssertionError("the reference's exception was not raised")
    except StudentRaised as exc:
        assert "the reference refuses" in str(exc)
    assert module.call("shout", ("hello",)) == 5   # printed into the child's output pipe
    output, deadline = "", time.monotonic() + 5
    while "reference says hello" not in output and time.monotonic() < deadline:
        output += module.take_output()
    assert "reference says hello" in output

    kept = open(Path(folder) / "grader-file", "w")   # a descriptor of the grader's, open at a fork
    pid = module.start().process.pid                 # a fresh fork
    fds = sorted(int(n) for n in os.listdir(f"/proc/{pid}/fd"))
    targets = [os.readlink(f"/proc/{pid}/fd/{n}") for n in fds]
    kept.close()
    assert len(fds) == 5 and fds[:3] == [0, 1, 2], targets
    assert targets[0] == os.devnull and all(t.startswith("pipe:") for t in targets[1:]), targets

    group = module._box.group
    if cgroups.detect() is not None:   # the student's limits, in a group of its own
        assert group.name in Path(f"/proc/{pid}/cgroup").read_text() and pid in group.pids()
    module.close()
    session.close()
    assert not Path(f"/proc/{pid}").exists()
    assert group is None or not any(path.exists() for path in group.paths.values())


def graded_with_one_sandbox(course: str, folder: str) -> None:
    starts = []
    real = box_module.Box.start
    box_module.Box.start = lambda self, module: starts.append(module) or real(self, module)
    (Path(folder) / "toy.py").write_text("import numpy as np\ndef double(x):\n    return 2 * np.asarray(x)\n")
    result = grade_submission(Path(folder), find_course(Path(course)), options=GradeOptions())
    speed = [t for t in result.assignments[0].tests if "speed" in t.tags]
    assert speed and all(t.passed for t in speed) and "ratio" in speed[0].output, speed
    assert starts == ["toy"], starts


def says_nothing_about_bubblewrap(folder: str) -> None:
    """Only a child that bubblewrap started proves that bubblewrap works here."""
    from grader.sandbox import bwrap
    module, session = reference(folder)
    module.ready()
    assert module.forked and bwrap.verdict("cpu") is None
    module.close()
    session.close()


def test_a_forks_start_says_nothing_about_bubblewrap(tmp_path):
    in_fresh_process("says_nothing_about_bubblewrap", str(tmp_path))


def test_the_reference_is_served_by_a_fork_that_holds_only_its_pipes(tmp_path):
    in_fresh_process("served_by_a_fork", str(tmp_path))


def test_a_grading_starts_one_sandbox_the_references_child_is_forked(toy_course, tmp_path):
    in_fresh_process("graded_with_one_sandbox", str(toy_course), str(tmp_path))


def test_a_fork_from_another_thread_is_a_sandbox_instead(tmp_path):
    module, session = reference(str(tmp_path))
    done = {}
    thread = threading.Thread(target=lambda: done.update(value=module.call("double", (np.ones(2),)).tolist()))
    thread.start()
    thread.join(60)
    try:
        assert done["value"] == [2.0, 2.0] and not module.forked
    finally:
        module.close()
        session.close()


def test_the_fork_dies_with_the_grader(tmp_path):
    script = textwrap.dedent(f"""
        import sys, time
        sys.path[:0] = [{str(ROOT)!r}]
        from tests.test_forked_reference import reference
        module, session = reference({str(tmp_path)!r})
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
