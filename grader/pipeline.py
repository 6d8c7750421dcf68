"""Grade one submission: intake -> sandbox -> tests -> results (plain data).

Nothing here renders or prints; the CLI and the batch runner decide what to show and write.
"""
from __future__ import annotations

import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from threadpoolctl import threadpool_limits

from . import __version__
from .course import AssignmentSpec, Course
from .device import resolve_device
from .intake import Intake, open_submission
from .models import AssignmentResult, GradingResult
from .sandbox import SandboxConfig, StudentError, StudentModule
from .sandbox.launcher import Isolation, Limits, protect_folders, resolve_isolation
from .sandbox.workspace import Session
from .secret import read_secret
from .testing import fixtures
from .testing.plugin import GradingPlugin
from .testing.runner import run_pytest

TEST_TIMEOUT = 300  # pytest-timeout backstop per test, seconds (student calls have their own limits)


@dataclass(frozen=True)
class GradeOptions:
    public_only: bool = False          # self-check: public tests only
    sandbox: str = "auto"              # "auto" | "bubblewrap" | "basic"
    device: str = "auto"               # "auto" | "cpu" | "gpu"
    seed: int = 20261126               # grading seed: fixes every test's random inputs
    memory_bytes: int = Limits.memory_bytes
    keyword: str | None = None         # pytest -k expression: grade only the matching tests
    hide: tuple[str, ...] = field(default_factory=tuple)
    assignment_budget: float = 300.0   # wall seconds of student calls per assignment, then its tests fail
    submission_budget: float = 1200.0  # wall seconds for the whole submission


def grade_submission(submission: Path, course: Course, assignments: list[str] | None = None,
                     options: GradeOptions = GradeOptions()) -> GradingResult:
    """Grade `submission` (a folder or an archive) on the selected assignments."""
    started = time.perf_counter()
    specs = course.select(assignments)
    device, device_label = resolve_device(options.device)
    config = SandboxConfig(mode=options.sandbox, device=device, limits=Limits(memory_bytes=options.memory_bytes),
                           hide=tuple(dict.fromkeys((str(course.root), *options.hide))))
    isolation = resolve_isolation(config.mode, device)
    if isolation.mode == "basic" and isolation.dedicated_uid:
        protect_folders((str(course.root / "solutions"), *options.hide))
    deadline = time.monotonic() + options.submission_budget
    # hidden tests' inputs are keyed by the course secret (grader/secret.py); read before any work
    hidden = not options.public_only and any(spec.has_solution for spec in specs)
    secret = read_secret(course.root / "solutions") if hidden else None
    # one BLAS thread in the grader too: its reference computations are small, and parallel batch
    # workers (or the sandbox children, pinned to one thread) must not be oversubscribed
    with Session() as session, threadpool_limits(limits=1):
        with open_submission(submission, session.folder / "intake") as intake:
            results = [_grade_assignment(spec, intake, config, isolation, options, session, secret, deadline)
                       for spec in specs]
    return GradingResult(submission=str(submission), assignments=results, sandbox=isolation.mode,
                         device=device_label, version=__version__,
                         seconds=time.perf_counter() - started, isolation=isolation.as_dict())


def _grade_assignment(spec: AssignmentSpec, intake: Intake, config: SandboxConfig, isolation: Isolation,
                      options: GradeOptions, session: Session, secret: bytes | None,
                      deadline: float) -> AssignmentResult:
    started = time.perf_counter()
    public_only = options.public_only or not spec.has_solution
    # trusted material first: the reference is copied and imported before any student code runs
    reference_child = None
    plugin = GradingPlugin(spec, None, None, None, options.seed, None if public_only else spec.hidden_tests, secret)
    if not public_only:
        ref_files = session.folder / f"reference-{spec.name}"
        ref_files.mkdir()
        shutil.copy(spec.solution_file, ref_files / spec.filename)
        reference_child = StudentModule(ref_files, spec.module, config, isolation, session)
        plugin.reference_child = reference_child
        plugin.reference_module()
    student, error = None, None
    folder = intake.locate(spec.filename)
    if folder is None:
        error = f"missing file: {spec.filename} is not in the submission"
    try:
        if folder is not None:
            files = session.folder / f"student-{spec.name}"
            intake.copy_folder(folder, files)
            student = StudentModule(files, spec.module, config, isolation, session)
            remaining = deadline - time.monotonic()
            if remaining < options.assignment_budget:
                student.set_budget(remaining, f"the submission's time budget ({options.submission_budget:g} s)")
            else:
                student.set_budget(options.assignment_budget,
                                   f"the time budget for {spec.name} ({options.assignment_budget:g} s)")
            try:
                student.start()
            except StudentError as exc:
                error = str(exc)
                student.close()
                student = None
        plugin.student, plugin.unavailable = student, error
        pytest_output = run_tests(spec, plugin, public_only, options.keyword)
    finally:
        for module in (student, reference_child):
            if module is not None:
                module.close()
    if plugin.collection_errors:
        error = error or "the assignment's tests could not be collected: " + plugin.collection_errors[0]
    if not plugin.results and error is None:  # never "graded" with 0 when nothing ran
        last = (pytest_output.strip().splitlines() or ["no output"])[-1][:200]
        error = (f"no test of {spec.name} matched -k {options.keyword!r}" if options.keyword else
                 f"none of {spec.name}'s tests ran (pytest: {last})")
    hidden_points = spec.hidden_points if public_only else None
    return AssignmentResult(name=spec.name, title=spec.title, tests=plugin.results, error=error,
                            public_only=public_only, hidden_points=hidden_points,
                            seconds=time.perf_counter() - started)


def run_tests(spec: AssignmentSpec, plugin: GradingPlugin, public_only: bool, keyword: str | None = None) -> str:
    """Run the assignment's pytest tests in this process with `plugin`; return pytest's output."""
    paths = [str(spec.public_tests)] if spec.public_tests.is_dir() else []
    if not public_only:
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
    fixtures.activate(plugin)
    try:
        return run_pytest(paths, spec.folder.parent.parent, [plugin, fixtures], extra)
    finally:
        fixtures.activate(None)


__all__ = ["GradeOptions", "grade_submission", "run_tests"]
