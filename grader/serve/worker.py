"""A worker process of `grader serve`: take a job, grade it with the batch engine, record it.

Started by the server (``supervisor``) as ``python -m grader.serve.worker CONFIG`` (CONFIG: a
JSON object, see ``WorkerConfig``). It grades one student at a time with
``grader.batch.worker.grade_job`` (what ``grader batch`` does for one student), writes the
reports into a fresh folder and renames it into place (atomic), then records the job
(``queue.complete``), which succeeds only while the job's lease is still its own. A thread
heartbeats the lease while the grading runs. SIGTERM stops it after the job in hand; it dies
with the server (SIGKILL from the kernel when its parent goes).
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..batch.records import not_graded
from ..batch.worker import Job, grade_job, init_local_worker
from ..course import load_course
from ..options import GradeOptions
from ..reports import write_reports
from .db import Account, Submission, Worker, open_engine
from .logs import setup_logging
from .queue import Claim, Finished, claim, complete, heartbeat
from .storage import materialise

log = logging.getLogger("grader.serve.worker")


@dataclass(frozen=True)
class WorkerConfig:
    db_url: str
    data_dir: str
    course_root: str
    lease_s: float
    heartbeat_s: float
    poll_s: float
    max_attempts: int
    parent_pid: int
    options: dict        # GradeOptions fields given on the command line

    def to_json(self) -> str:
        return json.dumps(asdict(self))


class WorkerLoop:
    def __init__(self, config: WorkerConfig):
        self.config = config
        self.engine = open_engine(config.db_url)
        self.data_dir = Path(config.data_dir)
        self.course = load_course(Path(config.course_root))
        self.options = GradeOptions(**config.options).with_outputs(self.data_dir)
        self.id = f"{socket.gethostname()}-{os.getpid()}-{os.urandom(2).hex()}"
        self.stopping = threading.Event()
        self.job: int | None = None

    def run(self) -> None:
        self._register()
        beat = threading.Thread(target=self._beat, daemon=True)
        beat.start()
        log.info("worker started", extra={"worker": self.id})
        while not self.stopping.is_set():
            if os.getppid() != self.config.parent_pid:
                break   # the server is gone
            if not self.step():
                self.stopping.wait(self.config.poll_s)
        log.info("worker stopped", extra={"worker": self.id})

    def step(self) -> bool:
        """Claim and grade one job; False when the queue is empty (or the grading failed)."""
        taken = claim(self.engine, self.id, self.config.lease_s, self.config.max_attempts)
        if taken is None:
            return False
        try:
            self._grade(taken)
        except Exception:  # noqa: BLE001  (the lease expires and the job is taken again)
            log.exception("grading failed", extra={"submission": taken.submission_id})
            return False
        return True

    def _register(self) -> None:
        now = time.time()
        with Session(self.engine) as session, session.begin():
            session.add(Worker(id=self.id, pid=os.getpid(), host=socket.gethostname(), started_at=now,
                               heartbeat_at=now, job=None, done=0))

    def _mark(self, **values) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(Worker).where(Worker.id == self.id).values(heartbeat_at=time.time(), **values))

    def _beat(self) -> None:
        """The worker's own heartbeat (its row) and the lease of the job in hand."""
        while True:
            time.sleep(self.config.heartbeat_s)
            try:
                with self.engine.begin() as conn:
                    conn.execute(update(Worker).where(Worker.id == self.id)
                                 .values(heartbeat_at=time.time(), job=self.job))
                if self._current is not None:
                    heartbeat(self.engine, self._current, self.config.lease_s)
            except Exception as exc:  # noqa: BLE001  (the database away for a moment: try again)
                log.warning("heartbeat failed: %s", exc)

    _current: Claim | None = None

    def _grade(self, taken: Claim) -> None:
        self._current, self.job = taken, taken.submission_id
        started = time.perf_counter()
        self._mark(job=taken.submission_id)
        with Session(self.engine) as session:
            sub = session.get(Submission, taken.submission_id)
            login = session.scalar(select(Account.login).where(Account.id == sub.account_id))
        log.info("grading", extra={"submission": sub.id, "attempt": taken.attempts, "worker": self.id})
        scratch = Path(tempfile.mkdtemp(dir=self.data_dir / "tmp", prefix=f"grade-{sub.id}-"))
        reports = self.data_dir / "reports" / str(sub.id)
        try:
            entry = materialise(self.data_dir, sub.blob, sub.filename, scratch)
            job = Job(login, f"submission-{sub.id}", str(entry), str(self.course.root), (sub.assignment,),
                      self.options)
            outcome = grade_job(job)
            titles = [(s.name, s.title) for s in self.course.select([sub.assignment])]
            result = outcome.result or not_graded(login, outcome.reason, titles, outcome.seconds)
            result.submission = login
            staging = reports / f".tmp-{taken.token}"
            write_reports(result, staging, self.course.templates)
            final = reports / taken.token
            os.replace(staging, final)
            finished = Finished(str(outcome.status), result.score, result.max_score, outcome.reason,
                                str(final.relative_to(self.data_dir)), time.perf_counter() - started)
            if complete(self.engine, taken, finished, self.id):
                self._mark(job=None, done=Worker.done + 1)
                log.info("graded", extra={"submission": sub.id, "score": result.score, "status": finished.status,
                                          "seconds": round(finished.seconds, 3), "worker": self.id})
            else:
                shutil.rmtree(final, ignore_errors=True)
                log.info("grading discarded: the job is no longer ours", extra={"submission": sub.id})
        finally:
            if self.job is not None:
                self._mark(job=None)
            self._current, self.job = None, None
            shutil.rmtree(scratch, ignore_errors=True)


def main(argv: list[str]) -> int:
    config = WorkerConfig(**json.loads(argv[0]))
    init_local_worker(config.parent_pid)   # dies with the server; Ctrl-C is the server's business
    setup_logging()
    loop = WorkerLoop(config)
    signal.signal(signal.SIGTERM, lambda *_: loop.stopping.set())
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
