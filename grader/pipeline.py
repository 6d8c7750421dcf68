"""Grade one submission: intake -> sandbox -> tests -> results (plain data).

Everything is resolved once at the start (device, sandbox configuration, hidden paths, the
course secret); nothing here renders or prints: the CLI and the batch decide what to show.
"""
from __future__ import annotations

import logging
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from threadpoolctl import threadpool_limits

from . import __version__
from .course import AssignmentSpec, Course
from .device import resolve_device
from .diagnosis import diagnose
from .files import file_version
from .intake import Intake, open_submission
from .models import AssignmentResult, GradingResult, GradingStatus
from .options import GradeOptions
from .sandbox import Limits, SandboxConfig, SandboxedModule, SandboxRefused, SandboxUnavailable, resolve_sandbox
from .sandbox.forked import ForkedModule
from .sandbox.launcher import protect_folders
from .sandbox.workspace import Session
from .secret import read_secret
from .testing.plugin import GradingPlugin, import_reference
from .testing.reference_memo import ReferenceMemo
from .testing.reference_store import ReferenceStore
from .testing.runner import run_pytest

TEST_TIMEOUT = 300  # pytest-timeout backstop per test, seconds (student calls have their own limits)


@dataclass(frozen=True)
class Grading:
    """What one grading resolved at its start and every assignment shares."""
    course: Course
    options: GradeOptions
    config: SandboxConfig
    device_label: str
    secret: bytes | None
    deadline: float     # time.monotonic() past which no student code runs (submission budget)


def resolve(course: Course, specs: list[AssignmentSpec], options: GradeOptions) -> Grading:
    """Resolve device, sandbox and course secret once; as root in basic mode, close the hidden
    folders to the sandbox uids. Raises ``DeviceError``/``SandboxUnavailable`` (one line)."""
    device, device_label = resolve_device(options.device)
    config = resolve_sandbox(options.sandbox, device, Limits(memory_bytes=options.memory_bytes),
                             options.hidden_paths(course.root))
    if config.isolation.mode == "basic" and config.isolation.dedicated_uid:
        protect_folders(config.hide)  # the course (solutions/, .git, examples/...) and the outputs
    # hidden tests' inputs are keyed by the course secret (grader/secret.py); read before any work
    hidden = not options.public_only and any(spec.has_solution for spec in specs)
    secret = read_secret(course.root / "solutions") if hidden else None
    return Grading(course, options, config, device_label, secret, time.monotonic() + options.submission_budget)


def remembered_reference(spec: AssignmentSpec, memo: ReferenceMemo):
    """The reference of `spec` imported in this process, its results remembered by `memo` and
    kept in the course's store on disk (``reference_store``): every grading of a course draws
    the same hidden inputs, so the reference's outputs on them are computed once per course."""
    version = f"{spec.solution_file}:{file_version(spec.solution_file)}"
    content = spec.solution_file.read_bytes()
    module = import_reference(spec)
    # no store when the file changed while it was imported: its results would be filed under the wrong source
    same = spec.solution_file.read_bytes() == content
    return memo.wrap(module, version, ReferenceStore.for_reference(spec.solution_file, content) if same else None)


def reference_child(spec: AssignmentSpec, config: SandboxConfig, session: Session, name: str,
                    remembered) -> SandboxedModule:
    """The child the student's functions are timed against: a fork of this process serving the
    reference as imported here (`remembered`'s unwrapped module; ``sandbox.forked``), or where a
    fork is not safe, a sandbox started from a copy of the reference in `session`."""
    files = session.private_folder(f"{name}-{spec.name}")
    shutil.copy(spec.solution_file, files / spec.filename)
    return ForkedModule(files, spec.module, config, session, remembered.__wrapped__)


class KeptReferences:
    """The reference solutions, kept by a long-lived process (a batch worker) across gradings:
    trusted code only, never anything of a student's. Their children (timed against students' in
    speed tests: forked, or sandboxed where a fork is not safe), one per (reference file and its
    version, sandbox configuration), in a session of their own (``close``, or the process's end:
    the next grader sweeps the session, ends them); and their modules, imported once and
    remembering their results (``module``)."""

    def __init__(self):
        self._session: Session | None = None
        self._children: dict[tuple, SandboxedModule] = {}
        self._modules: dict[tuple, object] = {}
        self.memo = ReferenceMemo()

    def module(self, spec: AssignmentSpec):
        """The reference imported in this process once per version of its file, remembering its
        results across gradings (every student of a batch is graded on the same hidden inputs)."""
        key = (str(spec.solution_file), file_version(spec.solution_file))
        if key not in self._modules:
            self._modules[key] = remembered_reference(spec, self.memo)
        return self._modules[key]

    def child(self, spec: AssignmentSpec, config: SandboxConfig) -> SandboxedModule:
        key = (str(spec.solution_file), file_version(spec.solution_file), config)
        if key not in self._children:
            if self._session is None:
                self._session = Session()
            self._children[key] = reference_child(spec, config, self._session, f"reference-{len(self._children)}",
                                                  self.module(spec))
        return self._children[key]

    def close(self) -> None:
        for child in self._children.values():
            child.close()
        self._children.clear()
        if self._session is not None:
            self._session.close()
            self._session = None


def grade_submission(submission: Path, course: Course, assignments: list[str] | None = None,
                     options: GradeOptions = GradeOptions(), kept: KeptReferences | None = None) -> GradingResult:
    """Grade `submission` (a folder or an archive) on the selected assignments. `kept`: reference
    children to reuse (a batch worker's), else each grading starts and ends its own. In auto
    mode, when bubblewrap's first start in this process fails (before any student code ran), the
    grading is done again in basic mode, which the result then names."""
    try:
        return _grade_submission(submission, course, assignments, options, kept)
    except SandboxRefused as exc:
        if options.sandbox != "auto":
            raise SandboxUnavailable(f"--sandbox {options.sandbox}: {exc}") from None
        logging.getLogger(__name__).warning("%s: %s; grading in basic mode", submission.name, exc)
        return _grade_submission(submission, course, assignments, options, kept)


def _grade_submission(submission: Path, course: Course, assignments: list[str] | None,
                      options: GradeOptions, kept: KeptReferences | None) -> GradingResult:
    started = time.perf_counter()
    specs = course.select(assignments)
    grading = resolve(course, specs, options)
    # one BLAS thread in the grader too: its reference computations are small, and parallel batch
    # workers (or the sandbox children, pinned to one thread) must not be oversubscribed
    with Session() as session, threadpool_limits(limits=1):
        with open_submission(submission, session.private_folder("intake")) as intake:
            results = [_grade_assignment(spec, intake, grading, session, kept) for spec in specs]
    isolation = grading.config.isolation
    empty = bool(results) and all(a.graded_path is None for a in results)  # no file for any assignment
    return GradingResult(submission=str(submission), assignments=results, sandbox=isolation.mode,
                         device=grading.device_label, version=__version__,
                         seconds=time.perf_counter() - started, isolation=isolation.as_dict(),
                         status=GradingStatus.EMPTY if empty else GradingStatus.GRADED, ignored=intake.ignored)


def _budget(student: SandboxedModule, spec: AssignmentSpec, grading: Grading) -> None:
    options = grading.options
    remaining = grading.deadline - time.monotonic()
    if remaining < options.assignment_budget:
        student.set_budget(remaining, f"the submission's time budget ({options.submission_budget:g} s)")
    else:
        student.set_budget(options.assignment_budget, f"the time budget for {spec.name} ({options.assignment_budget:g} s)")


def _grade_assignment(spec: AssignmentSpec, intake: Intake, grading: Grading, session: Session,
                      kept: KeptReferences | None) -> AssignmentResult:
    started = time.perf_counter()
    options = grading.options
    public_only = options.public_only or not spec.has_solution
    count_only = spec.hidden_tests if public_only and spec.hidden_tests.is_dir() else None
    plugin = GradingPlugin(spec, options.seed, None if public_only else spec.hidden_tests, grading.secret,
                           count_only=count_only)
    located = intake.locate(spec.filename, spec.skeleton_file.read_bytes() if spec.skeleton_file.is_file() else None)
    plugin.unavailable = located.error   # missing, empty or unreadable: said once, every test fails
    try:
        if located.error is None:
            # trusted material first: the reference is copied and imported before any student code runs
            if not public_only:
                if kept is not None:
                    plugin.reference_child = kept.child(spec, grading.config)
                    plugin.use_reference(kept.module(spec))
                else:
                    plugin.use_reference(remembered_reference(spec, ReferenceMemo(max_bytes=0)))
                    plugin.reference_child = reference_child(spec, grading.config, session, "reference",
                                                             plugin.reference_module())
            files = session.private_folder(f"student-{spec.name}")
            intake.prepare(located, files)
            imports = spec.imports + (("cupy",) if grading.config.device == "gpu" else ())
            plugin.student_module = SandboxedModule(files, spec.module, grading.config, session, imports)
            _budget(plugin.student_module, spec, grading)
            plugin.student_module.launch()   # its import overlaps pytest's collection; awaited before the first test
        pytest_output = run_tests(spec, plugin, not public_only or count_only is not None, options.keyword)
    finally:
        for module in (plugin.student_module, None if kept is not None else plugin.reference_child):
            if module is not None:
                module.close()
    error = plugin.unavailable
    if plugin.collection_errors:
        error = error or "the assignment's tests could not be collected: " + plugin.collection_errors[0]
    if not plugin.results and error is None:  # never "graded" with 0 when nothing ran
        last = (pytest_output.strip().splitlines() or ["no output"])[-1][:200]
        error = (f"no test of {spec.name} matched -k {options.keyword!r}" if options.keyword else
                 f"none of {spec.name}'s tests ran (pytest: {last})")
    diagnoses = _diagnoses(spec, plugin) if error is None else []
    hidden_points = None
    if public_only:  # counted from the hidden tests where they are here, else as assignment.toml says
        hidden_points = plugin.hidden_points if count_only is not None else spec.hidden_points
    return AssignmentResult(name=spec.name, title=spec.title, tests=plugin.results, error=error,
                            public_only=public_only, hidden_points=hidden_points,
                            seconds=time.perf_counter() - started, graded_path=located.path,
                            notes=located.notes, candidates=located.candidates, ambiguous=located.ambiguous,
                            diagnoses=diagnoses)


def _diagnoses(spec: AssignmentSpec, plugin: GradingPlugin) -> list[str]:
    """The catalogue's mistakes the student's failing calls behave like (grader/diagnosis/), in
    the grader process after the student's sandbox is closed; nothing when every test passed."""
    if not plugin.failed_calls or not spec.has_solution:
        return []
    try:
        return diagnose(spec, plugin.failed_calls, plugin.reference_module())
    except Exception as exc:  # noqa: BLE001 - a broken catalogue must not cost a student a grade
        logging.getLogger(__name__).warning("diagnosis of %s skipped: %s: %s", spec.name, type(exc).__name__, exc)
        return []


def run_tests(spec: AssignmentSpec, plugin: GradingPlugin, with_hidden: bool, keyword: str | None = None) -> str:
    """Run the assignment's pytest tests in this process with `plugin`; return pytest's output.
    `with_hidden` also collects the hidden tests (graded, or only counted by the plugin)."""
    paths = [str(spec.public_tests)] if spec.public_tests.is_dir() else []
    if with_hidden and spec.hidden_tests.is_dir():
        paths.append(str(spec.hidden_tests))
    if not paths:
        return ""
    # pytest-timeout's signal method works only on the main thread; elsewhere (a Dask worker
    # thread) its thread method would end the whole process, so the backstop is left off there
    # and the per-call limits of the sandbox still bound every student call.
    on_main = threading.current_thread() is threading.main_thread()
    extra = ["-o", f"timeout={TEST_TIMEOUT if on_main else 0}", "-o", "timeout_method=signal"]
    if keyword:
        extra += ["-k", keyword]
    output = run_pytest(paths, spec.folder.parent.parent, [plugin], extra)
    if plugin.aborted is not None:   # Ctrl-C, or the grader failed in one of our hooks: no score
        raise plugin.aborted
    return output


__all__ = ["GradeOptions", "grade_submission", "run_tests", "resolve"]
