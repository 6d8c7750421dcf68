"""The sandboxed child: what crosses back, and what happens when student code misbehaves."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from grader.sandbox import StudentCrashed, StudentRaised, StudentTimeout, StudentUnavailable
from tests.conftest import needs_bwrap


def test_results_cross_as_plain_validated_data(load):
    m = load("""
        import numpy as np
        class Rigged(np.ndarray):
            def __eq__(self, other): return True
        def f(x): return (x.view(Rigged), {"n": 3, "w": [np.ones(2, np.float32)]})
        """)
    arr, extra = m.f(np.arange(4.0))
    assert type(arr) is np.ndarray and arr.tolist() == [0, 1, 2, 3]
    assert extra["n"] == 3 and extra["w"][0].dtype == np.float32


def test_student_exceptions_keep_their_builtin_type(load):
    m = load("def f(x):\n    raise ValueError('bad geometry')\ndef g():\n    raise NotImplementedError\n")
    with pytest.raises(ValueError) as info:
        m.f(1)
    assert isinstance(info.value, StudentRaised) and "bad geometry" in str(info.value) and "line 2" in str(info.value)
    with pytest.raises(NotImplementedError):
        m.g()


def test_missing_function_is_an_attribute_error(load):
    m = load("x = 1\n")
    with pytest.raises(AttributeError, match="has no function nothing"):
        m.nothing()


def test_exit_during_a_call_fails_that_call_and_a_fresh_child_serves_the_next(load):
    m = load("import os, sys\ndef die(): os._exit(0)\ndef leave(): sys.exit(0)\ndef ok(): return 5\n")
    with pytest.raises(StudentCrashed, match="exited with code 0"):
        m.die()
    assert m.ok() == 5
    with pytest.raises(StudentRaised, match="SystemExit"):
        m.leave()  # sys.exit is an exception: caught in the child, reported, child stays
    assert m.ok() == 5


def test_infinite_loop_ignoring_signals_is_killed_and_not_called_again(load):
    m = load("""
        import signal
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGALRM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        def spin():
            while True:
                pass
        def ok(): return 1
        """)
    m.call_timeout = 1.0
    started = time.monotonic()
    with pytest.raises(StudentTimeout):
        m.spin()
    assert time.monotonic() - started < 5
    with pytest.raises(StudentTimeout, match="not called again"):
        m.spin()
    assert m.ok() == 1


def test_memory_bomb_hits_the_memory_limit(load):
    m = load("import numpy as np\ndef bomb(): return np.ones((1 << 30,))\ndef ok(): return 2\n",
             memory_bytes=1 << 30)
    with pytest.raises((StudentRaised, StudentCrashed), match="MemoryError|killed"):
        m.bomb()
    assert m.ok() == 2


def test_unsendable_result_is_reported(load):
    m = load("import numpy as np\ndef f(): return np.array([object()])\ndef g(): return open\n")
    with pytest.raises(Exception, match="not plain data"):
        m.f()
    with pytest.raises(Exception, match="not plain data"):
        m.g()


@pytest.mark.parametrize("source,match", [
    ("import os\nos._exit(0)\n", "exited with code 0 while importing"),
    ("import sys\nsys.exit(0)\n", "SystemExit"),
    ("def f(:\n    pass\n", "SyntaxError.*line 1"),
    ("raise RuntimeError('boom at import')\n", "RuntimeError: boom at import"),
])
def test_import_failures_make_the_module_unavailable(load, source, match):
    with pytest.raises(StudentUnavailable, match=match):
        load(source)


def test_import_that_hangs_is_stopped(load):
    started = time.monotonic()
    with pytest.raises(StudentUnavailable, match="did not finish"):
        load("while True:\n    pass\n", import_timeout=2.0)
    assert time.monotonic() - started < 6


def test_a_launched_child_imports_while_the_grader_works_and_is_awaited_once(load):
    """launch() returns before the import ends (pytest collects meanwhile); ready() waits for it,
    counting the import limit from the launch, and the first call uses that same child."""
    m = load("import time\ntime.sleep(0.5)\ndef f():\n    return 7\n", start=False)
    started = time.monotonic()
    m.launch()
    assert time.monotonic() - started < 0.4
    m.launch()   # already launched: no second child
    time.sleep(0.6)   # the grader's own work: the import finishes meanwhile
    waited = time.monotonic()
    child = m.ready()
    assert time.monotonic() - waited < 0.3 and m.functions == ["f"]
    assert m.f() == 7 and m.ready() is child


def test_a_launched_import_that_hangs_is_stopped_counting_from_the_launch(load):
    m = load("while True:\n    pass\n", start=False, import_timeout=1.0)
    m.launch()
    time.sleep(1.2)
    waited = time.monotonic()
    with pytest.raises(StudentUnavailable, match="did not finish"):
        m.ready()
    assert time.monotonic() - waited < 0.5


def test_a_launched_child_never_awaited_is_killed_by_close(load):
    from tests.conftest import sandbox_processes
    before = set(sandbox_processes())
    m = load("import time\ntime.sleep(30)\n", start=False)
    m.launch()
    time.sleep(0.3)
    m.close()
    assert not set(sandbox_processes()) - before


def test_the_import_limit_and_the_budget_are_each_counted_once(load):
    """A budget set before the launch: the time the grader spends between launch and ready()
    (collection) is part of it once, not subtracted a second time from what is left."""
    m = load("import time\ntime.sleep(1.5)\ndef f():\n    return 7\n", start=False)
    m.set_budget(3.0, "the time budget (3 s)")
    m.launch()
    time.sleep(1.0)
    m.ready()   # the import ends ~1.6 s after the launch, well within the 3 s budget
    assert m.f() == 7


def test_copies_forked_at_import_do_not_shift_the_replies(load):
    """Each copy the import forks sends its own "ready" before the sweep kills it: queued frames
    that are not the answer to this request are skipped, never taken as the next call's reply."""
    m = load("import os\nfor _ in range(3):\n    os.fork()\ndef f(x):\n    return x + 1\n")
    assert [m.f(n) for n in range(5)] == [1, 2, 3, 4, 5]


def test_a_late_reply_to_an_earlier_call_is_skipped(load):
    """A copy the call forked answers the same request again (a duplicate id, arriving late):
    the next call skips it and takes its own reply."""
    m = load("import os, sys\nimport wire\ncalls = [0]\n"
             "def f(x):\n"
             "    calls[0] += 1\n"
             "    if calls[0] > 1:   # the previous request's id, answered again before this reply\n"
             "        os.write(int(sys.argv[5]), wire.encode({'id': calls[0] - 1, 'ok': -1}))\n"
             "    return x + 1\n")
    assert [m.f(n) for n in range(4)] == [1, 2, 3, 4]


@pytest.mark.parametrize("mode", ["basic", "auto"])
def test_a_working_folder_nested_thousands_deep_is_a_quota_problem_not_a_crash(load, mode):
    """os.walk and shutil.rmtree recurse once per level before Python 3.12: a `mkdir a; cd a`
    loop must cost the student that call, never the grader (grader.trees)."""
    m = load("import os\n"
             "def deep(n):\n"
             "    here = os.getcwd()\n"
             "    for _ in range(n):\n"
             "        os.mkdir('a'); os.chdir('a')\n"
             "    os.chdir(here)\n"
             "    return n\n", mode=mode)
    if mode == "basic":
        with pytest.raises(StudentCrashed, match="more than 100 deep"):
            m.deep(3000)
    else:   # bubblewrap: the tmpfs is the kernel's to count; its inodes are within the quota
        assert m.deep(3000) == 3000
    m.close()   # deletes the box, however deep


def test_an_import_that_fills_the_sandbox_is_the_modules_error_once(load):
    with pytest.raises(StudentUnavailable, match="filled the sandbox.*more than 50 files"):
        load("for i in range(200):\n    open(f'f{i}', 'w').close()\ndef f():\n    return 1\n", work_files=50)


def test_printed_output_is_captured_and_capped(load):
    m = load("def f():\n    print('x' * 100000)\n    return 1\n", output_bytes=1000)
    assert m.f() == 1
    text = m.take_output()
    assert text.startswith("x" * 100) and "more bytes of output not kept" in text and len(text) < 1200


def test_environment_is_scrubbed(load, monkeypatch):
    monkeypatch.setenv("GRADER_SECRET_TOKEN", "s3cret")
    m = load("import os\ndef env(): return dict(os.environ)\n")
    env = m.env()
    assert "GRADER_SECRET_TOKEN" not in env and env["OMP_NUM_THREADS"] == "1"


@needs_bwrap
def test_bubblewrap_hides_the_course_and_the_network(load):
    from pathlib import Path
    course = str(Path(__file__).resolve().parents[1])
    m = load(f"""
        import os, socket
        def read(): return open({course + '/pyproject.toml'!r}).read()
        def listing(): return os.path.exists({course!r}) and os.listdir({course!r})
        def connect():
            s = socket.socket(); s.settimeout(2); s.connect(("1.1.1.1", 80)); return "connected"
        def write_outside(): open("/usr/evil", "w").write("x")
        """, mode="bubblewrap", hide=(course,))
    with pytest.raises(StudentRaised, match="FileNotFoundError"):
        m.read()
    # absent inside, or an empty tmpfs over it (holding at most the Python installation, when a
    # virtual environment lives inside the course folder, as in CI)
    listing = m.listing()
    assert listing is False or not {"solutions", "assignments", "grader", "pyproject.toml"} & set(listing)
    with pytest.raises(StudentRaised, match="OSError|Network|unreachable|PermissionError"):
        m.connect()
    with pytest.raises(StudentRaised, match="OSError|Read-only|PermissionError"):
        m.write_outside()


def test_a_child_that_stops_reading_cannot_block_the_grader(load):
    m = load("""
        import sys, time
        def sabotage():
            sys.modules["wire"].read_frame = lambda *a, **k: time.sleep(1000)
            return 1
        def f(x): return 1
        """)
    assert m.sabotage() == 1
    m.call_timeout = 1.0
    started = time.monotonic()
    with pytest.raises(StudentTimeout):
        m.f(np.zeros(4 << 20))  # 32 MiB: far more than the pipe holds
    assert time.monotonic() - started < 5


def test_call_many_answers_every_argument_set_in_one_round_trip(load):
    m = load("import os\ndef f(x, k=1): return (x * k, os.getpid())\n")
    results = m.call_many("f", [((np.arange(3.0) + i,), {"k": i}) for i in range(40)])
    assert len(results) == 40
    assert all(np.array_equal(r[0], (np.arange(3.0) + i) * i) for i, r in enumerate(results))
    assert len({r[1] for r in results}) == 1, "one child answered them all"


def test_call_many_raises_the_first_failure_and_checks_its_bounds(load):
    from grader.sandbox.proxy import MAX_CALLS_PER_TRIP
    m = load("def f(x):\n    if x == 3:\n        raise ValueError('three')\n    return x\n")
    with pytest.raises(ValueError, match="three"):
        m.call_many("f", [((i,), {}) for i in range(6)])
    assert m.call_many("f", [((1,), {}), ((2,), {})]) == [1, 2], "the child serves on"
    for count in (0, MAX_CALLS_PER_TRIP + 1):
        with pytest.raises(ValueError, match="argument sets"):
            m.call_many("f", [((1,), {})] * count)


def test_call_many_with_a_forged_short_reply_is_a_bad_reply_and_the_child_is_replaced(load):
    """Student code that writes its own reply frame (one result for two calls) gets no verdict
    from it, and the stream is not left out of step: a fresh child serves the next call."""
    from grader.sandbox import StudentBadReply
    m = load("""
        import sys
        def f(x):
            caller = sys._getframe(1).f_locals
            if "call_id" in caller:
                caller["send"]({"id": caller["call_id"], "ok": [99]})   # the serve loop's own sender
            return x
        calls = 0
        def count():
            global calls
            calls += 1
            return calls
        """)
    assert [m.count(), m.count()] == [1, 2]
    with pytest.raises(StudentBadReply, match="1 results for 2 calls"):
        m.call_many("f", [((1,), {}), ((2,), {})])
    assert m.count() == 1, "a fresh child, in step with the requests"


def test_a_killed_grader_leaves_no_runtime_copy_behind(tmp_path):
    """The child's runtime files are copied into a session folder of the grader's own: a grader
    killed with SIGKILL (no exit handlers) leaves it, and the next grader sweeps it."""
    import signal
    import subprocess
    import sys
    from grader.sandbox.workspace import _base
    script = ("import sys, time\n"
              "from grader.sandbox import bwrap\n"
              "print(bwrap.runtime_copy(), flush=True)\n"
              "time.sleep(60)\n")
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        runtime = Path(process.stdout.readline().strip())
        assert (runtime / "child.py").is_file() and runtime.is_relative_to(_base())
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert runtime.exists()
    subprocess.run([sys.executable, "-c", "from grader.sandbox.workspace import Session; Session().close()"],
                   check=True)
    assert not runtime.exists() and not runtime.parent.exists()
