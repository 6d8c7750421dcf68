"""The reference timed against the student's code, served by a fork of the grader.

A speed test compares the student's function with the reference's, each called in a child
process through the same pipes, frames, reader threads and serve loop (``runtime/child.serve``),
timed from the grader. The reference is the course's own code: it needs no sandbox, only the
same path. Forking the grader, which has imported it and NumPy already, costs ~20 ms of CPU
where a sandbox start costs ~0.15-0.2 s (a fresh Python importing NumPy).

The fork is taken only where it is safe: on the CPU (a CUDA context does not survive a fork),
from the main thread, while the only other threads are the ``Child`` readers, which hold no lock
the forked child ever takes. The child serves the reference module as imported (never the
remembering wrapper, which may use the course's SQLite store), with the grader's one BLAS
thread, its pre-fork objects frozen away from the garbage collector (no finalizer of the
grader's runs in it), every inherited descriptor closed, and ends with ``os._exit``: nothing of
pytest's or the grader's runs there. Elsewhere (a GPU, a Dask worker thread, a ``grader serve``
worker with its heartbeat thread) the reference gets a sandboxed child as before:
``ForkedModule`` makes the choice at its first start.
"""
from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import signal
import sys
import threading
import time
import types

from . import identity
from .box import Box, sandbox_group
from .channel import READER_THREAD
from .launcher import join_group, widen_pipe
from .proxy import SandboxedModule
from .runtime import child as runtime

PR_SET_PDEATHSIG = 1


def fork_is_safe(device: str) -> bool:
    """On the CPU, from the main thread, no thread but the sandbox children's pipe readers."""
    main = threading.main_thread()
    return (device == "cpu" and threading.current_thread() is main and
            all(t is main or t.name.startswith(READER_THREAD) for t in threading.enumerate()))


class ForkedModule(SandboxedModule):
    """A ``SandboxedModule`` for trusted code already imported here (`loaded`): its child is a
    fork of the grader serving `loaded`, where ``fork_is_safe``; else a sandbox as usual, from
    `files` (the module's folder)."""

    def __init__(self, files, module: str, config, session, loaded: types.ModuleType):
        super().__init__(files, module, config, session)
        self._loaded = loaded

    def _make_box(self) -> Box:
        if fork_is_safe(self._config.device):
            return ForkBox(self._config, self._loaded, self._module, self._session.box_name())
        return super()._make_box()

    @property
    def forked(self) -> bool:
        return isinstance(self._box, ForkBox)


class ForkedProcess:
    """The forked child, seen as ``Child`` sees a launched process (a ``subprocess.Popen``)."""

    def __init__(self, pid: int, request_fd: int, reply_fd: int, output_fd: int):
        self.pid, self.request_fd, self.reply_fd = pid, request_fd, reply_fd
        self.stdout = os.fdopen(output_fd, "rb")
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            with contextlib.suppress(ChildProcessError):
                pid, status = os.waitpid(self.pid, os.WNOHANG)
                if pid == 0:
                    return None
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                return None
            time.sleep(0.001)
        return self.returncode


class ForkBox:
    """What ``SandboxedModule`` and ``Child`` ask of a ``Box``, for a forked trusted child: no
    identity or folder of its own, no bubblewrap; killing it is killing one process."""

    runs_bubblewrap = False   # its frames say nothing about whether bubblewrap works here

    def __init__(self, config, loaded: types.ModuleType, module: str, name: str):
        self.config, self.isolation, self._loaded, self._filename = config, config.isolation, loaded, module + ".py"
        self.identity = identity.Identity(os.getuid(), os.getgid(), dedicated=False)
        self.process: ForkedProcess | None = None
        # the student's limits, so that both sides of a timing run under the same accounting
        self.group = sandbox_group(name, config.limits, self.isolation.cgroup != "none")

    def start(self, module: str) -> ForkedProcess:
        self.kill_all()
        if not fork_is_safe(self.config.device):
            raise RuntimeError("the reference's child cannot be forked now (other threads are running)")
        req_read, req_write = os.pipe()
        rep_read, rep_write = os.pipe()
        out_read, out_write = os.pipe()
        for fd in (req_write, rep_write):
            widen_pipe(fd)
        pid = os.fork()
        if pid == 0:   # the child: never returns into the grader's stack
            code = 1
            try:
                _serve(self._loaded, self._filename, req_read, rep_write, out_write,
                       self.group.procs_files() if self.group is not None else [])
                code = 0
            finally:
                os._exit(code)
        for fd in (req_read, rep_write, out_write):
            os.close(fd)
        self.process = ForkedProcess(pid, req_write, rep_read, out_read)
        return self.process

    def kill_all(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def close(self) -> None:
        self.kill_all()
        self.process = None
        if self.group is not None:
            self.group.remove()
            self.group = None

    @contextlib.contextmanager
    def frozen(self):
        yield

    def out_of_memory(self) -> bool:
        return self.group is not None and self.group.oom_killed()

    def quota_problem(self) -> None:
        return None

    def sweep(self) -> int:
        return 0

    def strays(self) -> list[int]:
        return []

    def cpu_seconds(self) -> float | None:
        return self.group.cpu_seconds() if self.group is not None else None


def _serve(loaded: types.ModuleType, filename: str, req_read: int, rep_write: int, out_write: int,
           procs_files: list[str]) -> None:
    """In the forked child: join the group, keep only its pipes, serve `loaded` like a sandbox's runtime."""
    join_group(procs_files)
    gc.freeze()   # the grader's objects are never collected here: none of their finalizers runs
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is the grader's; it kills this child
    for number in (signal.SIGTERM, signal.SIGALRM, signal.SIGCHLD):
        signal.signal(number, signal.SIG_DFL)
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(out_write, 1)
    os.dup2(out_write, 2)
    for name in os.listdir("/proc/self/fd"):   # the grader's files, sockets and other children's pipes
        if int(name) not in (0, 1, 2, req_read, rep_write):
            with contextlib.suppress(OSError):
                os.close(int(name))
    # print() and warnings write to the output pipe, not to pytest's capture (closed above)
    sys.stdout = sys.stderr = os.fdopen(1, "w", buffering=1, closefd=False)
    requests = os.fdopen(req_read, "rb", buffering=0)
    send = runtime.sender(os.fdopen(rep_write, "wb", buffering=0))
    send({"started": True})
    runtime.serve(loaded, requests, send, filename)
