"""`grader batch`: discovery, safe intake, resume after SIGKILL, gradebook, Dask, Gradescope mode.

The end-to-end tests grade the one-function toy course (tests/conftest.py) through the real
command line in a subprocess, so each student costs about 1.5 s.
"""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.batch.discovery import (BatchInputError, Entry, apply_roster, discover, display_name, folder_name,
                                    is_safe_folder_name, make_folders_unique, read_roster, student_id)
from grader.batch.fingerprint import entry_fingerprint, grading_key
from grader.batch.gradebook import gradebook_text
from grader.batch.records import StudentRecord, StudentRow, not_graded
from grader.batch.store import Store
from grader.cli import main
from grader.course import load_course
from grader.intake import MAX_TOTAL_BYTES
from grader.models import GradingStatus

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(REPO)}
TOY_FULL, TOY_MAX = 6.0, 7.0   # the toy reference fails one hidden test on purpose (conftest.TOY_HIDDEN)


def run_grader(*args, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", *map(str, args)], capture_output=True, text=True,
                          env=ENV, cwd=REPO, timeout=timeout)


def toy_sources(course: Path) -> dict[str, str]:
    return {"full": (course / "solutions/toy/toy.py").read_text(),
            "skeleton": (course / "assignments/toy/toy.py").read_text(),
            "exits": "import os\nos._exit(3)\n",
            "hangs": "def double(x):\n    while True:\n        pass\n"}


def write_folder(path: Path, source: str) -> Path:
    path.mkdir(parents=True)
    (path / "toy.py").write_text(source)
    return path


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def write_tar(path: Path, members: dict[str, bytes], symlinks: dict[str, str] | None = None) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, target in (symlinks or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            archive.addfile(info)
    return path


def gradebook(out: Path) -> dict[str, dict]:
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as handle:
        return {row["folder"]: row for row in csv.DictReader(handle)}


def states(out: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in (out / ".batch" / "state").glob("*.json")}


def tree(root: Path, skip: Path) -> dict[str, tuple[int, int]]:
    """Every path under `root` (not under `skip`) with its size and mtime."""
    found = {}
    for folder, dirs, files in os.walk(root):
        if Path(folder) == skip or skip in Path(folder).parents:
            continue
        for name in dirs + files:
            if Path(folder, name) == skip:
                continue
            info = os.lstat(os.path.join(folder, name))
            found[os.path.join(folder, name)] = (info.st_size, info.st_mtime_ns)
    return found


# -- discovery, names, roster, fingerprints, gradebook cells (no grading) ---------------------

def test_student_ids_drop_the_archive_suffix():
    assert [student_id(n) for n in ("alice", "bob.zip", "carol.tar.gz", "dave.TGZ", "erin.tar", ".zip", "x.py")] \
        == ["alice", "bob", "carol", "dave", "erin", ".zip", "x.py"]


@pytest.mark.parametrize("raw", ["..", ".", ".hidden", "new\nline", "a b", "gradebook.csv", "summary.html",
                                 "../../etc", "x" * 300, "", "\x1b[31mred", "caf\u00e9", "-rf", "a..b"])
def test_odd_student_ids_get_safe_distinct_folders(tmp_path, raw):
    name = folder_name(raw)
    assert is_safe_folder_name(name) and name != raw
    assert (tmp_path / name).resolve().parent == tmp_path.resolve()
    assert folder_name(raw) == name, "the folder must not change between runs"


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_any_id_maps_to_a_safe_folder_and_distinct_ids_to_distinct_folders(raw):
    name = folder_name(raw)
    assert is_safe_folder_name(name) and "/" not in name and not name.startswith(".")
    if is_safe_folder_name(raw):
        assert name == raw
    else:
        assert folder_name(raw + "!") != name


def test_display_names_escape_control_characters():
    assert display_name("new\nline\x1b[2J") == "new\\nline\\x1b[2J"
    assert display_name("Zoë") == "Zoë"


def test_discovery_refuses_links_special_files_and_duplicates_and_ignores_stray_files(tmp_path):
    subs = tmp_path / "subs"
    write_folder(subs / "alice", "x = 1\n")
    write_folder(subs / "bob", "x = 1\n")
    write_zip(subs / "bob.zip", {"toy.py": b"x = 1\n"})
    write_folder(subs / ".hidden", "x = 1\n")
    write_folder(subs / "new\nline", "x = 1\n")
    os.symlink("/etc", subs / "linked")
    os.mkfifo(subs / "pipe.zip")
    (subs / "notes.txt").write_text("hello")
    (subs / "bob.txt").write_text("bob's notes: a stray file, not a second entry for bob")
    (subs / ".DS_Store").write_text("junk")
    out = subs / "reports"   # an output folder inside the submissions folder is not a student
    out.mkdir()
    ignored = []
    entries = {e.student: e for e in discover(subs, out, ignored)}
    assert set(entries) == {"alice", "bob", ".hidden", "new\nline", "linked", "pipe"}
    assert ignored == ["bob.txt", "notes.txt"]
    assert entries["alice"].refusal is None and entries["alice"].folder == "alice"
    assert "2 entries" in entries["bob"].refusal
    assert "symbolic link" in entries["linked"].refusal
    assert "not a regular file" in entries["pipe"].refusal
    assert entries[".hidden"].refusal is None and not entries[".hidden"].folder.startswith(".")
    assert "\n" not in entries["new\nline"].folder
    assert entry_fingerprint(subs / "linked") != entry_fingerprint(subs / "alice")  # no hang on the fifo either
    assert entry_fingerprint(subs / "pipe.zip")


def test_folders_stay_unique_even_when_names_clash_by_case():
    entries = [Entry("Alice", "Alice", None), Entry("alice", "alice", None), Entry("ALICE", "ALICE", None),
               Entry("subs", "subs", None)]
    make_folders_unique(entries, reserved={"subs"})
    assert [e.folder for e in entries] == ["Alice", "alice-2", "ALICE-3", "subs-2"]


def test_roster_maps_names_and_lists_students_without_a_submission(tmp_path):
    roster_file = tmp_path / "roster.csv"
    roster_file.write_text("\ufeffStudent,Name,Email,Submission\nalice,Alice A.,a@x.org,\n"
                           "b042,Bob B.,b@x.org,bob\ndave,Dave D.,d@x.org,\n")
    roster = read_roster(roster_file)
    assert roster.columns == ("student", "Name", "Email")
    entries = [Entry("alice", "alice", Path("alice")), Entry("bob", "bob", Path("bob.zip")),
               Entry("zed", "zed", Path("zed"))]
    matched = apply_roster(entries, roster)
    assert [(e.student, e.path, e.note) for e in matched] == [
        ("alice", Path("alice"), ""), ("b042", Path("bob.zip"), ""), ("dave", None, ""),
        ("zed", Path("zed"), "not on the roster")]
    assert matched[1].roster == {"Name": "Bob B.", "Email": "b@x.org"}


@pytest.mark.parametrize("text, message", [
    ("name,email\nAlice,a@x\n", "no 'student' column"),
    ("student,name\nalice,A\nalice,B\n", "listed twice"),
    ("student,name\n", "no students"),
    ("student,name\n,A\n", "empty 'student'"),
    ("student\nalice,extra\n", "more cells than columns"),
])
def test_bad_rosters_are_refused_with_one_line(tmp_path, text, message):
    roster_file = tmp_path / "roster.csv"
    roster_file.write_text(text)
    with pytest.raises(BatchInputError, match=message):
        read_roster(roster_file)


def test_fingerprint_follows_content_not_location(tmp_path):
    a = write_folder(tmp_path / "a", "x = 1\n")
    b = write_folder(tmp_path / "elsewhere" / "b", "x = 1\n")
    assert entry_fingerprint(a) == entry_fingerprint(b)
    (b / "toy.py").write_text("x = 2\n")
    assert entry_fingerprint(a) != entry_fingerprint(b)
    (a / "__pycache__").mkdir()
    (a / "__pycache__" / "toy.pyc").write_bytes(b"\0")
    assert entry_fingerprint(a) == entry_fingerprint(write_folder(tmp_path / "c", "x = 1\n"))


def test_grading_key_follows_tests_solutions_templates_and_seed(tmp_path, toy_course):
    course_dir = tmp_path / "course"
    shutil.copytree(toy_course, course_dir)
    key = lambda seed=1: grading_key(load_course(course_dir), ["toy"], {"seed": seed})  # noqa: E731
    first = key()
    assert key() == first and key(seed=2) != first
    for rel in ("solutions/toy/tests/test_toy_hidden.py", "solutions/toy/toy.py", "templates/report.html.j2"):
        original = (course_dir / rel).read_text()
        (course_dir / rel).write_text(original + "\n# edited\n")
        assert key() != first, f"editing {rel} must regrade"
        (course_dir / rel).write_text(original)
    assert key() == first


def test_gradebook_cells_cannot_become_spreadsheet_formulas():
    row = StudentRow(Entry("=HYPERLINK(\"http://x\")", "f", Path("x")),
                     StudentRecord("=HYPERLINK", "f", GradingStatus.REFUSED, not_graded("x", "+1 refused", []),
                                   reason="+1 refused"))
    text = gradebook_text([row], ["toy"], {"toy": 7.0})
    cells = next(csv.reader(io.StringIO(text.splitlines()[1])))
    assert cells[0].startswith("'=") and cells[-1] == "'+1 refused"
    assert cells[3:6] == ["0", "0", "7"]


@pytest.mark.parametrize("args, message", [
    (["batch", "{missing}", "--out", "{out}"], "no such folder"),
    (["batch", "{subs}", "--out", "{out}", "--assignment", "nope"], "unknown assignment"),
    (["batch", "{subs}", "--out", "{out}", "--roster", "{missing}"], "cannot read the roster"),
    (["batch", "{subs}", "--out", "{out}", "--jobs", "0"], "--jobs must be at least 1"),
    (["batch", "{subs}", "--out", "{out}", "--scheduler", "tcp://127.0.0.1:1"], "--scheduler needs --executor dask"),
    (["batch", "{subs}", "--out", "{subs}"], "must not be the submissions folder"),
])
def test_unusable_input_exits_2_with_one_line(tmp_path, toy_course, capsys, args, message):
    (tmp_path / "subs").mkdir()
    values = {"missing": tmp_path / "missing", "out": tmp_path / "out", "subs": tmp_path / "subs"}
    code = main([a.format(**values) for a in args] + ["--course", str(toy_course)])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_two_batches_never_write_the_same_out_folder(tmp_path, toy_course, capsys):
    write_folder(tmp_path / "subs" / "alice", "x = 1\n")
    with Store(tmp_path / "out").locked():
        code = main(["batch", str(tmp_path / "subs"), "--out", str(tmp_path / "out"), "--course", str(toy_course)])
    assert code == 2 and "another batch is writing" in capsys.readouterr().err
    assert not (tmp_path / "out" / "alice").exists()


def test_dask_executor_without_dask_is_one_line_and_exit_2(tmp_path, toy_course, capsys, monkeypatch):
    write_folder(tmp_path / "subs" / "alice", "x = 1\n")
    monkeypatch.setitem(sys.modules, "distributed", None)   # import distributed -> ImportError
    code = main(["batch", str(tmp_path / "subs"), "--out", str(tmp_path / "out"), "--executor", "dask",
                 "--course", str(toy_course)])
    err = capsys.readouterr().err
    assert code == 2 and "pip install 'dask[distributed]'" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "alice").exists()


# -- end to end -------------------------------------------------------------------------------

@pytest.mark.slow
def test_adversarial_entries_become_rows_while_the_rest_grade(tmp_path, toy_course):
    src = toy_sources(toy_course)
    subs, out, outside = tmp_path / "subs", tmp_path / "out", tmp_path / "outside"
    escaped = f"escaped-{uuid.uuid4().hex}.py"
    write_folder(subs / "alice", src["full"])
    write_zip(subs / "bob.zip", {"homework/toy.py": src["full"].encode()})
    write_tar(subs / "carol.tar.gz", {"toy.py": src["skeleton"].encode()})
    write_zip(subs / "zipslip.zip", {"toy.py": src["full"].encode(), f"../../{escaped}": b"owned = True\n"})
    write_tar(subs / "passwd.tar.gz", {"toy.py": src["full"].encode()}, symlinks={"notes.txt": "/etc/passwd"})
    os.symlink(write_folder(outside / "victim", src["full"]), subs / "linked")
    write_zip(subs / "bomb.zip", {"toy.py": src["full"].encode(), "data.py": bytes(MAX_TOTAL_BYTES + (1 << 20))})
    write_folder(subs / "exits", src["exits"])
    write_folder(subs / "hangs", src["hangs"])
    write_folder(subs / "new\nline", src["full"])
    write_folder(subs / "<img src=x onerror=alert(1)>", src["full"])
    write_folder(subs / "=1+2", src["skeleton"])
    (subs / "notes.txt").write_text("not a submission")
    roster = tmp_path / "roster.csv"
    roster.write_text("student,name,submission\nalice,Alice,\nb042,Bob,bob\ncarol,Carol,\ndave,Dave,\n")
    before = tree(tmp_path, out)

    done = run_grader("batch", subs, "--out", out, "--jobs", 2, "--course", toy_course, "--roster", roster)
    assert done.returncode == 0, done.stderr

    assert tree(tmp_path, out) == before, "the batch wrote or changed something outside --out"
    assert not Path(tempfile.gettempdir(), escaped).exists() and not (tmp_path / escaped).exists()
    book = gradebook(out)
    assert list(book)[:4] == ["alice", "b042", "carol", "dave"], "roster order first"
    status = {k: (v["status"], v["total"]) for k, v in book.items()}
    for folder in ("alice", "b042"):
        assert status[folder] == ("graded", f"{TOY_FULL:g}") and book[folder]["name"]
    assert status["carol"] == ("graded", "0") and status["dave"] == ("missing", "0")
    assert book["dave"]["reason"] == "no submission"
    reasons = {k: v["reason"] for k, v in book.items()}
    assert status["zipslip"][0] == "refused" and "escapes" in reasons["zipslip"]
    assert status["passwd"][0] == "refused" and "link" in reasons["passwd"]
    assert status["linked"][0] == "refused" and "symbolic link" in reasons["linked"]
    assert status["bomb"][0] == "refused" and "MiB uncompressed" in reasons["bomb"]
    assert "notes.txt" not in status, "a stray file is listed as ignored, not a student"
    assert status["exits"] == ("graded", "0") and "toy:" in reasons["exits"]
    assert status["hangs"] == ("graded", "0")
    hang_results = json.loads((out / "hangs" / "results.json").read_text())
    assert "did not return" in hang_results["tests"][0]["output"]
    odd = {v["student"]: k for k, v in book.items()}
    for raw in ("new\\nline", "<img src=x onerror=alert(1)>"):
        assert status[odd[raw]] == ("graded", f"{TOY_FULL:g}") and is_safe_folder_name(odd[raw])
    formula = [k for k, v in book.items() if v["student"] == "'=1+2"]
    assert len(formula) == 1 and status[formula[0]] == ("graded", "0")
    assert all(v["max_total"] == f"{TOY_MAX:g}" for v in book.values())
    assert reasons["exits"].endswith("not on the roster")
    for folder, row in book.items():  # every student with an entry has the three reports
        assert (row["status"] == "missing") != all((out / folder / f).is_file()
                                                   for f in ("results.json", "report.html", "report.md"))
    summary = (out / "summary.html").read_text()
    assert "&lt;img src=x onerror=alert(1)&gt;" in summary and "<img src=x" not in summary
    assert "MiB uncompressed" in summary and "<svg" in summary
    assert "notes.txt" in summary.split('id="ignored"')[1].split("</p>")[0]

    # rerun: nothing changed, nothing regraded; then one archive changes: only that student
    first = states(out)
    again = run_grader("batch", subs, "--out", out, "--jobs", 2, "--course", toy_course, "--roster", roster, "-q")
    assert again.returncode == 0 and states(out) == first
    assert "(0 done in this run" in " ".join(again.stdout.split())
    write_tar(subs / "carol.tar.gz", {"toy.py": src["full"].encode()})
    third = run_grader("batch", subs, "--out", out, "--jobs", 2, "--course", toy_course, "--roster", roster, "-q")
    assert third.returncode == 0
    changed = {k for k, v in states(out).items() if v != first[k]}
    assert changed == {"carol"} and gradebook(out)["carol"]["total"] == f"{TOY_FULL:g}"


def _children(pid: int) -> set[int]:
    kids = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids |= {int(k) for k in (task / "children").read_text().split()}
        except OSError:
            pass
    return kids


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigkill_loses_only_the_students_in_flight(tmp_path, toy_course):
    src = toy_sources(toy_course)
    subs, out = tmp_path / "subs", tmp_path / "out"
    students = [f"s{i}" for i in range(6)]
    for i, name in enumerate(students):
        write_folder(subs / name, src["full"] if i % 2 == 0 else src["skeleton"])
    args = [sys.executable, "-m", "grader", "batch", str(subs), "--out", str(out), "--jobs", "1",
            "--course", str(toy_course), "--quiet"]
    batch = subprocess.Popen(args, env=ENV, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: set[int] = set()
    deadline = time.monotonic() + 120
    while not list((out / ".batch" / "state").glob("*.json")) and batch.poll() is None:
        workers |= _children(batch.pid)
        assert time.monotonic() < deadline, "no student finished within 120 s"
        time.sleep(0.02)
    workers |= _children(batch.pid)
    batch.send_signal(signal.SIGKILL)
    batch.wait()
    finished = {name: (state, (out / name / "results.json").stat().st_mtime_ns)
                for name, state in states(out).items()}
    assert 1 <= len(finished) < len(students), f"kill came too late to test anything: {sorted(finished)}"
    deadline = time.monotonic() + 15
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in workers), "pool workers outlived the killed batch"

    resumed = run_grader("batch", subs, "--out", out, "--jobs", "1", "--course", toy_course, "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    after = states(out)
    assert sorted(after) == students
    for name, (state, mtime) in finished.items():  # kept, not regraded
        assert after[name] == state and (out / name / "results.json").stat().st_mtime_ns == mtime
    rerun_ids = {after[n]["run_id"] for n in students if n not in finished}
    first_ids = {state["run_id"] for state, _ in finished.values()}
    assert len(rerun_ids) == 1 and not rerun_ids & first_ids, "every other student graded once, by the rerun"
    book = gradebook(out)
    assert [book[n]["total"] for n in students] == [f"{TOY_FULL:g}", "0"] * 3

    forced = run_grader("batch", subs, "--out", out, "--jobs", "2", "--course", toy_course, "--quiet", "--force")
    assert forced.returncode == 0
    assert all(s["run_id"] not in rerun_ids | first_ids for s in states(out).values()), "--force regrades everyone"


@pytest.mark.slow
def test_dask_cluster_gives_the_same_scores_as_the_local_pool(tmp_path, toy_course):
    pytest.importorskip("distributed")
    src = toy_sources(toy_course)
    subs = tmp_path / "subs"
    write_folder(subs / "full", src["full"])
    write_folder(subs / "skeleton", src["skeleton"])
    write_folder(subs / "partial", "import numpy as np\n\ndef double(x):\n"
                 "    x = np.asarray(x)\n    return 2 * x if x.size < 6 else x\n")
    results = {}
    for executor in ("local", "dask"):
        out = tmp_path / executor
        done = run_grader("batch", subs, "--out", out, "--jobs", 2, "--executor", executor,
                          "--course", toy_course, "-q")
        assert done.returncode == 0, done.stderr
        results[executor] = {folder: (row["status"], row["toy"], row["total"],
                                      [(t["number"], t["status"]) for t in
                                       json.loads((out / folder / "results.json").read_text())["tests"]])
                             for folder, row in gradebook(out).items()}
    assert results["dask"] == results["local"]
    assert results["local"]["partial"][2] not in ("0", f"{TOY_FULL:g}")


@pytest.mark.slow
def test_a_dask_cluster_left_without_workers_stops_the_batch_with_one_line(tmp_path, toy_course, monkeypatch):
    pytest.importorskip("distributed")
    from grader.batch import executors
    from grader.batch.worker import Job
    from grader.options import GradeOptions
    monkeypatch.setattr(executors, "WATCH_S", 0.2)
    monkeypatch.setattr(executors, "NO_WORKER_S", 1.0)
    entry = write_folder(tmp_path / "subs" / "alice", toy_sources(toy_course)["full"])
    with executors.DaskExecutor(1) as executor:
        assert executor.had_worker
        executor.cluster.scale(0)   # every worker leaves
        deadline = time.monotonic() + 60
        while executor.client.nthreads() and time.monotonic() < deadline:
            time.sleep(0.1)
        started = time.monotonic()
        with pytest.raises(BatchInputError, match="no worker for 1 s; 1 student not graded") as raised:
            list(executor.run([Job("alice", "alice", str(entry), str(toy_course), ("toy",), GradeOptions())]))
    assert time.monotonic() - started < 30 and "\n" not in str(raised.value)


# -- Gradescope mode --------------------------------------------------------------------------

def run_autograder(tmp_path: Path, course: Path, submission: Path) -> tuple[subprocess.CompletedProcess, dict]:
    results = tmp_path / "results"
    env = {**ENV, "GRADER_COURSE": str(course), "GRADESCOPE_SUBMISSION_DIR": str(submission),
           "GRADESCOPE_RESULTS_DIR": str(results), "GRADER_PYTHON": sys.executable}
    done = subprocess.run([str(REPO / "gradescope" / "run_autograder")], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=240)
    return done, json.loads((results / "results.json").read_text())


def test_gradescope_run_autograder_writes_results_json(tmp_path, toy_course):
    src = toy_sources(toy_course)
    done, data = run_autograder(tmp_path, toy_course, write_folder(tmp_path / "submission", src["full"]))
    assert done.returncode == 0, done.stderr
    assert (data["score"], data["max_score"]) == (TOY_FULL, TOY_MAX)
    assert {t["visibility"] for t in data["tests"]} == {"visible", "after_due_date"}
    assert all({"name", "number", "score", "max_score", "status", "output"} <= set(t) for t in data["tests"])
    assert "sandbox:" in data["output"]


def test_gradescope_public_only_names_the_points_waiting_in_hidden_tests(tmp_path, toy_course):
    course = tmp_path / "course"
    shutil.copytree(toy_course, course, ignore=shutil.ignore_patterns("solutions"))   # as --public-only builds it
    done, data = run_autograder(tmp_path, course, write_folder(tmp_path / "submission",
                                                               toy_sources(toy_course)["full"]))
    assert done.returncode == 0, done.stderr
    assert {t["visibility"] for t in data["tests"]} == {"visible"}
    assert "toy: public tests only; 6 more points are in hidden tests" in data["output"]


def test_gradescope_takes_an_uploaded_archive_and_refuses_an_unsafe_one(tmp_path, toy_course):
    src = toy_sources(toy_course)
    (tmp_path / "a").mkdir()
    write_zip(tmp_path / "a" / "upload.zip", {"hw/toy.py": src["full"].encode()})
    _, data = run_autograder(tmp_path / "a", toy_course, tmp_path / "a")
    assert data["score"] == TOY_FULL
    (tmp_path / "b").mkdir()
    write_zip(tmp_path / "b" / "upload.zip", {"../evil.py": b"x = 1\n"})
    done, data = run_autograder(tmp_path / "b", toy_course, tmp_path / "b")
    assert done.returncode == 0 and data["score"] == 0 and "unsafe archive" in data["output"]


def test_gradescope_zip_has_executable_scripts_at_its_root(tmp_path, grader_wheel):
    assert main(["release", "--gradescope", "--assignment", "pool", "--course", str(REPO),
                 "--out", str(tmp_path / "ag.zip"), "--wheel", str(grader_wheel), "--quiet"]) == 0
    with zipfile.ZipFile(tmp_path / "ag.zip") as archive:
        names = set(archive.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in archive.infolist()}
        runner = archive.read("run_autograder").decode()
        with zipfile.ZipFile(io.BytesIO(archive.read(f"dist/{grader_wheel.name}"))) as wheel:
            assert "grader/gradescope.py" in wheel.namelist()
    assert {"setup.sh", "run_autograder", f"dist/{grader_wheel.name}", "templates/report.html.j2",
            "solutions/pool/pool.py", "assignments/pool/pool.py"} <= names
    assert not any(n.startswith(("solutions/conv", "assignments/conv", "tests/")) for n in names)
    assert modes["run_autograder"] & stat.S_IXUSR and modes["setup.sh"] & stat.S_IXUSR
    assert 'GRADER_ASSIGNMENTS="${GRADER_ASSIGNMENTS-pool}"' in runner
