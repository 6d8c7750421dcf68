"""`grader serve` after the security review: logout ends the session server-side, refused uploads
leave nothing on disk and are rate-limited, the queue is fair between students, unusable ids are
404 and unexpected errors a plain 500 (security headers and one JSON log line on both), /health
counts only live workers of this server, and the command's small print (start line, plural,
`tokens --help`, deadlines without a UTC offset, an over-long login token). Uses the site of
test_serve_http.py (in process, grading through the worker's ``step``)."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from grader.course import load_course
from grader.serve.app import create_app
from grader.serve.db import Refusal, Submission, Worker, open_engine, sessions
from grader.serve.logs import JsonLines
from grader.serve.settings import ServeSettings, SettingsError, read_policy
from tests.test_serve_http import GOOD, WRONG, count, policy, visitor
from tests.test_serve_http import site as http_site  # noqa: F401  (the fixture `site`)
from tests.test_serve_support import REPO, Server, csrf_of, status_of, zip_bytes

EVIL = zip_bytes({"../toy.py": GOOD})
MISSING = zip_bytes({"hw/readme.txt": "hello"})
@pytest.fixture
def site(request):
    """test_serve_http.py's site: (course folder, settings, tokens by login, worker loop)."""
    return request.getfixturevalue("http_site")


HEADERS = ("content-security-policy", "x-content-type-options", "referrer-policy", "x-frame-options")


def test_logout_ends_the_session_even_for_a_copied_cookie(site):
    alice, other_tab = visitor(site, "alice"), visitor(site, "alice")
    thief = visitor(site)
    thief.client.cookies.set("grader_session", alice.client.cookies["grader_session"])
    assert thief.client.get("/home").status_code == 200
    answer = alice.client.post("/logout", data={"csrf": csrf_of(alice.client.get("/home").text)})
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    assert thief.client.get("/home").status_code == 303          # the copied cookie no longer logs in
    assert alice.client.get("/home").status_code == 303
    assert other_tab.client.get("/home").status_code == 200      # only that session ended
    assert visitor(site, "alice").client.get("/home").status_code == 200   # and the token still works


def files_under(folder) -> list:
    return [p for p in folder.rglob("*") if p.is_file()]


def test_refused_uploads_leave_nothing_on_disk(site):
    alice = visitor(site, "alice")
    kept = alice.upload("toy", "good.zip", zip_bytes({"toy.py": GOOD}))
    assert kept.status_code == 303
    for name, data in (("evil.zip", EVIL), ("other.zip", MISSING), ("toy.py", b"")):
        assert alice.upload("toy", name, data).status_code in (400, 422)
    data_dir = site[1].data_dir
    assert len(files_under(data_dir / "blobs")) == 1 and files_under(data_dir / "tmp") == []
    assert count(site) == 1 and count(site, Refusal) == 3
    assert site[3].step()                                         # the accepted upload's blob is intact
    assert status_of(alice.client.get(kept.headers["location"]).text).startswith("Done: 6 / 7")


def test_refused_uploads_count_toward_their_own_rate_limit(site):
    policy(site, "refused_limit = 2\n")
    alice, bob = visitor(site, "alice"), visitor(site, "bob")
    assert [alice.upload("toy", "evil.zip", EVIL).status_code for _ in range(2)] == [422, 422]
    answer = alice.upload("toy", "toy.py", GOOD)                 # refused before a byte is read
    assert answer.status_code == 429 and "2 refused uploads in the last hour (at most 2)" in answer.text
    assert bob.upload("toy", "toy.py", GOOD).status_code == 303
    assert count(site) == 1 and count(site, Refusal) == 2
    policy(site, "refused_limit = 0\n")
    with pytest.raises(SettingsError, match="refused_limit"):
        read_policy(site[0])


def test_queue_is_fair_between_students(site):
    alice, bob = visitor(site, "alice"), visitor(site, "bob")
    mine = [alice.upload("toy", "toy.py", code).headers["location"] for code in (GOOD, WRONG, GOOD)]
    theirs = bob.upload("toy", "toy.py", GOOD).headers["location"]
    assert status_of(bob.client.get(theirs).text) == "Queued: number 2 in the queue."
    assert status_of(alice.client.get(mine[2]).text) == "Queued: number 4 in the queue."
    graded = []
    engine = open_engine(site[1].database_url)
    while site[3].step():
        with engine.connect() as conn:
            done = conn.scalars(select(Submission.id).where(Submission.state == "done")
                                .order_by(Submission.grading_id)).all()
        graded.append(done[-1])
        if len(graded) == 2:   # alice's first, then bob's: alice's others wait their turn
            assert status_of(alice.client.get(mine[2]).text) == "Queued: number 2 in the queue."
    ids = [int(path.rsplit("/", 1)[1]) for path in (mine[0], theirs, mine[1], mine[2])]
    assert graded == ids


@pytest.mark.parametrize("path", ["/submissions/9223372036854775808/results.json",
                                  "/submissions/99999999999999999999999999", "/submissions/2147483648",
                                  "/submissions/0", "/submissions/-1/report.html", "/submissions/abc"])
def test_unusable_submission_ids_are_404_with_the_security_headers(site, path):
    answer = visitor(site, "alice").client.get(path)
    assert answer.status_code == 404 and "no such" in answer.text
    assert all(h in answer.headers for h in HEADERS)


class Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(JsonLines().format(record))


def test_unexpected_errors_are_a_plain_500_with_headers_and_one_json_line(site, monkeypatch, capfd):
    alice = visitor(site, "alice")
    monkeypatch.setattr("grader.serve.student.attempts", lambda *a, **k: 1 / 0)
    access, lines = logging.getLogger("grader.serve.access"), Lines()
    access.addHandler(lines)
    try:
        answer = alice.client.get("/home")
    finally:
        access.removeHandler(lines)
    assert answer.status_code == 500 and all(h in answer.headers for h in HEADERS)
    assert "Traceback" not in answer.text and "ZeroDivisionError" not in answer.text
    assert len(lines.lines) == 1 and "\n" not in lines.lines[0]
    entry = json.loads(lines.lines[0])
    assert entry["status"] == 500 and entry["level"] == "error" and entry["error"].startswith("ZeroDivisionError")
    assert "Traceback" not in capfd.readouterr().err


def test_health_counts_only_live_workers_of_this_server(site):
    course, settings, _, _ = site
    since = time.time()
    rows = [("old-run", os.getpid(), since - 100),   # a previous server's worker: recent heartbeat, same pid
            ("killed", 2**22 + 7, since + 1),        # this server's, killed: its pid is not alive
            ("alive", os.getpid(), since + 2)]
    with sessions(open_engine(settings.database_url))() as db, db.begin():
        for name, pid, started in rows:
            db.add(Worker(id=name, pid=pid, host=os.uname().nodename, started_at=started, heartbeat_at=time.time(),
                          job=None, done=0))
    app = create_app(ServeSettings(course_root=course, data=settings.data, workers=2, db_url=settings.db_url), load_course(course))
    app.state.supervisor.alive = lambda: (since, {os.getpid()})
    answer = TestClient(app).get("/health")
    assert answer.status_code == 200 and answer.json()["workers"] == 1
    app.state.supervisor.alive = lambda: (since, set())      # every worker gone
    answer = TestClient(app).get("/health")
    assert answer.status_code == 503 and answer.json()["workers"] == 0


def test_an_over_long_login_token_gets_a_login_message(site):
    anonymous = visitor(site)
    for token, status in (("x" * 300, 400), ("x" * 20_000, 413)):
        csrf = csrf_of(anonymous.client.get("/login").text)
        answer = anonymous.client.post("/login", data={"csrf": csrf, "token": token})
        assert answer.status_code == status and "too long for a login token" in answer.text
        assert "upload" not in answer.text


def test_deadlines_need_a_utc_offset(site):
    policy(site, "[serve.deadlines]\ntoy = 2026-03-01T23:59:00\n")
    with pytest.raises(SettingsError, match="toy: give a UTC offset") as refused:
        read_policy(site[0])
    assert "\n" not in str(refused.value)
    policy(site, '[serve.deadlines]\ntoy = "2026-03-01T23:59:00"\n')
    with pytest.raises(SettingsError, match="give a UTC offset"):
        read_policy(site[0])
    policy(site, "[serve.deadlines]\ntoy = 2026-03-01T23:59:00+01:00\n")
    assert read_policy(site[0]).deadline("toy").utcoffset().total_seconds() == 3600


def grader(*args: str, cwd=REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120, check=False)


def test_tokens_command_help_and_plural(site, tmp_path):
    course, settings, _, _ = site
    shown = grader("serve", "tokens", "--help").stdout
    assert "--roster" in shown and "--staff" in shown and "--workers" not in shown and "--sandbox" not in shown
    done = grader("serve", "tokens", "--course", str(course), "--data", str(settings.data), "--staff", "ta2",
                  "--out", str(tmp_path / "t.csv"))
    assert done.returncode == 0 and done.stderr.startswith("1 token written to ")


def test_serve_prints_where_it_listens(site, tmp_path):
    course, settings, _, _ = site
    server = Server(course, settings.data, 0, "--sandbox", "basic").start()
    try:
        shown = server.log.read_text()
    finally:
        server.stop()
    first = next(line for line in shown.splitlines() if line.startswith("grader serve:"))
    assert f"http://127.0.0.1:{server.port}/" in first and str(course.resolve()) in first
    assert "0 workers" in first and "sandbox basic" in first


def test_the_live_summary_leaves_unsubmitted_assignments_out_of_their_distributions():
    """A student who has submitted only arch is in arch's distribution, not a 0 in conv's."""
    import re

    from grader.batch.discovery import Entry
    from grader.batch.records import StudentRecord, StudentRow, not_graded
    from grader.models import AssignmentResult, GradingResult, GradingStatus, TestResult
    from grader.serve.results import NO_SUBMISSION, summary_html
    from tests.helpers import COURSE
    parts = [AssignmentResult(name=s.name, title=s.title, tests=[], error=NO_SUBMISSION) for s in COURSE.assignments]
    arch = next(k for k, a in enumerate(parts) if a.name == "arch")
    parts[arch] = AssignmentResult(name="arch", title="Architecture arithmetic", tests=[TestResult(
        name="t", number="arch.1", assignment="arch", max_score=53, passed=True, visibility="visible")])
    result = GradingResult("s0", parts, "bubblewrap", "cpu", "0", 1.0)
    rows = [StudentRow(Entry("s0", "s0", None), StudentRecord("s0", "s0", GradingStatus.GRADED, result)),
            StudentRow(Entry("s1", "s1", None), StudentRecord("s1", "s1", GradingStatus.ERROR,
                                                              not_graded("s1", "x", [])))]
    html = summary_html(rows, COURSE, "live")
    assert re.search(r"Architecture arithmetic \(arch\)</td>\s*<td[^>]*>53</td>\s*<td[^>]*>1</td>", html)
    assert re.search(r"Convolution \(conv\)</td>\s*<td[^>]*>103</td>\s*<td[^>]*>0</td>", html)
