"""Load on loopback: 200 uploads from 50 simulated students within a minute while two workers
grade (the fast `arch` assignment): every upload answered and queued (none lost: a row and a
stored blob each), pages responsive; prints the p95 page and upload latencies."""
from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from grader.serve.db import Grading, Submission, open_engine
from grader.serve.storage import blob_path
from tests.test_serve_support import REPO, Server, database_url, issue_tokens

ARCH = (REPO / "solutions" / "arch" / "arch.py").read_bytes()
STUDENTS, UPLOADS_EACH, CLIENTS = 50, 4, 10
pytestmark = pytest.mark.skipif(not (REPO / "solutions" / "arch").is_dir(), reason="needs solutions/arch")


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


def test_200_uploads_from_50_students_in_a_minute(tmp_path):
    data = tmp_path / "data"
    logins = [f"student{k:02d}" for k in range(STUDENTS)]
    tokens = issue_tokens(REPO, data, logins, [])
    server = Server(REPO, data, 2).start()
    pages, posts, answers = [], [], []

    def student(login: str) -> None:
        visitor = server.client()
        visitor.login(tokens[login])
        for j in range(UPLOADS_EACH):
            started = time.perf_counter()
            page = visitor.client.get("/assignments/arch")
            pages.append(time.perf_counter() - started)
            assert page.status_code == 200
            started = time.perf_counter()
            answer = visitor.upload("arch", "arch.py", ARCH + f"\n# {login} {j}\n".encode())
            posts.append(time.perf_counter() - started)
            answers.append(answer.status_code)
            started = time.perf_counter()
            status = visitor.client.get(answer.headers.get("location", "/home"))
            pages.append(time.perf_counter() - started)
            assert status.status_code == 200

    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(student, logins))
        elapsed = time.perf_counter() - started
        health = server.client().client.get("/health")
        assert health.status_code == 200 and health.json()["workers"] == 2
    finally:
        server.stop()
    engine = open_engine(database_url(data))
    with engine.connect() as conn:
        rows = conn.execute(select(Submission.blob, Submission.state)).all()
        graded = conn.scalar(select(func.count()).select_from(Grading))
    engine.dispose()
    total = STUDENTS * UPLOADS_EACH
    assert answers == [303] * total
    assert len(rows) == total and len({blob for blob, _ in rows}) == total
    assert all(blob_path(data, blob).is_file() for blob, _ in rows)
    print(f"\nload test: {total} uploads from {STUDENTS} students in {elapsed:.1f} s ({CLIENTS} at a time), "
          f"0 lost; page p95 {1000 * p95(pages):.0f} ms (median {1000 * statistics.median(pages):.0f} ms), "
          f"upload p95 {1000 * p95(posts):.0f} ms; graded meanwhile by 2 workers: {graded}")
    assert elapsed < 60 and p95(pages) < 2.0
