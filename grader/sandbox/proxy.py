"""The grader's side of the boundary: a child process handle and the module proxy tests call.

``StudentModule.conv2d_forward(x, w, b, stride=2)`` sends the call to the child and returns
what came back as plain, validated data, or raises a ``StudentError``. A child that dies or
hangs is killed and replaced for the next call; a function that hung once is not called again
(so a submission that loops forever costs one timeout per function, not one per test); the
same for a function that ran out of memory.
"""
from __future__ import annotations

import os
import queue
import select
import shutil
import signal
import threading
import time
from pathlib import Path

from . import launcher
from .errors import (StudentBadReply, StudentCrashed, StudentError, StudentRaised, StudentTimeout,
                     StudentUnavailable, raised)
from .runtime import wire

DEFAULT_CALL_TIMEOUT = 10.0


class Child:
    """One running sandboxed child serving one module."""

    def __init__(self, work: Path, module: str, config: launcher.SandboxConfig, mode: str):
        self.module, self.config = module, config
        self.process, self._req_fd, rep_fd = launcher.spawn(work, module, config, mode)
        os.set_blocking(self._req_fd, False)
        self._replies: queue.Queue = queue.Queue()
        self._output = bytearray()
        self._output_dropped = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._read_replies, args=(rep_fd,), daemon=True).start()
        threading.Thread(target=self._read_output, daemon=True).start()
        self._next_id = 0

    def _read_replies(self, fd: int) -> None:
        with os.fdopen(fd, "rb", buffering=0) as stream:
            while True:
                try:
                    frame = wire.read_frame(stream, self.config.limits.reply_bytes)
                    self._replies.put(("frame", frame))
                except EOFError:
                    self._replies.put(("eof", None))
                    return
                except (wire.WireError, OSError) as exc:
                    self._replies.put(("bad", str(exc)))
                    return

    def _read_output(self) -> None:
        cap = self.config.limits.output_bytes
        for chunk in iter(lambda: self.process.stdout.read1(65536), b""):
            with self._lock:
                room = max(0, cap - len(self._output))
                self._output += chunk[:room]
                self._output_dropped += max(0, len(chunk) - room)

    def take_output(self) -> str:
        """What the child printed since the last call of this method (size-capped)."""
        deadline = time.monotonic() + 0.05  # let the reader thread catch up with what is in the pipe
        while time.monotonic() < deadline and self.alive and select.select([self.process.stdout], [], [], 0)[0]:
            time.sleep(0.002)
        with self._lock:
            text = self._output.decode("utf-8", "replace")
            if self._output_dropped:
                text += f"\n[... {self._output_dropped} more bytes of output not kept]"
            self._output.clear()
            self._output_dropped = 0
        return text

    def receive(self, timeout: float):
        """The next message from the child, decoded; raises on EOF, garbage or timeout."""
        try:
            kind, payload = self._replies.get(timeout=timeout)
        except queue.Empty:
            self.kill()
            raise TimeoutError from None
        if kind == "eof":
            raise EOFError(self.exit_description())
        if kind == "bad":
            self.kill()
            raise StudentBadReply(f"the student process sent an unreadable reply ({payload})")
        try:
            return wire.decode(payload)
        except wire.WireError as exc:
            self.kill()
            raise StudentBadReply(f"the student process sent an unreadable reply ({exc})") from None

    def send(self, message, timeout: float) -> int:
        """Write one request; raise TimeoutError if the child stops reading for `timeout` s."""
        self._next_id += 1
        view = memoryview(wire.encode({**message, "id": self._next_id}))
        deadline = time.monotonic() + timeout
        while view:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([], [self._req_fd], [], remaining)[1]:
                self.kill()
                raise TimeoutError
            try:
                view = view[os.write(self._req_fd, view):]
            except BlockingIOError:
                continue
            except OSError:  # the child is gone; receive() reports how it ended
                break
        return self._next_id

    def exit_description(self) -> str:
        try:
            code = self.process.wait(timeout=5)
        except Exception:
            self.kill()
            code = self.process.returncode
        if code is None:
            return "the student process stopped answering"
        if code < 0:
            name = signal.Signals(-code).name
            hint = {"SIGKILL": " (memory or CPU-time limit, or killed)", "SIGXCPU": " (CPU-time limit)",
                    "SIGSEGV": " (crashed)", "SIGXFSZ": " (file-size limit)"}.get(name, "")
            return f"the student process was killed by {name}{hint}"
        return f"the student process exited with code {code}"

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        launcher.kill(self.process)
        try:
            os.close(self._req_fd)
        except OSError:
            pass


class StudentModule:
    """Proxy for the student's module, living in the grader; the module lives in a child."""

    def __init__(self, files: Path, module: str, config: launcher.SandboxConfig, mode: str,
                 workspace: Path):
        self._files, self._module, self._config, self._mode = files, module, config, mode
        self._workspace = workspace
        self._child: Child | None = None
        self._not_again: dict[str, StudentError] = {}  # function -> why it is not called again
        self.functions: list[str] = []
        self.call_timeout = DEFAULT_CALL_TIMEOUT

    # -- life cycle -------------------------------------------------------------------------
    def start(self) -> Child:
        """Start a fresh child with a fresh copy of the student's files; raise if import fails."""
        work = self._workspace / f"run-{time.monotonic_ns()}"
        shutil.copytree(self._files, work)
        os.chmod(work, 0o755)
        child = Child(work, self._module, self._config, self._mode)
        try:
            hello = child.receive(self._config.limits.import_timeout)
        except TimeoutError:
            raise StudentUnavailable(f"importing {self._module}.py did not finish within "
                                     f"{self._config.limits.import_timeout:g} s") from None
        except EOFError as exc:
            output = child.take_output().strip().splitlines()
            detail = f"; last output: {output[-1][:200]}" if output else ""
            raise StudentUnavailable(f"{exc} while importing {self._module}.py{detail}") from None
        except StudentBadReply as exc:
            raise StudentUnavailable(str(exc)) from None
        if not isinstance(hello, dict) or "import_error" in hello:
            err = hello.get("import_error", {}) if isinstance(hello, dict) else {}
            child.kill()
            raise StudentUnavailable(f"{self._module}.py could not be imported: "
                                     f"{err.get('type', '?')}: {err.get('message', '')}{err.get('where', '')}")
        functions = hello.get("functions")
        self.functions = [f for f in functions if isinstance(f, str)] if isinstance(functions, list) else []
        self._child = child
        return child

    def close(self) -> None:
        if self._child is not None:
            self._child.kill()
            self._child = None

    def take_output(self) -> str:
        return self._child.take_output() if self._child is not None else ""

    # -- calls --------------------------------------------------------------------------------
    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: self.call(name, args, kwargs)

    def call(self, func: str, args: tuple = (), kwargs: dict | None = None,
             timeout: float | None = None):
        return self.timed_call(func, args, kwargs, timeout)[1]

    def timed_call(self, func: str, args: tuple = (), kwargs: dict | None = None,
                   timeout: float | None = None) -> tuple[float, object]:
        """Call `func` in the child; return (wall seconds measured here, result)."""
        if func in self._not_again:
            raise self._not_again[func]
        child = self._child if self._child is not None and self._child.alive else self.start()
        limit = self.call_timeout if timeout is None else timeout
        started = time.perf_counter()
        try:
            child.send({"call": func, "args": list(args), "kwargs": dict(kwargs or {})}, limit)
            reply = child.receive(max(limit - (time.perf_counter() - started), 0.001))
        except TimeoutError:
            self._child = None
            if timeout is None:  # an ordinary call hung: do not call this function again
                self._not_again[func] = StudentTimeout(
                    f"{func} did not return within {limit:g} s in an earlier test; not called again")
            raise StudentTimeout(f"{func} did not return within {limit:g} s (stopped)") from None
        except EOFError as exc:
            self._child = None
            raise StudentCrashed(f"{exc} during the call of {func}") from None
        except StudentBadReply:
            self._child = None
            raise
        seconds = time.perf_counter() - started
        try:
            return seconds, self._unpack(func, reply)
        except StudentRaised as exc:
            if exc.type_name == "MemoryError":  # each further call would fill memory again: seconds each
                self._not_again[func] = StudentCrashed(f"{func} ran out of memory in an earlier test; not called again")
            raise

    def _unpack(self, func: str, reply):
        if not isinstance(reply, dict) or "id" not in reply:
            raise StudentBadReply(f"{func}: malformed reply from the student process")
        if "ok" in reply:
            return reply["ok"]
        if "raised" in reply and isinstance(reply["raised"], dict):
            r = reply["raised"]
            mro = [n for n in r.get("builtins", []) if isinstance(n, str)]
            return_text = lambda key: str(r.get(key, ""))[:500]  # noqa: E731
            raise raised(func, return_text("type") or "Exception", mro, return_text("message"), return_text("where"))
        if "missing" in reply:
            raise raised(func, "AttributeError", ["AttributeError"],
                         f"{self._module}.py has no function {func}")
        if "unsendable" in reply:
            raise StudentBadReply(f"{func} returned something that is not plain data "
                                  f"({str(reply['unsendable'])[:200]})")
        raise StudentBadReply(f"{func}: malformed reply from the student process")
