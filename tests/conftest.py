"""Fixtures for the framework's own tests."""
from __future__ import annotations

import os
import shutil
import textwrap
import time
from pathlib import Path

import pytest

from grader.sandbox import Limits, SandboxedModule, bwrap, resolve_sandbox
from grader.sandbox.workspace import Session
from grader.secret import ENV_VAR

# A fixed course secret for the framework's tests: hidden inputs are the same on every checkout
# (mutant tests stay reproducible) and no test writes solutions/.course-secret into the repository.
# tests/test_rigging.py unsets it where it tests the secret file.
TEST_COURSE_SECRET = "5eed" * 16
os.environ[ENV_VAR] = TEST_COURSE_SECRET

TOY_SKELETON = '''
def double(x):
    """Return 2 * x. x: ndarray of any shape."""
    # TODO: double the array
    raise NotImplementedError
'''

TOY_REFERENCE = '''
import numpy as np


def double(x):
    return 2 * np.asarray(x)
'''

TOY_PUBLIC = '''
import numpy as np
import pytest

from grader.checks import assert_close


@pytest.mark.points(1)
def test_double_small(student):
    """double doubles a small array"""
    x = np.arange(3.0)
    assert_close(student.double(x), 2 * x, func="double", case="x = arange(3)", rtol=0)
'''

TOY_HIDDEN = '''
import numpy as np
import pytest

from grader.checks import assert_close


@pytest.mark.points(2)
@pytest.mark.tags("random")
@pytest.mark.parametrize("n", [5, 7])
def test_double_matches(student, reference, rng, n):
    """double matches the reference"""
    x = rng.standard_normal(n)
    assert_close(student.double(x), reference.double(x), func="double", case=f"n={n}", rtol=1e-12)


@pytest.mark.points(1)
@pytest.mark.tags("speed")
def test_double_speed(speed):
    """double is about as fast as the reference"""
    speed.compare("double", lambda rng: ((rng.standard_normal(20000),), {}), threshold=20, case="n=20000")


@pytest.mark.points(1)
def test_plain_assert_hides_source(student):
    """a hidden test whose plain assert fails"""
    secret_expected = 123456789
    assert float(student.double(np.ones(1))[0]) == secret_expected
'''


@pytest.fixture(scope="session")
def toy_course(tmp_path_factory) -> Path:
    """A one-assignment course ("toy": double an array) to test the engine on its own."""
    root = tmp_path_factory.mktemp("toycourse")
    files = {
        "assignments/toy/assignment.toml": 'title = "Toy"\nmodule = "toy"\norder = 1\nhidden_points = 6\n',
        "assignments/toy/toy.py": TOY_SKELETON,
        "assignments/toy/tests/test_toy_public.py": TOY_PUBLIC,
        "solutions/toy/toy.py": TOY_REFERENCE,
        "solutions/toy/tests/test_toy_hidden.py": TOY_HIDDEN,
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(textwrap.dedent(text).lstrip())
    shutil.copytree(Path(__file__).resolve().parents[1] / "templates", root / "templates")
    return root


@pytest.fixture
def module_dir(tmp_path):
    """Write a student module from source: module_dir("conv", "def f(): ...") -> folder."""
    def make(name: str, source: str) -> Path:
        folder = tmp_path / f"mod-{name}"
        folder.mkdir(exist_ok=True)
        (folder / f"{name}.py").write_text(textwrap.dedent(source))
        return folder
    return make


@pytest.fixture
def load(module_dir):
    """load(source, mode=..., hide=..., **limits) -> a started SandboxedModule for module "sub",
    in a sandbox of its own (everything closed after the test)."""
    opened = []
    session = Session()

    def make(source: str, mode: str = "auto", hide: tuple[str, ...] = (), start: bool = True,
             **limits) -> SandboxedModule:
        config = resolve_sandbox(mode, "cpu", Limits(**limits), hide)
        module = SandboxedModule(module_dir("sub", source), "sub", config, session)
        opened.append(module)
        if start:
            module.start()
        return module
    yield make
    for module in opened:
        module.close()
    session.close()


def sandbox_processes() -> list[int]:
    """Running (not zombie) processes of the reserved sandbox uids."""
    from grader.sandbox import identity
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            uid = os.stat(f"/proc/{pid}").st_uid
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if identity.UID_BASE <= uid < identity.UID_BASE + identity.UID_COUNT and state not in "ZX" \
                and not identity.held(uid):  # a sandbox of a grader still at work (another test run)
            found.append(int(pid))
    return found


@pytest.fixture
def leaves_nothing():
    """After the test: no sandbox process running, no sandbox control group, no session folder."""
    from grader.sandbox import cgroups, workspace
    groups = cgroups.group_names(cgroups.detect())
    sessions = set(os.listdir(workspace._base()))
    yield
    deadline = time.monotonic() + 5
    while sandbox_processes() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sandbox_processes() == []
    new_groups = cgroups.group_names(cgroups.detect()) - groups
    assert [g for g in new_groups if not workspace.session_alive(g.rsplit("-", 1)[0])] == []
    new_sessions = {n.removesuffix(".lock") for n in set(os.listdir(workspace._base())) - sessions}
    assert [s for s in new_sessions if not workspace.session_alive(s)] == []


needs_bwrap = pytest.mark.skipif(not bwrap.works("cpu"), reason="bubblewrap is not usable here")


@pytest.fixture(scope="session")
def grader_wheel(tmp_path_factory) -> Path:
    """The grader's wheel, built once per session with pip (what `grader release` ships)."""
    from grader.release import build_wheel
    return build_wheel(tmp_path_factory.mktemp("wheel"))
