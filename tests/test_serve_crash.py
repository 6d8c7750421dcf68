"""A queue that loses nothing: `grader serve` killed with SIGKILL while jobs are queued and
running, then restarted, grades every job exactly once; a worker killed mid-job is replaced and
its job graded again from the stored upload, recorded once. Also, against the real server,
uploads over the cap are answered 413 before they are sent in full. Grades the fast `arch`
assignment of this repository's course."""
from __future__ import annotations

import os
import select
import socket
import time

import pytest
from sqlalchemy import func, select as sql_select

from grader.serve.db import Grading, Submission, Worker, open_engine
from tests.test_serve_support import REPO, Server, database_url, issue_tokens

ARCH = (REPO / "solutions" / "arch" / "arch.py").read_bytes()
pytestmark = pytest.mark.skipif(not (REPO / "solutions" / "arch").is_dir(), reason="needs solutions/arch")


def snapshot(url: str) -> dict:
    engine = open_engine(url)
    with engine.connect() as conn:
        states = dict(conn.execute(sql_select(Submission.state, func.count()).group_by(Submission.state)).all())
        gradings = dict(conn.execute(sql_select(Grading.submission_id, func.count())
                                     .group_by(Grading.submission_id)).all())
        attempts = dict(conn.execute(sql_select(Submission.id, Submission.attempts)).all())
        busy = [(w.pid, w.job) for w in conn.execute(sql_select(Worker.pid, Worker.job).where(
            Worker.job.is_not(None), Worker.heartbeat_at > time.time() - 1.5)) if alive(w.pid)]
        reports = [r for (r,) in conn.execute(sql_select(Grading.report_dir))]
    engine.dispose()
    return {"states": states, "gradings": gradings, "attempts": attempts, "busy": busy, "reports": reports}


def wait_for(check, url: str, timeout: float, what: str) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = snapshot(url)
        if check(state):
            return state
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}: {state}")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:   # a zombie is dead too
        return "zombie" not in open(f"/proc/{pid}/status").read().lower()
    except OSError:
        return False


def test_kill_9_at_any_moment_loses_nothing_and_grades_once(tmp_path):
    data = tmp_path / "data"
    tokens = issue_tokens(REPO, data, [f"s{k}" for k in range(4)], [])
    url = database_url(data)
    server = Server(REPO, data, 2, "--lease-seconds", "3", "--heartbeat-seconds", "0.5").start()
    try:
        uploads = 0
        for k, (login, token) in enumerate(tokens.items()):
            student = server.client()
            student.login(token)
            for j in range(2):
                answer = student.upload("arch", "arch.py", ARCH + f"\n# {login} attempt {j}\n".encode())
                assert answer.status_code == 303, answer.text
                uploads += 1
        state = wait_for(lambda s: s["states"].get("running", 0) >= 1 and s["busy"], url, 60, "a running job")
        workers = [pid for pid, _ in state["busy"]]
        server.kill()
        time.sleep(1.0)
        assert not any(alive(pid) for pid in workers), "a worker outlived the killed server"
        killed = snapshot(url)
        assert killed["states"].get("queued", 0) + killed["states"].get("running", 0) > 0, killed

        server.start()
        # now kill one worker in the middle of a job: the supervisor replaces it, the lease expires
        state = wait_for(lambda s: bool(s["busy"]), url, 60, "a busy worker")
        victim_pid, victim_job = state["busy"][0]
        os.kill(victim_pid, 9)
        done = wait_for(lambda s: s["states"].get("done", 0) == uploads, url, 150, "every job done")
    finally:
        server.stop()
    assert done["states"] == {"done": uploads}
    assert sorted(done["gradings"]) == sorted(done["attempts"]) and set(done["gradings"].values()) == {1}
    assert done["attempts"][victim_job] >= 2 and max(done["attempts"].values()) <= 3
    for report in done["reports"]:
        assert (data / report / "results.json").is_file() and (data / report / "report.html").is_file()
    engine = open_engine(url)
    with engine.connect() as conn:
        scores = {row.score for row in conn.execute(sql_select(Grading.score, Grading.status))}
        statuses = {row.status for row in conn.execute(sql_select(Grading.status))}
    assert statuses == {"graded"} and len(scores) == 1 and scores.pop() > 0   # each graded in full
    print(f"\ncrash test: {uploads} jobs, killed the server with {killed['states']} and a worker on job "
          f"{victim_job}; after restart all {uploads} done, one grading each; attempts "
          f"{sorted(done['attempts'].values())}")


def _answer(sock: socket.socket) -> bytes:
    got = b""
    while b"</html>" not in got:
        try:
            part = sock.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not part:
            break
        got += part
    return got


def _raw_upload(server: Server, cookie: str, headers: str, body_mib: int) -> tuple[bytes, int]:
    """Send an upload request by hand; return (the answer's first bytes, MiB sent before it came)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall((f"POST /assignments/arch/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
                      f"Content-Type: multipart/form-data; boundary=x\r\n{headers}\r\n").encode())
        chunk = b"%x\r\n%s\r\n" % (1 << 20, b"#" * (1 << 20))
        if body_mib:
            part = b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.zip"\r\n\r\n'
            sock.sendall(b"%x\r\n%s\r\n" % (len(part), part))
        for sent in range(body_mib):
            if select.select([sock], [], [], 0)[0]:
                return _answer(sock), sent
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                return _answer(sock), sent
        return _answer(sock), body_mib


def test_oversized_uploads_are_answered_before_they_are_sent_in_full(tmp_path):
    data = tmp_path / "data"
    tokens = issue_tokens(REPO, data, ["s0"], [])
    server = Server(REPO, data, 0).start()
    try:
        student = server.client()
        student.login(tokens["s0"])
        cookie = "grader_session=" + student.client.cookies["grader_session"]
        answer, _ = _raw_upload(server, cookie, "Content-Length: 1000000000\r\n", 0)
        assert answer.startswith(b"HTTP/1.1 413") and b"larger than the limit of 20 MiB" in answer
        answer, sent = _raw_upload(server, cookie, "Transfer-Encoding: chunked\r\n", 400)
        assert answer.startswith(b"HTTP/1.1 413") and sent < 100, sent   # the cap is 20 MiB
    finally:
        server.stop()
    assert not any((data / "blobs").rglob("*.*"))
