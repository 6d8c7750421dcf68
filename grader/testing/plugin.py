"""The pytest plugin that runs one assignment's tests in the grader process.

It owns the fixtures tests use (``student``, ``reference``, ``differentiated``, ``rng``,
``speed``, ``attach``, ``shared``: methods of the plugin object, which pytest finds when the object is
passed to ``pytest.main(plugins=[...])``; no module-level state) and collects one ``TestResult``
per test. In a self-check (public tests only) with the hidden tests present, it collects them
too, only to count their points, and deselects them. For hidden tests the result's message is
only the check's own message (``CheckFailure`` / ``StudentError``): never a traceback, never the
test's source, never the student's output.
"""
from __future__ import annotations

import base64
import importlib.util
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np
import pytest

from ..checks import CheckFailure, SpeedJudge
from ..course import AssignmentSpec
from ..diagnosis import Call
from ..models import Attachment, TestResult
from ..sandbox import SandboxedModule, StudentError, StudentUnavailable
from ..sandbox.proxy import DEFAULT_CALL_TIMEOUT
from .points import VisibilityError, points_of
from .recording import RecordingModule
from ..secret import hidden_rng

PUBLIC_OUTPUT_LIMIT = 4000
CALLS_PER_TEST = 8        # student calls of one failing test kept for the diagnosis
CALLS_KEPT = 64           # in all, per assignment


class Attach:
    """What the ``attach`` fixture hands a test: pictures and text for its report entry."""

    def __init__(self, add: Callable[[Attachment], None]):
        self._add = add

    def svg(self, title: str, svg: str) -> None:
        self._add(Attachment("svg", title, svg))

    def png(self, title: str, png: bytes) -> None:
        self._add(Attachment("png", title, base64.b64encode(png).decode()))

    def text(self, title: str, text: str) -> None:
        self._add(Attachment("text", title, text))


class Shared:
    """What the ``shared`` fixture hands a test: results that several tests of one grading
    judge, computed by the first test that needs them (the autoencoder's pretrained stack, which
    three tests evaluate). ``once(name, compute)`` calls ``compute(rng)`` the first time, with a
    generator seeded like a test's own but from `name` (and the test file) instead of the
    test's id, and hands every later test the same result, or raises the same error again. One
    ``Shared`` lives for one grading of one assignment: nothing crosses to another student.
    Treat what it returns as read-only."""

    def __init__(self, rng_for: Callable[[str], np.random.Generator]):
        self._rng_for = rng_for
        self._done: dict[str, tuple[bool, object]] = {}

    def once(self, name: str, compute: Callable[[np.random.Generator], object]):
        if name not in self._done:
            try:
                self._done[name] = (True, compute(self._rng_for(name)))
            except Exception as exc:  # a failed check or a student error: every test that shares it fails
                self._done[name] = (False, exc)
        ok, value = self._done[name]
        if not ok:
            raise value
        return value


class Differentiated(NamedTuple):
    """What gradient checks take finite differences of: `module`'s forward, named `of` in messages."""
    module: object
    of: str


@dataclass
class _Current:
    notes: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    failure: BaseException | None = None
    failure_text: str = ""
    skipped: bool = False
    seconds: float = 0.0
    calls: list[Call] = field(default_factory=list)   # the student calls of this test (the first few)


class GradingPlugin:
    def __init__(self, spec: AssignmentSpec, seed: int, hidden_dir: Path | None, secret: bytes | None = None,
                 count_only: Path | None = None):
        self.spec, self.seed, self.hidden_dir = spec, seed, hidden_dir
        self._secret = secret   # the course secret (grader/secret.py): keys hidden tests' inputs
        self._count_only = count_only  # hidden tests collected only to count their points
        self.student_module: SandboxedModule | None = None
        self.unavailable: str | None = None   # why there is no student module (one line, the assignment's error)
        self.reference_child: SandboxedModule | None = None
        self.results: list[TestResult] = []
        self.collection_errors: list[str] = []
        self.hidden_points: float | None = None
        self.failed_calls: list[Call] = []   # student calls made by failing tests, for the diagnosis
        self.aborted: BaseException | None = None   # our hook failed, or Ctrl-C: the grading stops
        self._current = _Current()
        self._reference_module = None
        self._shared: dict[str, Shared] = {}   # test file -> what its tests share in this grading

    # -- collection ---------------------------------------------------------------------------
    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collection_errors.append(f"{report.nodeid}: {str(report.longrepr).strip().splitlines()[-1]}")

    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        counted, kept = [], []
        for item in items:
            try:
                points = points_of(item, self.hidden_dir or self._count_only)
            except VisibilityError as exc:
                self.collection_errors.append(f"{item.nodeid}: {exc}")
                continue
            in_count_only = self._count_only is not None and Path(item.path).is_relative_to(self._count_only)
            (counted if in_count_only else kept).append((item, points))
        if self._count_only is not None:
            self.hidden_points = sum(p.points for _, p in counted)
            config.hook.pytest_deselected(items=[item for item, _ in counted])
        items[:] = [item for item, _ in kept]

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """The student's child was launched before collection: wait for its import now, before any
        test runs, so that a module that cannot be imported is the assignment's error, said once."""
        if self.student_module is None:
            return
        try:
            self.student_module.ready()
        except StudentError as exc:
            self.unavailable = str(exc)
            self.student_module.close()
            self.student_module = None
        except BaseException as exc:   # the grader's own failure: pytest would only report "no tests
            self.aborted = exc         # ran"; the pipeline raises it again after pytest
            raise

    def pytest_keyboard_interrupt(self) -> None:
        """Ctrl-C during collection or a test: pytest ends the session and reports it; the
        pipeline raises it again, so the grading stops instead of scoring what was left."""
        self.aborted = self.aborted or KeyboardInterrupt()

    # -- fixtures -----------------------------------------------------------------------------
    @pytest.fixture
    def student(self, request: pytest.FixtureRequest) -> SandboxedModule:
        """Proxy for the student's module (calls cross into the sandboxed child)."""
        if self.student_module is None:  # the reason is the assignment's error, said once; each test says this
            raise StudentUnavailable(f"not run: {self.spec.filename} could not be graded (the reason is given "
                                     "once, for the whole assignment)")
        marker = request.node.get_closest_marker("call_timeout")
        self.student_module.call_timeout = float(marker.args[0]) if marker else DEFAULT_CALL_TIMEOUT
        return RecordingModule(self.student_module, self._record)

    def _record(self, call: Call) -> None:
        if len(self._current.calls) < CALLS_PER_TEST:
            self._current.calls.append(call)

    @pytest.fixture
    def reference(self):
        """The reference solution module, imported in the grader process."""
        return self.reference_module()

    @pytest.fixture
    def differentiated(self, student: SandboxedModule) -> Differentiated:
        """The forward gradient checks differentiate, as ``(module, of)``: when grading, the reference
        module (a forward the student cannot steer, so probe-recognising tricks earn nothing); in a
        self-check, the student's own module (the lecture's exercise)."""
        if self.hidden_dir is not None and self.spec.has_solution:
            return Differentiated(self.reference_module(), "the reference forward")
        return Differentiated(student, "your forward")

    @pytest.fixture
    def rng(self, request: pytest.FixtureRequest) -> np.random.Generator:
        """Public tests: the grading seed and the test id (students can replay these inputs).
        Hidden tests: the course secret too, so their inputs cannot be replayed."""
        return self._rng_for(request.node, request.node.nodeid)

    def _rng_for(self, node: pytest.Item, name: str) -> np.random.Generator:
        if self._is_hidden(node):
            if self._secret is None:
                raise RuntimeError("hidden tests need the course secret (grader.secret.read_secret)")
            return hidden_rng(self._secret, self.seed, name)
        return np.random.default_rng([self.seed, zlib.crc32(name.encode())])

    @pytest.fixture
    def shared(self, request: pytest.FixtureRequest) -> Shared:
        """Results computed once per grading and judged by several tests of one file (``Shared``)."""
        node = request.node
        test_file = node.nodeid.split("::")[0]
        if test_file not in self._shared:
            self._shared[test_file] = Shared(lambda name: self._rng_for(node, f"{test_file}::shared::{name}"))
        return self._shared[test_file]

    @pytest.fixture
    def speed(self, student: SandboxedModule) -> SpeedJudge:
        """Times the student against the reference (hidden tests), on fresh random inputs."""
        if self.reference_child is None:
            pytest.skip("speed tests need the reference solution (instructor copy only)")
        return SpeedJudge(student, self.reference_child, note=lambda text: self._current.notes.append(text))

    @pytest.fixture
    def attach(self) -> Attach:
        """Attach pictures or text to this test's report entry."""
        return Attach(lambda attachment: self._current.attachments.append(attachment))

    def reference_module(self):
        """The reference solution, imported once in the grader process (before any student code)."""
        if not self.spec.has_solution:
            pytest.skip("needs the reference solution (instructor copy only)")
        if self._reference_module is None:
            self._reference_module = import_reference(self.spec)
        return self._reference_module

    def use_reference(self, module) -> None:
        """Use `module` as the reference (a batch worker's, imported once and remembering its
        results: ``reference_memo``) instead of importing it for this grading."""
        self._reference_module = module

    # -- results -----------------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self._current = _Current()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        outcome = yield
        report = outcome.get_result()
        if report.skipped:
            self._current.skipped = True
        elif report.failed and self._current.failure is None:
            self._current.failure = call.excinfo.value if call.excinfo else None
            self._current.failure_text = report.longreprtext
        self._current.seconds += report.duration
        if call.when == "teardown":
            self._finish(item)

    def _is_hidden(self, item: pytest.Item) -> bool:
        return self.hidden_dir is not None and Path(item.path).is_relative_to(self.hidden_dir)

    def _finish(self, item: pytest.Item) -> None:
        current = self._current
        output = self.student_module.take_output() if self.student_module is not None else ""
        if current.skipped:
            return
        hidden = self._is_hidden(item)
        points = points_of(item, self.hidden_dir)
        lines = list(current.notes)
        if current.failure is not None:
            lines.insert(0, self._failure_message(current.failure, current.failure_text, hidden))
            self.failed_calls += current.calls[:CALLS_KEPT - len(self.failed_calls)]
        if output.strip() and not hidden:
            lines.append("Your code printed:\n" + output[-PUBLIC_OUTPUT_LIMIT:])
        tags = [self.spec.name] + [t for m in item.iter_markers("tags") for t in m.args]
        self.results.append(TestResult(
            name=_display_name(item), number=f"{self.spec.name}.{len(self.results) + 1}",
            assignment=self.spec.name, max_score=points.points,
            passed=current.failure is None, visibility=points.visibility, output="\n".join(lines),
            tags=list(dict.fromkeys(tags)), attachments=current.attachments, seconds=current.seconds))

    @staticmethod
    def _failure_message(exc: BaseException, text: str, hidden: bool) -> str:
        if isinstance(exc, (CheckFailure, StudentError)):
            return str(exc)
        if isinstance(exc, pytest.fail.Exception) or type(exc).__name__ == "Failed":
            return str(exc) if not hidden else "failed (details of hidden tests are not shown)"
        if hidden:
            return f"failed: {type(exc).__name__} in a hidden check (details of hidden tests are not shown)"
        return text[-PUBLIC_OUTPUT_LIMIT:]


def import_reference(spec: AssignmentSpec):
    """The reference solution of `spec` as a module of the grader process (trusted code)."""
    name = f"_grader_reference_{spec.name}"
    loader_spec = importlib.util.spec_from_file_location(name, spec.solution_file)
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[name] = module
    loader_spec.loader.exec_module(module)
    return module


def _display_name(item: pytest.Item) -> str:
    doc = (getattr(item, "obj", None).__doc__ or "").strip() if getattr(item, "obj", None) else ""
    base = doc.splitlines()[0].rstrip(".") if doc else item.originalname if hasattr(item, "originalname") else item.name
    callspec = getattr(item, "callspec", None)
    return f"{base} [{callspec.id}]" if callspec is not None else base
