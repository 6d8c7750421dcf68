"""The fixtures assignment tests use. They delegate to the active ``GradingPlugin``."""
from __future__ import annotations

import numpy as np
import pytest

from ..checks import SpeedJudge
from ..sandbox import StudentModule
from .plugin import Attach, Differentiated, GradingPlugin

_active: GradingPlugin | None = None


def activate(plugin: GradingPlugin | None) -> None:
    global _active
    _active = plugin


def _plugin() -> GradingPlugin:
    if _active is None:
        raise RuntimeError("assignment tests run only under the grader (grader check / grader grade)")
    return _active


@pytest.fixture
def student(request: pytest.FixtureRequest) -> StudentModule:
    """Proxy for the student's module (calls cross into the sandboxed child)."""
    return _plugin().student_for(request.node)


@pytest.fixture
def reference():
    """The reference solution module, imported in the grader process."""
    return _plugin().reference_module()


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> np.random.Generator:
    """A generator seeded from the grading seed and the test's node id (and, for hidden tests,
    the course secret)."""
    return _plugin().rng_for(request.node)


@pytest.fixture
def differentiated(student: StudentModule) -> Differentiated:
    """The forward gradient checks differentiate, as ``(module, of)``: when grading, the reference
    module (a forward the student cannot steer, so probe-recognising tricks earn nothing); in a
    self-check, the student's own module (the lecture's exercise)."""
    return _plugin().differentiated(student)


@pytest.fixture
def speed(student: StudentModule) -> SpeedJudge:
    """Times the student against the reference (hidden tests), on fresh random inputs."""
    return _plugin().speed_judge(student)


@pytest.fixture
def attach() -> Attach:
    """Attach pictures or text to this test's report entry."""
    return _plugin().attacher()
