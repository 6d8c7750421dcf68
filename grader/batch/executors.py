"""Where the grading runs: a local process pool, or a Dask distributed cluster.

Both take a list of ``Job`` and yield one ``Outcome`` per job as each finishes (in completion
order). A job whose worker dies is retried on a fresh worker, then reported as an error; it
never stops the batch. No scheduling of our own: concurrent.futures and Dask do it. A Dask
cluster that had workers and has none left stops the batch with a one-line ``BatchInputError``
after ``NO_WORKER_S`` seconds instead of waiting for workers that may never come back (the
students graded so far are kept; a rerun grades the rest). One that has had no worker yet is
waited for: a batch system's workers may sit in its queue for a while.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool

from ..models import GradingStatus
from .discovery import BatchInputError
from .worker import Job, Outcome, WorkerStats, grade_job, init_local_worker, one_line

MAX_ATTEMPTS = 3  # a job whose worker dies this many times is reported as an error
NO_WORKER_S = 30.0  # a Dask cluster without a worker for this long stops the batch
WATCH_S = 5.0       # how often a Dask batch with nothing finishing looks at the cluster's workers


def _failed(job: Job, reason: str) -> Outcome:
    return Outcome(job.student, job.folder, GradingStatus.ERROR, one_line(reason), worker=WorkerStats())


class LocalExecutor:
    """A pool of `workers` processes on this machine (spawned, so nothing is shared by fork)."""

    name = "local"

    def __init__(self, workers: int):
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> "LocalExecutor":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._pool is not None:
            if exc_type is not None:  # interrupted: in-flight students are lost, nothing else
                self._kill_workers()
            self._pool.shutdown(wait=exc_type is None, cancel_futures=True)
            self._pool = None

    def _kill_workers(self) -> None:
        for process in list(getattr(self._pool, "_processes", {}).values()):
            process.kill()

    def run(self, jobs: list[Job]) -> Iterator[Outcome]:
        pending, deaths = list(jobs), Counter()
        while pending:
            self._pool = ProcessPoolExecutor(max_workers=max(1, min(self.workers, len(pending))),
                                             mp_context=multiprocessing.get_context("spawn"),
                                             initializer=init_local_worker, initargs=(os.getpid(),))
            futures = {self._pool.submit(grade_job, job): job for job in pending}
            pending = []
            for future in as_completed(futures):
                job = futures[future]
                try:
                    outcome = future.result()
                except BrokenProcessPool:
                    deaths[job.folder] += 1
                    if deaths[job.folder] < MAX_ATTEMPTS:
                        pending.append(job)
                        continue
                    outcome = _failed(job, f"the grading worker died {MAX_ATTEMPTS} times on this submission")
                except Exception as exc:  # noqa: BLE001
                    outcome = _failed(job, f"grading failed: {type(exc).__name__}: {exc}")
                yield outcome
            self._pool.shutdown(wait=True)
            self._pool = None


class DaskExecutor:
    """Grading on a Dask distributed cluster: the scheduler at `address`, or, without one, a
    LocalCluster of `workers` single-threaded worker processes on this machine.

    Workers need this package installed and must see the course and the submissions at the
    same paths (a shared file system); results come back to this process, which writes them.
    """

    name = "dask"

    def __init__(self, workers: int, address: str | None = None):
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise BatchInputError("--executor dask needs Dask: pip install 'dask[distributed]'") from None
        self.workers, self.address = workers, address
        self.client = self.cluster = None
        self.had_worker = False

    def __enter__(self) -> "DaskExecutor":
        from distributed import Client, LocalCluster
        try:
            if self.address:
                self.client = Client(self.address, timeout="20s")
            else:
                self.cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                            dashboard_address=None, silence_logs=logging.ERROR)
                self.client = Client(self.cluster)
        except (OSError, TimeoutError, ValueError) as exc:
            self.__exit__(None, None, None)
            where = f"the Dask scheduler at {self.address}" if self.address else "a local Dask cluster"
            raise BatchInputError(f"cannot reach {where}: {one_line(str(exc), 200)}") from None
        self.had_worker = self._has_workers()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        if self.cluster is not None:
            self.cluster.close()
            self.cluster = None

    def run(self, jobs: list[Job]) -> Iterator[Outcome]:
        from distributed import wait
        futures = {self.client.submit(grade_job, job, pure=False, key=f"grade-{job.folder}-{os.urandom(4).hex()}"): job
                   for job in jobs}
        pending, alone_since = set(futures), None
        while pending:
            try:
                wait(pending, timeout=WATCH_S, return_when="FIRST_COMPLETED")
            except TimeoutError:
                alone_since = self._watch_workers(alone_since, len(pending))
                continue
            except Exception:  # noqa: BLE001  (cancelled futures: each is reported below)
                pass
            alone_since = None
            done = {f for f in pending if f.status != "pending"}
            pending -= done
            for future in done:
                job = futures[future]
                try:
                    outcome = future.result()
                except Exception as exc:  # noqa: BLE001  (KilledWorker, a worker without the package...)
                    outcome = _failed(job, f"grading failed on the Dask cluster: {type(exc).__name__}: {exc}")
                future.release()
                yield outcome

    def _has_workers(self) -> bool:
        try:
            return bool(self.client.nthreads())
        except Exception:  # noqa: BLE001  (the scheduler is gone: no worker either)
            return False

    def _watch_workers(self, alone_since: float | None, waiting: int) -> float | None:
        """None while the cluster has a worker (or has not had one yet), else since when it has
        had none left; raises ``BatchInputError`` once that is ``NO_WORKER_S`` seconds ago."""
        if self._has_workers():
            self.had_worker = True
            return None
        if not self.had_worker:
            return None
        now = time.monotonic()
        if alone_since is None:
            return now
        if now - alone_since < NO_WORKER_S:
            return alone_since
        where = f"the Dask cluster at {self.address}" if self.address else "the local Dask cluster"
        raise BatchInputError(f"{where} has had no worker for {NO_WORKER_S:g} s; {waiting} student"
                              f"{'s' if waiting != 1 else ''} not graded (start workers and run the batch "
                              "again: those graded are kept)")


def make_executor(kind: str, workers: int, scheduler: str | None = None):
    if kind == "dask":
        return DaskExecutor(workers, scheduler)
    return LocalExecutor(workers)
