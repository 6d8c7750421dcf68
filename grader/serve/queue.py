"""The grading queue, in the database: nothing is lost, every job is recorded exactly once.

A submission row is the job. ``state`` goes queued -> running -> done. A worker *claims* the
next claimable job (queued, or running under an expired lease) in one UPDATE statement: the
row gets a fresh random ``lease_token`` and ``lease_until``; a worker whose UPDATE matched no
row (another took it first) tries the next. While grading, the worker *heartbeats*: it pushes
``lease_until`` forward, but only while the row still carries its token. It *completes* in one
transaction: the row goes to done only if it still carries its token, and only then is the
grading row inserted. So:

- a worker killed at any instant leaves its job running under a lease that expires; the next
  claim after that grades it again (from the stored upload), and ``attempts`` counts how often;
  a job whose workers died ``max_attempts`` times is recorded as an error instead;
- a worker that was too slow (its lease expired and another took the job) cannot record: its
  completion matches no row, and its reports are deleted;
- a regrade puts the row back in the queue with no token, so a grading in flight is discarded.

The queue is fair between students: the next job is the one with the fewest jobs *of the same
student* ahead of it (that student's older jobs still waiting or being graded when it was queued,
whether graded since or not), then the oldest. So each student's first job goes before anyone's second: a student who queues twenty
uploads delays the others by one grading, not twenty. ``position`` shows that same order.
"""
from __future__ import annotations

import secrets
import socket
import time
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, aliased

from .db import Grading, Submission, Worker

QUEUED, RUNNING, DONE = "queued", "running", "done"


@dataclass(frozen=True)
class Claim:
    submission_id: int
    token: str
    attempts: int


@dataclass(frozen=True)
class Finished:
    status: str
    score: float
    max_score: float
    reason: str
    report_dir: str
    seconds: float


def _claimable(now: float, row=Submission):
    return or_(row.state == QUEUED, and_(row.state == RUNNING, row.lease_until < now))


def _ahead(now: float, job):
    """How many jobs of `job`'s student went or go before it: their older jobs that were not yet
    graded when `job` was queued (waiting, being graded, or graded since). It never shrinks while
    `job` waits, so a student's next job waits behind everyone else's jobs queued before it with
    fewer of their own ahead (round robin, even with one worker)."""
    other = aliased(Submission)
    return (select(func.count()).select_from(other)
            .outerjoin(Grading, and_(Grading.id == other.grading_id, other.state == DONE)).where(
                other.account_id == job.account_id,
                or_(other.queued_at < job.queued_at, and_(other.queued_at == job.queued_at, other.id < job.id)),
                or_(other.state != DONE, Grading.finished_at > job.queued_at))
            .correlate(job).scalar_subquery())


def claim(engine: Engine, worker_id: str, lease_s: float, max_attempts: int) -> Claim | None:
    """Take the next claimable job (fair between students, then oldest) for `worker_id`, or None
    when the queue is empty."""
    for _ in range(20):
        now, token = time.time(), secrets.token_hex(16)
        with engine.begin() as conn:
            _give_up_on_dead_jobs(conn, now, max_attempts)
            job = aliased(Submission)
            nxt = (select(job.id).where(_claimable(now, job)).order_by(_ahead(now, job), job.queued_at, job.id)
                   .limit(1).scalar_subquery())
            taken = conn.execute(update(Submission).where(Submission.id == nxt, _claimable(now)).values(
                state=RUNNING, lease_token=token, lease_owner=worker_id, lease_until=now + lease_s,
                attempts=Submission.attempts + 1)).rowcount
        if taken:
            with engine.connect() as conn:
                row = conn.execute(select(Submission.id, Submission.attempts)
                                   .where(Submission.lease_token == token)).first()
            if row is not None:
                return Claim(row.id, token, row.attempts)
        with engine.connect() as conn:
            if conn.scalar(select(func.count()).select_from(Submission).where(_claimable(now))) == 0:
                return None
    return None


def _give_up_on_dead_jobs(conn, now: float, max_attempts: int) -> None:
    """Jobs whose lease expired after `max_attempts` claims: recorded as an error, once."""
    dead = conn.execute(select(Submission.id, Submission.lease_token).where(
        Submission.state == RUNNING, Submission.lease_until < now, Submission.attempts >= max_attempts)).all()
    for row in dead:
        reason = f"the grading worker died {max_attempts} times on this submission"
        record(conn, row.id, row.lease_token, Finished("error", 0.0, 0.0, reason, "", 0.0), "")


def heartbeat(engine: Engine, claim_: Claim, lease_s: float) -> bool:
    """Extend the lease; False when the job is no longer ours (regraded, or taken after expiry)."""
    with engine.begin() as conn:
        return bool(conn.execute(update(Submission).where(
            Submission.id == claim_.submission_id, Submission.lease_token == claim_.token,
            Submission.state == RUNNING).values(lease_until=time.time() + lease_s)).rowcount)


def record(conn, submission_id: int, token: str, finished: Finished, worker_id: str) -> bool:
    """In the caller's transaction: mark the job done and insert its grading, if the job still
    carries `token`. True when recorded."""
    grading_id = conn.execute(Grading.__table__.insert().values(
        submission_id=submission_id, token=token, finished_at=time.time(), status=finished.status,
        score=finished.score, max_score=finished.max_score, reason=finished.reason[:2000],
        report_dir=finished.report_dir, seconds=finished.seconds, worker=worker_id)).inserted_primary_key[0]
    done = conn.execute(update(Submission).where(
        Submission.id == submission_id, Submission.lease_token == token, Submission.state == RUNNING).values(
        state=DONE, lease_token=None, lease_until=None, grading_id=grading_id)).rowcount
    if not done:
        conn.execute(Grading.__table__.delete().where(Grading.id == grading_id))
    return bool(done)


def complete(engine: Engine, claim_: Claim, finished: Finished, worker_id: str) -> bool:
    with engine.begin() as conn:
        return record(conn, claim_.submission_id, claim_.token, finished, worker_id)


def requeue(engine: Engine, submission_ids: list[int]) -> int:
    """Put these submissions back at the end of the queue (a regrade); return how many."""
    if not submission_ids:
        return 0
    with engine.begin() as conn:
        return conn.execute(update(Submission).where(Submission.id.in_(submission_ids)).values(
            state=QUEUED, queued_at=time.time(), lease_token=None, lease_owner=None, lease_until=None,
            attempts=0)).rowcount


def order(engine: Engine) -> list[int]:
    """The claimable jobs' ids in the order ``claim`` takes them (as things stand now)."""
    now, job = time.time(), aliased(Submission)
    with engine.connect() as conn:
        return list(conn.scalars(select(job.id).where(_claimable(now, job))
                                 .order_by(_ahead(now, job), job.queued_at, job.id)))


def position(engine: Engine, submission: Submission) -> int | None:
    """1 for the next job to be claimed; None unless queued."""
    if submission.state != QUEUED:
        return None
    ids = order(engine)
    return ids.index(submission.id) + 1 if submission.id in ids else None


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(select(Submission.state, func.count()).group_by(Submission.state)).all()
    found = {QUEUED: 0, RUNNING: 0, DONE: 0}
    found.update({state: n for state, n in rows})
    return found


def live_workers(engine: Engine, within_s: float) -> list[Worker]:
    """Workers that heartbeat within the last `within_s` seconds."""
    with Session(engine) as session:
        return list(session.scalars(select(Worker).where(Worker.heartbeat_at >= time.time() - within_s)
                                    .order_by(Worker.started_at)))


def alive_workers(engine: Engine, within_s: float, since: float | None, pids: set[int]) -> list[Worker]:
    """Of the workers that heartbeat recently, those alive now: one of `pids` (this server's live
    worker processes), on this host, registered since `since` (this server's start), one per pid.
    A killed worker or one of a previous server run counts no longer, however recent its heartbeat."""
    if since is None:
        return []
    host, found = socket.gethostname(), {}
    for worker in live_workers(engine, within_s):
        if worker.pid in pids and worker.host == host and worker.started_at >= since:
            found[worker.pid] = worker   # started_at order: the latest row of a pid wins
    return list(found.values())
