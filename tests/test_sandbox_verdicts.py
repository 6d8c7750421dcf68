"""Sandbox attacks judged by their verdicts: graded end to end, as root (as CI, Docker and
Gradescope run the grader), an untouched skeleton plus an attack scores exactly what the
untouched skeleton scores, nothing is planted or forged, nothing keeps running, and a noisy
student cannot stretch a batch.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import grader
from grader.batch import BatchSettings, run_batch
from grader.course import load_course
from grader.pipeline import GradeOptions, grade_submission
from grader.reports import write_reports
from grader.reports.results_json import results_dict
from grader.sandbox import cgroups, workspace
from tests.conftest import needs_bwrap
from tests.helpers import COURSE, ROOT

pytestmark = [pytest.mark.slow, pytest.mark.skipif(os.geteuid() != 0, reason="grader-as-root attacks"),
              pytest.mark.usefixtures("leaves_nothing")]
MODES = [pytest.param("bubblewrap", marks=needs_bwrap), "basic"]
SITE_PACKAGES = str(Path(grader.__file__).resolve().parents[1])

IMPORT_TIME_ATTACKS = f"""
import ctypes as _ctypes, mmap as _mmap, os as _os, time as _time
_libc = _ctypes.CDLL(None, use_errno=True)
for _target in ({SITE_PACKAGES!r}, {str(Path(grader.__file__).parent)!r}):
    _libc.mount(b"none", _target.encode(), None, 0x20 | 0x1000, None)        # remount read-write
    for _name in ("zz_planted.pth", "sitecustomize.py", "usercustomize.py"):
        try:
            open(_os.path.join(_target, _name), "w").write("import os; os.environ['PLANTED'] = '1'\\n")
        except OSError:
            pass
for _k in range(300):                                                            # fork bomb, setsid'd
    try:
        if _os.fork() == 0:
            _os.setsid()
            _time.sleep(600)
            _os._exit(0)
    except OSError:
        break
try:
    _hog = _mmap.mmap(-1, 3 << 30, flags=_mmap.MAP_SHARED)                       # shared memory
    for _o in range(0, 3 << 30, 1 << 16):
        _hog[_o] = 1
except Exception:
    pass
"""


def _skeleton_with(tmp_path: Path, name: str, extra: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    spec = COURSE.assignment("conv")
    (folder / spec.filename).write_text(spec.skeleton_file.read_text() + "\n" + extra)
    return folder


def _per_test(data: dict) -> dict[str, float]:
    return {t["name"]: t["score"] for t in data["tests"]}


@pytest.mark.parametrize("mode", MODES)
def test_import_time_attacks_score_what_the_skeleton_scores(tmp_path, mode):
    options = GradeOptions(sandbox=mode, keyword="not speed")
    skeleton = results_dict(grade_submission(_skeleton_with(tmp_path, "plain", ""), COURSE, ["conv"], options))
    attacked = results_dict(grade_submission(_skeleton_with(tmp_path, "attack", IMPORT_TIME_ATTACKS), COURSE,
                                             ["conv"], options))
    assert attacked["grader"]["isolation"]["mode"] == mode
    assert attacked["score"] == skeleton["score"]
    if attacked["assignments"][0]["error"] is None:  # the import survived the attacks: same verdicts
        assert _per_test(attacked) == _per_test(skeleton)
    for folder in (SITE_PACKAGES, str(Path(grader.__file__).parent)):
        assert not any((Path(folder) / n).exists() for n in ("zz_planted.pth", "sitecustomize.py", "usercustomize.py"))
    reference = results_dict(grade_submission(COURSE.assignment("conv").solution_folder, COURSE, ["conv"], options))
    assert reference["score"] == reference["max_score"] > 0  # nothing planted reaches later gradings


def _course_copy(tmp_path: Path) -> Path:
    """A private copy of the course (basic mode as root closes its solutions/ to other users)."""
    root = tmp_path / "course"
    for part in ("assignments/conv", "solutions/conv", "templates"):
        shutil.copytree(ROOT / part, root / part)
    return root


def test_basic_mode_as_root_protects_the_reference_and_the_results(tmp_path):
    root = _course_copy(tmp_path)
    course = load_course(root)
    out = tmp_path / "out"
    forged = {"score": 103, "max_score": 103, "tests": []}
    reference_file = root / "solutions/conv/conv.py"
    reference_text = reference_file.read_text()
    (root / ".git").mkdir()
    (root / ".git/packed-solutions").write_text(reference_text)  # a git history holds the solutions too
    stolen = tmp_path / "stolen"
    attack = f"""
import glob as _glob, json as _json, os as _os, time as _time
for _path in [{str(root / '.git/packed-solutions')!r}, {str(reference_file)!r}]:
    try:
        _text = open(_path).read()
        open({str(stolen)!r}, "a").write(_text)
    except OSError:
        pass
for _path in [{str(reference_file)!r}, *_glob.glob("/tmp/dl-grader-*/*/reference-conv/conv.py")]:
    try:
        open(_path, "w").write(open(__file__).read())   # make the student's code the reference
    except OSError:
        pass
if _os.fork() == 0:                                      # a setsid'd forger, waiting for the grader
    _os.setsid()
    if _os.fork() == 0:
        for _ in range(100):
            _time.sleep(0.1)
            try:
                _os.makedirs({str(out)!r}, exist_ok=True)
                open({str(out / 'results.json')!r}, "w").write(_json.dumps({forged!r}))
            except OSError:
                pass
    _os._exit(0)
"""
    submission = _skeleton_with(tmp_path, "attack", attack)
    options = GradeOptions(sandbox="basic", keyword="not speed").with_outputs(out)
    result = grade_submission(submission, course, ["conv"], options)
    write_reports(result, out, course.templates)
    assert result.isolation["mode"] == "basic" and result.isolation["hides_solutions"]
    time.sleep(2)  # the forger would have struck by now
    data = json.loads((out / "results.json").read_text())
    assert data["score"] == 0 and data["max_score"] > 0
    assert reference_file.read_text() == reference_text and not stolen.exists()
    assert os.stat(root).st_mode & 0o077 == 0 and os.stat(out).st_mode & 0o077 == 0
    reference = grade_submission(root / "solutions/conv", course, ["conv"], GradeOptions(sandbox="basic", keyword="not speed"))
    assert reference.score == reference.max_score


def test_a_wall_clock_budget_ends_a_slow_assignment_with_one_message(tmp_path, toy_course):
    folder = tmp_path / "slow"
    folder.mkdir()
    (folder / "toy.py").write_text("import time\nimport numpy as np\n"
                                   "def double(x):\n    time.sleep(1.5)\n    return 2 * np.asarray(x)\n")
    started = time.monotonic()
    result = grade_submission(folder, load_course(toy_course), ["toy"], GradeOptions(assignment_budget=2.0))
    assert time.monotonic() - started < 20
    messages = [t.output for t in result.assignments[0].tests if not t.passed]
    assert any("time budget for toy (2 s) is used up" in m for m in messages)


def test_a_killed_grader_leaves_nothing_for_long(tmp_path, toy_course):
    folder = tmp_path / "hangs"
    folder.mkdir()
    (folder / "toy.py").write_text("import os, time\nif os.fork() == 0:\n    os.setsid()\n"
                                   "    time.sleep(600)\ndef double(x):\n    time.sleep(600)\n")
    script = (f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
              "from pathlib import Path\nfrom grader.course import load_course\n"
              "from grader.pipeline import grade_submission\n"
              f"grade_submission(Path({str(folder)!r}), load_course(Path({str(toy_course)!r})), ['toy'])\n")
    before = set(os.listdir(workspace._base()))
    grader_process = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (set(os.listdir(workspace._base())) - before):
        time.sleep(0.1)
    time.sleep(2)  # well inside the hanging call
    grader_process.send_signal(signal.SIGKILL)
    grader_process.wait()
    sessions = {name[:-len(".lock")] for name in set(os.listdir(workspace._base())) - before if name.endswith(".lock")}
    sessions = {s for s in sessions if not workspace.session_alive(s)}  # the killed grader's, not others' at work
    assert sessions
    removed = workspace.sweep_leftovers()
    assert sessions <= set(removed)
    assert not any((workspace._base() / s).exists() for s in sessions)
    assert not [g for g in cgroups.group_names(cgroups.detect()) if any(g.startswith(s) for s in sessions)]


NOISY = """
import os as _os
for _ in range(100):          # 100 busy processes, setsid'd, left running for the rest of the batch
    try:
        if _os.fork() == 0:
            _os.setsid()
            while True:
                pass
    except OSError:
        break
"""


def _batch_seconds(subs: Path, out: Path) -> float:
    started = time.monotonic()
    run_batch(BatchSettings(submissions=subs, out=out, assignments=["conv"], jobs=2,
                            options=GradeOptions(keyword="not speed")), COURSE, progress=None)
    return time.monotonic() - started


def test_a_noisy_student_cannot_stretch_a_two_job_batch(tmp_path):
    reference = COURSE.assignment("conv").solution_file.read_text()
    quiet, noisy = tmp_path / "quiet", tmp_path / "noisy"
    for subs in (quiet, noisy):
        (subs / "alice").mkdir(parents=True)
        (subs / "alice" / "conv.py").write_text(reference)
    (noisy / "mallory").mkdir()
    (noisy / "mallory" / "conv.py").write_text(reference + NOISY)
    alone = _batch_seconds(quiet, tmp_path / "out-quiet")
    crowded = _batch_seconds(noisy, tmp_path / "out-noisy")
    print(f"batch without the noisy student {alone:.1f} s, with it {crowded:.1f} s")
    assert crowded < 3 * alone
    mallory = json.loads((tmp_path / "out-noisy" / "mallory" / "results.json").read_text())
    assert mallory["assignments"][0]["error"] is None


def test_a_sweep_that_cannot_delete_a_group_yet_tries_again_next_time(tmp_path, monkeypatch):
    """The kernel refuses to delete a group while a process is still leaving it: the dead
    session's lock stays, so the next sweep retries instead of forgetting the group."""
    (tmp_path / "deadbeef0001").mkdir()
    (tmp_path / "deadbeef0001.lock").write_text("")
    stuck = {"deadbeef0001-1"}
    monkeypatch.setattr(cgroups, "remove_groups", lambda hierarchy, prefix: 0)
    monkeypatch.setattr(cgroups, "group_names", lambda hierarchy: set(stuck))
    assert workspace.sweep_leftovers(tmp_path) == []
    assert (tmp_path / "deadbeef0001.lock").exists() and not (tmp_path / "deadbeef0001").exists()
    stuck.clear()   # the process has gone: the group is deleted at the next sweep
    assert workspace.sweep_leftovers(tmp_path) == ["deadbeef0001"]
    assert not (tmp_path / "deadbeef0001.lock").exists()
