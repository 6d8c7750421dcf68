"""The grader's side of the boundary: a child process handle and the module proxy tests call.

``StudentModule.conv2d_forward(x, w, b, stride=2)`` sends the call to the child and returns
what came back as plain, validated data, or raises a ``StudentError``. A child that dies or
hangs is killed and replaced for the next call; a function that hung once is not called again
(so a submission that loops forever costs one timeout per function, not one per test); the
same for a function that ran out of memory.
"""
from __future__ import annotations

import contextlib
import os
import queue
import select
import signal
import threading
import time
from pathlib import Path

from . import launcher
from .box import Box
from .workspace import Session
from .errors import (StudentBadReply, StudentCrashed, StudentError, StudentRaised, StudentTimeout,
                     StudentUnavailable, raised)
from .runtime import wire

DEFAULT_CALL_TIMEOUT = 10.0


class Child:
    """One running sandboxed child serving one module, started in `box`."""

    def __init__(self, box: Box, module: str):
        self.module, self.box, self.config = module, box, box.config
        self.process = box.start(module)
        self._req_fd = self.process.request_fd
        os.set_blocking(self._req_fd, False)
        self._replies: queue.Queue = queue.Queue()
        self._output = bytearray()
        self._output_dropped = 0
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._read_replies, args=(self.process.reply_fd,), daemon=True),
                         threading.Thread(target=self._read_output, daemon=True)]
        for thread in self._threads:
            thread.start()
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
        stream = self.process.stdout
        try:
            for chunk in iter(lambda: stream.read1(65536), b""):
                with self._lock:
                    room = max(0, cap - len(self._output))
                    self._output += chunk[:room]
                    self._output_dropped += max(0, len(chunk) - room)
        except (OSError, ValueError):
            pass
        finally:
            stream.close()  # one descriptor per child: never leaked, however it ended

    def take_output(self) -> str:
        """What the child printed since the last call of this method (size-capped)."""
        deadline = time.monotonic() + 0.05  # let the reader thread catch up with what is in the pipe
        with contextlib.suppress(ValueError, OSError):  # the reader may close the stream meanwhile
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
        if self.box.out_of_memory():
            limit = self.config.limits.memory_bytes / (1 << 30)
            return f"the student process was killed for using more than the sandbox's {limit:g} GiB of memory"
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
        """End every process of the sandbox, close this child's descriptors, let its threads end."""
        self.box.kill_all()
        with contextlib.suppress(OSError):
            os.close(self._req_fd)
        for thread in self._threads:
            thread.join(timeout=1.0)


class StudentModule:
    """Proxy for the student's module, living in the grader; the module lives in a child.

    `files` is the pristine copy of the module's folder; the sandbox (``Box``) is made in
    `session` at the first start and reused by every restart. A wall-clock budget
    (``set_budget``) bounds the total time of a module's calls: past it, every call fails at
    once with one clear message.
    """

    def __init__(self, files: Path, module: str, config: launcher.SandboxConfig,
                 isolation: launcher.Isolation, session: Session):
        self._files, self._module, self._config, self._isolation = files, module, config, isolation
        self._session = session
        self._box: Box | None = None
        self._child: Child | None = None
        self._not_again: dict[str, StudentError] = {}  # function -> why it is not called again
        self._deadline: float | None = None
        self._budget_text = ""
        self.functions: list[str] = []
        self.call_timeout = DEFAULT_CALL_TIMEOUT

    # -- life cycle -------------------------------------------------------------------------
    def set_budget(self, seconds: float, what: str) -> None:
        """From now on, calls may run for `seconds` of wall-clock time in all (`what` names it)."""
        self._deadline = time.monotonic() + max(seconds, 0.0)
        self._budget_text = what

    def _remaining(self) -> float | None:
        return None if self._deadline is None else self._deadline - time.monotonic()

    def _over_budget(self) -> StudentTimeout:
        return StudentTimeout(f"{self._budget_text} is used up; the rest of this assignment's tests "
                              f"are not run")

    def start(self) -> Child:
        """Start a fresh child (all processes of the previous one killed, working folder reset);
        raise ``StudentUnavailable`` if the module cannot be imported."""
        if self._box is None:
            name = self._session.box_name()
            self._box = Box(self._files, self._config, self._isolation, self._session.folder / name, name)
        child = Child(self._box, self._module)
        limit = self._config.limits.import_timeout
        remaining = self._remaining()
        if remaining is not None:
            limit = min(limit, max(remaining, 0.001))
        try:
            hello = child.receive(limit)
        except TimeoutError:
            if remaining is not None and remaining <= limit:
                raise self._over_budget() from None
            raise StudentUnavailable(f"importing {self._module}.py did not finish within {limit:g} s") from None
        except EOFError as exc:
            output = child.take_output().strip().splitlines()
            child.kill()
            detail = f"; last output: {output[-1][:200]}" if output else ""
            raise StudentUnavailable(f"{exc} while importing {self._module}.py{detail}") from None
        except StudentBadReply as exc:
            raise StudentUnavailable(str(exc)) from None
        if not isinstance(hello, dict) or "import_error" in hello:
            err = hello.get("import_error", {}) if isinstance(hello, dict) else {}
            err = err if isinstance(err, dict) else {}
            child.kill()
            text = lambda key: str(err.get(key, ""))[:500]  # noqa: E731
            raise StudentUnavailable(f"{self._module}.py could not be imported: "
                                     f"{text('type') or '?'}: {text('message')}{text('where')}")
        self._box.sweep()  # nothing the import started outlives it
        functions = hello.get("functions")
        self.functions = [f[:200] for f in functions[:1000] if isinstance(f, str)] if isinstance(functions, list) else []
        self._child = child
        return child

    def close(self) -> None:
        """Kill every process of the sandbox and delete it (its uid, group and folder)."""
        if self._child is not None:
            self._child.kill()
            self._child = None
        if self._box is not None:
            self._box.close()
            self._box = None

    def take_output(self) -> str:
        return self._child.take_output() if self._child is not None else ""

    @contextlib.contextmanager
    def frozen(self):
        """Suspend every process of this sandbox (setsid'd or not) for the duration of the block,
        so nothing the student left running competes with the reference while it is timed."""
        if self._box is None:
            yield
            return
        with self._box.frozen():
            yield

    def stray_processes(self) -> list[int]:
        """Processes of the sandbox other than those serving calls (should always be empty)."""
        if self._box is None:
            return []
        keep = self._box.serving()
        return [pid for pid in self._box.processes() if pid not in keep]

    @property
    def sandbox_uid(self) -> int | None:
        """The host uid the child runs as (None before the first start)."""
        return self._box.identity.uid if self._box is not None else None

    def cpu_seconds(self) -> float | None:
        """CPU time of every process the sandbox ran so far (None without control groups)."""
        return self._box.cpu_seconds() if self._box is not None else None

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
        remaining = self._remaining()
        if remaining is not None and remaining <= 0:
            raise self._over_budget()
        child = self._child if self._child is not None and self._child.alive else self.start()
        limit = self.call_timeout if timeout is None else timeout
        remaining = self._remaining()
        budget_bound = remaining is not None and remaining < limit
        if budget_bound:
            limit = max(remaining, 0.001)
        started = time.perf_counter()
        try:
            child.send({"call": func, "args": list(args), "kwargs": dict(kwargs or {})}, limit)
            reply = child.receive(max(limit - (time.perf_counter() - started), 0.001))
        except TimeoutError:
            self._drop_child()
            if budget_bound:
                raise self._over_budget() from None
            if timeout is None:  # an ordinary call hung: do not call this function again
                self._not_again[func] = StudentTimeout(
                    f"{func} did not return within {limit:g} s in an earlier test; not called again")
            raise StudentTimeout(f"{func} did not return within {limit:g} s (stopped)") from None
        except EOFError as exc:
            self._drop_child()
            raise StudentCrashed(f"{exc} during the call of {func}") from None
        except StudentBadReply:
            self._drop_child()
            raise
        seconds = time.perf_counter() - started
        self._box.sweep()  # nothing the call started outlives it
        problem = self._box.quota_problem()
        if problem is not None:
            self._drop_child()
            raise StudentCrashed(f"{func}: {problem}; the student process was stopped")
        try:
            return seconds, self._unpack(func, reply)
        except StudentRaised as exc:
            if exc.type_name == "MemoryError":  # each further call would fill memory again: seconds each
                self._not_again[func] = StudentCrashed(f"{func} ran out of memory in an earlier test; not called again")
            raise

    def _drop_child(self) -> None:
        if self._child is not None:
            self._child.kill()
            self._child = None

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
