"""One running sandboxed child, seen from the grader: its pipes, its output, how it ended.

Requests are written with a deadline (a child that stops reading cannot block the grader);
replies are read by a thread into a queue, each frame size-checked before it is read
(``wire.read_frame``); what the child prints is captured, size-capped. ``kill`` ends every
process of the sandbox and closes this child's descriptors: nothing outlives a dead child.
"""
from __future__ import annotations

import contextlib
import os
import queue
import select
import signal
import threading
import time

from .box import Box
from .errors import StudentBadReply
from .runtime import wire


READER_THREAD = "sandbox child reader"   # the name of every thread a Child runs (they only read pipes)


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
        self._threads = [threading.Thread(target=self._read_replies, args=(self.process.reply_fd,), daemon=True,
                                          name=f"{READER_THREAD} replies {self.process.pid}"),
                         threading.Thread(target=self._read_output, daemon=True,
                                          name=f"{READER_THREAD} output {self.process.pid}")]
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
