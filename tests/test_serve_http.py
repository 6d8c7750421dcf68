"""`grader serve` over HTTP, in process (Starlette's TestClient), on a copy of the toy course:
every route needs a login, a student reaches only their own work, every form is CSRF-checked,
oversized and unsafe uploads are refused with a clear message, the rate limit and deadlines hold,
and a graded upload shows the same report as report.html. Grading runs in this process through
the worker's own ``step`` (the worker processes are tested in test_serve_crash.py)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from grader.course import load_course
from grader.serve.accounts import issue
from grader.serve.app import create_app
from grader.serve.db import Grading, Submission, open_engine, sessions, upgrade
from grader.serve.settings import ServeSettings
from grader.serve.worker import WorkerConfig, WorkerLoop
from tests.test_serve_support import REPO, Visitor, database_url, csrf_of, status_of, tar_with_link, zip_bytes

GOOD = b"import numpy as np\n\ndef double(x):\n    return 2 * np.asarray(x)\n"
WRONG = b"import numpy as np\n\ndef double(x):\n    return 3 * np.asarray(x)\n"


@pytest.fixture
def site(toy_course, tmp_path):
    """(course folder, settings, tokens by login, worker loop) for a fresh copy of the toy course."""
    course = tmp_path / "course"
    shutil.copytree(toy_course, course)
    settings = ServeSettings(course_root=course, data=tmp_path / "data", workers=0,
                             db_url=database_url(tmp_path / "data"))
    (tmp_path / "data").mkdir()
    engine = open_engine(settings.database_url)
    upgrade(engine)
    with sessions(engine)() as db, db.begin():
        tokens = {i.login: i.token for i in issue(db, ["alice", "bob"], "student") + issue(db, ["ta"], "staff")}
    worker = WorkerLoop(WorkerConfig(settings.database_url, str(settings.data_dir), str(course), 30.0, 5.0, 0.1, 3,
                                     os.getppid(), {}))
    worker._register()
    yield course, settings, tokens, worker
    engine.dispose()


def visitor(site, who: str | None = None) -> Visitor:
    course, settings, tokens, _ = site
    client = TestClient(create_app(settings, load_course(course)), follow_redirects=False)
    client.__enter__()
    person = Visitor(client)
    if who:
        assert person.login(tokens[who]).status_code == 303
    return person


def count(site, model=Submission) -> int:
    engine = open_engine(site[1].database_url)
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(model))


def policy(site, text: str) -> None:
    (site[0] / "course.toml").write_text("[serve]\n" + text)


ROUTES = ["/home", "/assignments/toy", "/submissions/1", "/submissions/1/report.html", "/submissions/1/results.json",
          "/staff", "/staff/class/", "/staff/class/alice/report.html", "/staff/students/alice", "/staff/queue",
          "/staff/export/gradebook.csv", "/staff/export/results.json"]


@pytest.mark.parametrize("path", ROUTES)
def test_every_page_needs_a_login(site, path):
    answer = visitor(site).client.get(path)
    assert answer.status_code == 303 and answer.headers["location"] == "/login"


def test_posts_need_a_login_and_a_csrf_token(site):
    anonymous = visitor(site)
    csrf = csrf_of(anonymous.client.get("/login").text)
    assert anonymous.client.post("/assignments/toy/upload", data={"csrf": csrf},
                                 files={"file": ("toy.py", GOOD)}).status_code == 401
    assert anonymous.client.post("/staff/regrade", data={"csrf": csrf}).status_code == 401
    answer = anonymous.client.post("/login", data={"token": site[2]["alice"]})   # no CSRF field
    assert answer.status_code == 403 and "CSRF" in answer.text
    answer = anonymous.client.post("/login", data={"csrf": "x" * 30, "token": site[2]["alice"]})
    assert answer.status_code == 403
    answer = anonymous.client.post("/login", data={"csrf": csrf, "token": "not-a-token"})
    assert answer.status_code == 401 and "unknown or replaced token" in answer.text
    alice = visitor(site, "alice")
    answer = alice.upload("toy", "toy.py", GOOD, csrf="forged-token-of-another-session")
    assert answer.status_code == 403 and count(site) == 0
    assert alice.client.post("/logout", data={}).status_code == 403
    staff = visitor(site, "ta")
    assert staff.client.post("/staff/regrade", data={"csrf": csrf}).status_code == 403   # another session's


def test_cookie_is_signed_httponly_and_samesite(site):
    alice = visitor(site)
    answer = alice.login(site[2]["alice"])
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    forged = visitor(site)
    forged.client.cookies.set("grader_session", alice.client.cookies["grader_session"][:-3] + "AAA")
    assert forged.client.get("/home").status_code == 303


def test_upload_is_queued_graded_and_reported(site):
    alice = visitor(site, "alice")
    answer = alice.upload("toy", "toy.py", GOOD)
    assert answer.status_code == 303
    page = alice.client.get(answer.headers["location"])
    assert status_of(page.text) == "Queued: number 1 in the queue." and 'http-equiv="refresh"' in page.text
    assert "graded file: toy.py" in page.text
    assert site[3].step()
    page = alice.client.get(answer.headers["location"])
    assert status_of(page.text).startswith("Done: 6 / 7 points") and 'http-equiv="refresh"' not in page.text
    report = alice.client.get(answer.headers["location"] + "/report.html")
    assert report.status_code == 200 and "double matches the reference" in report.text
    results = alice.client.get(answer.headers["location"] + "/results.json").json()
    assert results["score"] == 6 and results["assignments"][0]["name"] == "toy"
    home = alice.client.get("/home").text
    assert "6 / 7" in home and "toy.py" in home


def test_a_student_reaches_only_their_own_work(site):
    alice, bob = visitor(site, "alice"), visitor(site, "bob")
    mine = alice.upload("toy", "toy.py", GOOD).headers["location"]
    site[3].step()
    for path in (mine, mine + "/report.html", mine + "/results.json"):
        assert alice.client.get(path).status_code == 200
        answer = bob.client.get(path)
        assert answer.status_code == 404 and "double" not in answer.text
    for path in ("/staff", "/staff/class/", "/staff/students/alice", "/staff/export/gradebook.csv"):
        assert bob.client.get(path).status_code == 403
    page = bob.client.get("/assignments/toy")   # a forged "student" field does not submit for alice
    answer = bob.client.post("/assignments/toy/upload", data={"csrf": csrf_of(page.text), "student": "alice",
                                                              "account_id": "1"}, files={"file": ("toy.py", WRONG)})
    assert answer.status_code == 303
    assert "alice" not in bob.client.get(answer.headers["location"]).text.split("<main>")[1].split("</p>")[0]
    assert "by bob" in bob.client.get(answer.headers["location"]).text
    assert bob.client.get("/home").text.count("/submissions/") == 1


def test_oversized_uploads_are_refused_before_they_are_read(site):
    policy(site, "max_upload_mib = 0.01\n")
    alice = visitor(site, "alice")
    answer = alice.upload("toy", "toy.py", b"#" * 20_000 + GOOD)
    assert answer.status_code == 413 and "larger than the limit of 0.01 MiB" in answer.text
    csrf = csrf_of(alice.client.get("/assignments/toy").text)

    def endless():   # no Content-Length: counted as it comes (a real server answers early: test_serve_crash.py)
        yield b"--x\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n" + csrf.encode() + b"\r\n"
        yield b"--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"toy.py\"\r\n\r\n"
        for _ in range(200):
            yield b"#" * 1000
    answer = alice.client.post("/assignments/toy/upload", content=endless(),
                               headers={"content-type": "multipart/form-data; boundary=x"})
    assert answer.status_code == 413
    assert count(site) == 0 and not any((site[1].data_dir / "blobs").rglob("*.*"))


@pytest.mark.parametrize("name, data, message", [
    ("evil.zip", zip_bytes({"../toy.py": GOOD}), "unsafe archive: path escapes the archive"),
    ("link.tar.gz", tar_with_link("toy.py", "/etc/passwd"), "unsafe archive: &#39;toy.py&#39; is a symbolic link"),
    ("other.zip", zip_bytes({"hw/readme.txt": "hello"}), "toy.py"),
    ("prog.exe", b"MZ...", "is not a .zip, .tar.gz, .py or .ipynb file"),
    ("broken.zip", b"PK\x03\x04 not really", "unreadable archive"),
    ("empty.py", b"", "the upload is empty"),
])
def test_unsafe_or_unusable_uploads_are_refused_with_a_clear_message(site, name, data, message):
    answer = visitor(site, "alice").upload("toy", name, data)
    assert answer.status_code in (400, 422) and message in answer.text
    assert count(site) == 0


def test_rate_limit_per_student_and_assignment(site):
    policy(site, "rate_limit = 2\n")
    alice, bob = visitor(site, "alice"), visitor(site, "bob")
    assert [alice.upload("toy", "toy.py", GOOD).status_code for _ in range(2)] == [303, 303]
    answer = alice.upload("toy", "toy.py", GOOD)
    assert answer.status_code == 429 and "at most 2 uploads per hour for toy" in answer.text
    assert bob.upload("toy", "toy.py", GOOD).status_code == 303
    assert count(site) == 3


def test_deadline_flags_or_refuses_late_uploads(site):
    policy(site, 'late = "flag"\n[serve.deadlines]\ntoy = 2020-01-01T00:00:00Z\n')
    alice = visitor(site, "alice")
    answer = alice.upload("toy", "toy.py", GOOD)
    assert answer.status_code == 303 and 'class="late"' in alice.client.get(answer.headers["location"]).text
    policy(site, 'late = "refuse"\n[serve.deadlines]\ntoy = "2020-01-01T00:00:00+00:00"\n')
    answer = alice.upload("toy", "toy.py", GOOD)
    assert answer.status_code == 403 and "has passed; late submissions are refused" in answer.text
    policy(site, 'late = "refuse"\n[serve.deadlines]\ntoy = 2999-01-01T00:00:00Z\n')
    assert alice.upload("toy", "toy.py", GOOD).status_code == 303
    assert count(site) == 2


def test_best_or_last_attempt_counts(site):
    alice = visitor(site, "alice")
    alice.upload("toy", "toy.py", GOOD)
    alice.upload("toy", "toy.ipynb", json.dumps({"cells": [{"cell_type": "code", "metadata": {}, "outputs": [],
                 "execution_count": None, "source": WRONG.decode()}], "metadata": {}, "nbformat": 4,
                 "nbformat_minor": 5}).encode())
    assert site[3].step() and site[3].step() and not site[3].step()
    staff = visitor(site, "ta")
    assert "<td class=\"num\">6</td>" in staff.client.get("/staff").text          # best
    policy(site, 'counts = "last"\n')
    assert "<td class=\"num\">6</td>" not in staff.client.get("/staff").text       # last: the notebook's score
    history = staff.client.get("/staff/students/alice").text
    assert history.count("/submissions/") >= 2 and "(counts)" in history


def test_staff_pages_exports_and_regrade(site):
    alice = visitor(site, "alice")
    sub = alice.upload("toy", "toy.py", GOOD).headers["location"]
    site[3].step()
    staff = visitor(site, "ta")
    summary = staff.client.get("/staff/class/").text
    assert "alice" in summary and "bob" in summary and 'href="alice/report.html"' in summary
    assert "double matches the reference" in staff.client.get("/staff/class/alice/report.html").text
    assert staff.client.get(sub).status_code == 200 and staff.client.get(sub + "/report.html").status_code == 200
    gradebook = staff.client.get("/staff/export/gradebook.csv").text.splitlines()
    assert gradebook[0].startswith("student,folder,status,toy,total") and gradebook[1].startswith("alice,alice,graded,6,6,7")
    assert gradebook[2].startswith("bob,bob,missing,0")
    exported = staff.client.get("/staff/export/results.json").json()["students"]
    assert exported[0]["student"] == "alice" and exported[0]["results"]["score"] == 6 and exported[1]["results"] is None
    queue = staff.client.get("/staff/queue").text
    assert "Nothing waiting." in queue and site[3].id in queue
    answer = staff.post("/staff/regrade", {"student": "alice", "assignment": "toy"})
    assert answer.status_code == 200 and "1 submission queued again for alice" in answer.text
    assert status_of(alice.client.get(sub).text) == "Queued: number 1 in the queue."
    assert site[3].step()
    assert count(site, Grading) == 2 and status_of(alice.client.get(sub).text).startswith("Done: 6 / 7")
    assert staff.post("/staff/regrade", {"assignment": "nope"}).status_code == 400


def test_health_answers_for_the_database_and_workers(site):
    answer = visitor(site).client.get("/health")
    assert answer.status_code == 200 and answer.json()["database"] == "ok"
    course, settings, _, _ = site
    waiting = ServeSettings(course_root=course, data=settings.data, workers=2, heartbeat_s=0.05, lease_s=1,
                            db_url=settings.db_url)
    time.sleep(0.3)   # the fixture's worker registered, then stopped heartbeating
    answer = TestClient(create_app(waiting, load_course(course))).get("/health")   # no lifespan: no workers
    assert answer.status_code == 503 and answer.json()["workers"] == 0


def test_tokens_command_reissues_and_ends_old_sessions(site, tmp_path):
    course, settings, tokens, _ = site
    alice = visitor(site, "alice")
    assert alice.client.get("/home").status_code == 200
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = lambda *a: subprocess.run([sys.executable, "-m", "grader", "serve", "tokens", "--course", str(course),  # noqa: E731
                                     "--data", str(settings.data), *(["--db", settings.db_url] if settings.db_url else []),
                                     *a], capture_output=True, text=True, env=env)
    out = tmp_path / "tokens.csv"
    done = run("--staff", "alice", "--out", str(out))
    assert done.returncode == 0 and oct(out.stat().st_mode & 0o777) == "0o600"
    assert alice.client.get("/home").status_code == 303                     # the old session is over
    assert visitor(site).login(tokens["alice"]).status_code == 401           # and the old token
    (tmp_path / "bad.csv").write_text("name\nx\n")
    done = run("--roster", str(tmp_path / "bad.csv"))
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "no 'student' column" in done.stderr
