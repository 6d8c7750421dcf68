"""Helpers of the `grader serve` tests (tests/test_serve_*.py): a logged-in client that finds
each form's CSRF token, a real server started as a subprocess on a free loopback port, and
uploads made in memory. Holds one test of its own: the CSRF scraper."""
from __future__ import annotations

import csv
import io
import os
import re
import signal
import socket
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
STATUS = re.compile(r'id="status"[^>]*>(.*?)</p>', re.S)


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def status_of(html: str) -> str:
    found = STATUS.search(html)
    assert found, "no status on the page"
    return " ".join(found.group(1).split())


def zip_bytes(files: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def tar_with_link(name: str, target: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo(name)
        info.type, info.linkname = tarfile.SYMTYPE, target
        archive.addfile(info)
    return buffer.getvalue()


class Visitor:
    """A browser-like client: cookies kept, CSRF tokens read from the page before each POST."""

    def __init__(self, client):
        self.client = client

    def login(self, token: str):
        page = self.client.get("/login")
        return self.client.post("/login", data={"csrf": csrf_of(page.text), "token": token})

    def upload(self, assignment: str, filename: str, data: bytes, csrf: str | None = None):
        page = self.client.get(f"/assignments/{assignment}")
        token = csrf if csrf is not None else csrf_of(page.text)
        return self.client.post(f"/assignments/{assignment}/upload", data={"csrf": token},
                                files={"file": (filename, data)})

    def post(self, path: str, data: dict):
        page = self.client.get("/staff")
        return self.client.post(path, data={"csrf": csrf_of(page.text), **data})


_DATABASES: dict[str, str] = {}


def database_url(data: Path) -> str:
    """The database of the site whose data folder is `data`: SQLite there (the default), or, with
    GRADER_TEST_POSTGRES set to a PostgreSQL URL whose role may create databases
    (postgresql+psycopg://user:pw@host/postgres), a fresh database on that server, so the same
    tests run against PostgreSQL."""
    admin = os.environ.get("GRADER_TEST_POSTGRES")
    if not admin:
        return f"sqlite:///{data / 'grader.db'}"
    if str(data) not in _DATABASES:
        import secrets

        from sqlalchemy import create_engine, text
        name = "grader_test_" + secrets.token_hex(6)
        engine = create_engine(admin, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
        engine.dispose()
        _DATABASES[str(data)] = admin.rsplit("/", 1)[0] + "/" + name
    return _DATABASES[str(data)]


def issue_tokens(course: Path, data: Path, students: list[str], staff: list[str]) -> dict[str, str]:
    roster = data.parent / f"roster-{os.getpid()}-{time.monotonic_ns()}.csv"
    roster.write_text("student\n" + "".join(f"{s}\n" for s in students))
    args = [sys.executable, "-m", "grader", "serve", "tokens", "--course", str(course), "--data", str(data),
            "--db", database_url(data), "--roster", str(roster), *[a for s in staff for a in ("--staff", s)]]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    return {row["login"]: row["token"] for row in csv.DictReader(io.StringIO(done.stdout))}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """`grader serve` in a subprocess (its own process group), on a free loopback port."""

    def __init__(self, course: Path, data: Path, workers: int = 2, *extra: str):
        self.course, self.data, self.workers, self.extra = course, data, workers, extra
        self.port, self.process, self.log = free_port(), None, data.parent / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> "Server":
        args = [sys.executable, "-m", "grader", "serve", "--course", str(self.course), "--data", str(self.data),
                "--db", database_url(self.data), "--port", str(self.port), "--workers", str(self.workers),
                *self.extra]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(args, cwd=REPO, stdout=log, stderr=log, start_new_session=True,
                                            env={**os.environ, "PYTHONPATH": str(REPO)})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            time.sleep(0.2)
        raise AssertionError("the server did not become healthy: " + self.log.read_text()[-3000:])

    def client(self) -> Visitor:
        return Visitor(httpx.Client(base_url=self.url, timeout=60))

    def kill(self) -> None:
        """SIGKILL the server process only (its workers die with it: PR_SET_PDEATHSIG)."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def test_csrf_scraper_reads_the_hidden_field():
    assert csrf_of('<input type="hidden" name="csrf" value="abc-123_x">') == "abc-123_x"
    assert status_of('<p id="status" class="state-done">\n Done: 3 / 4 points\n</p>') == "Done: 3 / 4 points"
