"""The grader's side of the boundary: the module proxy tests call.

``student.conv2d_forward(x, w, b, stride=2)`` (a ``SandboxedModule``) sends the call to the child and returns
what came back as plain, validated data, or raises a ``StudentError``. A child that dies or
hangs is killed and replaced for the next call; a function that hung once is not called again
(so a submission that loops forever costs one timeout per function, not one per test); the
same for a function that ran out of memory.
"""
from __future__ import annotations

import contextlib
import time
from pathlib import Path

from .box import Box
from .channel import Child
from . import bwrap
from .config import BUBBLEWRAP_CANNOT_START, SandboxConfig, SandboxRefused
from .errors import (StudentBadReply, StudentCrashed, StudentError, StudentRaised, StudentTimeout,
                     StudentUnavailable, raised)
from .workspace import Session

DEFAULT_CALL_TIMEOUT = 10.0
MAX_CALLS_PER_TRIP = 256   # argument sets in one call_many round trip (a gradient check needs ~140)
STALE_FRAMES = 64          # stale frames skipped before a reply ("ready" of forked copies, late replies)


class SandboxedModule:
    """Proxy for a module that runs in a sandboxed child (the student's, or the reference timed
    against it), living in the grader.

    `files` is the pristine copy of the module's folder; the sandbox (``Box``) is made in
    `session` at the first start and reused by every restart. `imports` names the third-party
    modules the child may import besides the standard library (None: whatever is installed). A wall-clock budget
    (``set_budget``) bounds the total time of a module's calls: past it, every call fails at
    once with one clear message.
    """

    def __init__(self, files: Path, module: str, config: SandboxConfig, session: Session,
                 imports: tuple[str, ...] | None = None):
        self._files, self._module, self._config, self._imports = files, module, config, imports
        self._session = session
        self._box: Box | None = None
        self._child: Child | None = None
        self._launched: tuple[Child, float] | None = None   # started, import not yet awaited: (child, when)
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
        """Start a fresh child (all processes of the previous one killed, working folder reset)
        and wait for its import; raise ``StudentUnavailable`` if the module cannot be imported."""
        self.launch(fresh=True)
        return self.ready()

    def launch(self, fresh: bool = False) -> None:
        """Start the child without waiting for its import, so that the grader's own work meanwhile
        (pytest's collection) overlaps the child's start on another core; ``ready`` (or the first
        call) waits for it. Nothing if a child is already running or launched, unless `fresh`."""
        if not fresh and (self._launched is not None or self._child is not None):
            return
        self._drop_child()
        if self._box is None:
            self._box = self._make_box()
        self._launched = (Child(self._box, self._module), time.monotonic())

    def _make_box(self) -> Box:
        name = self._session.box_name()
        return Box(self._files, self._config, self._session.folder / name, name, self._imports)

    def ready(self) -> Child:
        """The running child: waits for a launched one's import (its limit counted from the
        launch), or starts one; raises ``StudentUnavailable`` if the module cannot be imported, and
        ``SandboxRefused`` if bubblewrap, on its first start in this process, exits before the
        runtime's "started" frame (sent before any student code runs)."""
        if self._launched is None:
            if self._child is not None and self._child.alive:
                return self._child
            self.launch(fresh=True)
        child, launched = self._launched
        self._launched = None
        limit = self._config.limits.import_timeout
        deadline = launched + limit   # the import's limit runs from the launch
        remaining = self._remaining()
        budget_bound = remaining is not None and time.monotonic() + remaining < deadline
        if budget_bound:
            deadline = time.monotonic() + remaining

        def next_frame(stage: str):
            try:
                return child.receive(max(deadline - time.monotonic(), 0.001))
            except TimeoutError:
                if budget_bound:
                    raise self._over_budget() from None
                if stage == "importing":
                    raise StudentUnavailable(f"importing {self._module}.py did not finish within {limit:g} s") from None
                refused = self._refusal(f" (no answer within {limit:g} s)")   # bubblewrap itself hangs
                raise refused or StudentUnavailable(f"the sandbox for {self._module}.py did not start within "
                                                    f"{limit:g} s (no student code ran)") from None
            except EOFError as exc:
                output = child.take_output().strip().splitlines()
                child.kill()
                detail = f"; last output: {output[-1][:200]}" if output else ""
                refused = self._refusal(detail) if stage == "starting" else None
                raise refused or StudentUnavailable(f"{exc} while {stage} {self._module}.py{detail}") from None
            except StudentBadReply as exc:
                raise StudentUnavailable(str(exc)) from None

        if next_frame("starting") != {"started": True}:
            child.kill()
            raise StudentUnavailable(f"the sandbox for {self._module}.py did not start properly")
        if self._box.runs_bubblewrap:
            bwrap.record(self._config.device, True)
        hello = next_frame("importing")
        if not isinstance(hello, dict) or hello.get("ready") is not True:
            child.kill()
            err = hello.get("import_error") if isinstance(hello, dict) else None
            if not isinstance(err, dict):
                raise StudentUnavailable(f"the student process sent an unexpected message while importing "
                                         f"{self._module}.py")
            text = lambda key: str(err.get(key, ""))[:500]  # noqa: E731
            raise StudentUnavailable(f"{self._module}.py could not be imported: "
                                     f"{text('type') or '?'}: {text('message')}{text('where')}")
        self._box.sweep()  # nothing the import started outlives it
        problem = self._box.quota_problem()
        if problem is not None:   # said once for the module, not again by every call's restart
            child.kill()
            raise StudentUnavailable(f"importing {self._module}.py filled the sandbox: {problem}")
        functions = hello.get("functions")
        self.functions = [f[:200] for f in functions[:1000] if isinstance(f, str)] if isinstance(functions, list) else []
        self._child = child
        return child

    def _refusal(self, detail: str) -> SandboxRefused | None:
        """The runtime never started on bubblewrap's first start here: bubblewrap cannot start
        sandboxes (recorded; the exception to raise). None for any other start."""
        if not (self._box.runs_bubblewrap and bwrap.verdict(self._config.device) is None):
            return None
        bwrap.record(self._config.device, False)
        return SandboxRefused(f"{BUBBLEWRAP_CANNOT_START}{detail}")

    def close(self) -> None:
        """Kill every process of the sandbox and delete it (its uid, group and folder)."""
        self._drop_child()
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
        return self._box.strays() if self._box is not None else []

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

    def call_many(self, func: str, arg_sets: list[tuple[tuple, dict]], timeout: float | None = None) -> list:
        """Call `func` once per (args, kwargs) in `arg_sets`, in one round trip (finite differences:
        many evaluations of one forward); return the results in order. The call limit applies to
        each call (the round trip may take `len(arg_sets)` times it); the reply's caps are those of
        one reply. The first call that raises ends the round trip and is raised."""
        if not 0 < len(arg_sets) <= MAX_CALLS_PER_TRIP:
            raise ValueError(f"call_many takes 1 to {MAX_CALLS_PER_TRIP} argument sets, not {len(arg_sets)}")
        request = {"call": func, "many": [[list(args), dict(kwargs or {})] for args, kwargs in arg_sets]}
        results = self._round_trip(func, request, timeout, len(arg_sets))[1]
        if not isinstance(results, list) or len(results) != len(arg_sets):
            self._drop_child()   # whatever it writes next is out of step with our requests
            raise StudentBadReply(f"{func}: the student process sent {_count(results)} results for "
                                  f"{len(arg_sets)} calls")
        return results

    def timed_call(self, func: str, args: tuple = (), kwargs: dict | None = None,
                   timeout: float | None = None) -> tuple[float, object]:
        """Call `func` in the child; return (wall seconds measured here, result)."""
        return self._round_trip(func, {"call": func, "args": list(args), "kwargs": dict(kwargs or {})}, timeout)

    def _round_trip(self, func: str, request: dict, timeout: float | None, calls: int = 1) -> tuple[float, object]:
        if func in self._not_again:
            raise self._not_again[func]
        remaining = self._remaining()
        if remaining is not None and remaining <= 0:
            raise self._over_budget()
        child = self.ready()
        limit = (self.call_timeout if timeout is None else timeout) * calls
        remaining = self._remaining()
        budget_bound = remaining is not None and remaining < limit
        if budget_bound:
            limit = max(remaining, 0.001)
        started = time.perf_counter()
        try:
            sent = child.send(request, limit)
            reply = child.receive(max(limit - (time.perf_counter() - started), 0.001))
            # stale frames are skipped: the extra "ready" of copies the import forked (killed since,
            # their frames still queued) and late replies to earlier requests; anything else that
            # is not this request's reply is out of step (see _unpack)
            for _ in range(STALE_FRAMES):
                if not (isinstance(reply, dict) and reply.get("id") != sent and
                        ("ready" in reply or (type(reply.get("id")) is int and reply["id"] < sent))):
                    break
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
            return seconds, self._unpack(func, reply, sent)
        except StudentRaised as exc:
            if exc.type_name == "MemoryError":  # each further call would fill memory again: seconds each
                self._not_again[func] = StudentCrashed(f"{func} ran out of memory in an earlier test; not called again")
            raise

    def _drop_child(self) -> None:
        for child in (self._child, self._launched and self._launched[0]):
            if child is not None:
                child.kill()
        self._child = self._launched = None

    def _unpack(self, func: str, reply, sent: int):
        if not isinstance(reply, dict) or reply.get("id") != sent:
            self._drop_child()   # whatever it writes next is out of step with our requests
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


def _count(value) -> str:
    return str(len(value)) if isinstance(value, list) else f"no list of ({type(value).__name__})"
