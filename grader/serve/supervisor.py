"""The server's worker processes: started with it, restarted when one dies, stopped with it.

Each is ``python -m grader.serve.worker`` (its own process: a grading never shares the server's
memory or its event loop). A monitor thread restarts a worker that exited while the server
runs. ``stop`` sends SIGTERM (each worker finishes the job in hand), waits ``grace_s`` seconds,
then kills what is left: a killed worker's job goes back to the queue when its lease expires.
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import fields
from pathlib import Path

from ..options import GradeOptions
from .settings import ServeSettings
from .worker import WorkerConfig

log = logging.getLogger("grader.serve.supervisor")
RESTART_PAUSE_S = 1.0


class Supervisor:
    def __init__(self, settings: ServeSettings, options: GradeOptions):
        given = {f.name: getattr(options, f.name) for f in fields(GradeOptions) if f.metadata.get("flag")}
        self.config = WorkerConfig(
            db_url=settings.database_url, data_dir=str(settings.data_dir), course_root=str(settings.course_root),
            lease_s=settings.lease_s, heartbeat_s=settings.heartbeat_s, poll_s=settings.poll_s,
            max_attempts=settings.max_attempts, parent_pid=os.getpid(), options=given)
        self.count, self.grace_s = settings.workers, settings.grace_s
        self.processes: list[subprocess.Popen] = []
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._monitor: threading.Thread | None = None
        self.started_at: float | None = None   # this server's generation: its workers registered after it

    def alive(self) -> tuple[float | None, set[int]]:
        """(when this server started its workers, the pids of those alive now): what /health counts."""
        with self._lock:
            return self.started_at, {p.pid for p in self.processes if p.poll() is None}

    def start(self) -> None:
        if not self.count:
            return
        self.started_at = time.time()
        # the monitor thread starts every worker: a worker dies with the thread that started it
        # (PR_SET_PDEATHSIG), and this thread lives as long as the server
        self._monitor = threading.Thread(target=self._watch, name="worker-monitor", daemon=True)
        self._monitor.start()

    def _spawn(self) -> subprocess.Popen:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")) if p)}
        process = subprocess.Popen([sys.executable, "-m", "grader.serve.worker", self.config.to_json()],
                                   env=env, stdin=subprocess.DEVNULL)
        log.info("worker process started", extra={"pid": process.pid})
        return process

    def _watch(self) -> None:
        with self._lock:
            self.processes = [self._spawn() for _ in range(self.count)]
        while not self._stopping.wait(RESTART_PAUSE_S):
            with self._lock:
                for k, process in enumerate(self.processes):
                    if process.poll() is not None and not self._stopping.is_set():
                        log.warning("worker process exited; restarting",
                                    extra={"pid": process.pid, "code": process.returncode})
                        self.processes[k] = self._spawn()
        self._stopped.wait()   # outlive the workers: leaving earlier would kill them

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            for process in self.processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + self.grace_s
            for process in self.processes:
                try:
                    process.wait(timeout=max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    log.warning("worker still grading after the grace period; killed", extra={"pid": process.pid})
                    process.kill()
                    process.wait()
        self._stopped.set()
        log.info("workers stopped")
