"""What a submission may import: the standard library, the assignment's `imports` (numpy by
default) and its own files; other installed packages are absent, with a message naming the rule."""
from __future__ import annotations

import pytest

from grader.sandbox import Limits, SandboxedModule, StudentRaised, resolve_sandbox
from tests.conftest import needs_bwrap
from tests.helpers import COURSE, assignment_tests, grade, make_submission

MODES = [pytest.param("bubblewrap", marks=needs_bwrap), "basic"]

SOURCE = """
import numpy as np
import helper

def numpy_and_own_module():
    return helper.VALUE + int(np.ones(1)[0])

def scipy():
    import scipy.signal
    return 1

def standard_library_internals():  # not all of the standard library is in sys.stdlib_module_names
    import importlib, sysconfig
    importlib.import_module(sysconfig._get_sysconfigdata_name())
    import numpy.testing  # numpy's own lazy imports reach such modules
    return 1

def installed_names():
    import os, sys
    return sorted(name for p in sys.path if p.endswith(("site-packages", "dist-packages")) and os.path.isdir(p)
                  for name in os.listdir(p))
"""


@pytest.mark.parametrize("mode", MODES)
def test_only_the_standard_library_numpy_and_own_files_import(mode, module_dir, tmp_path):
    from grader.sandbox.workspace import Session
    folder = module_dir("sub", SOURCE)
    (folder / "helper.py").write_text("VALUE = 41\n")
    with Session() as session:
        m = SandboxedModule(folder, "sub", resolve_sandbox(mode, "cpu", Limits()), session, imports=("numpy",))
        try:
            assert m.numpy_and_own_module() == 42
            assert m.standard_library_internals() == 1
            with pytest.raises(StudentRaised, match="scipy may not be imported: .*standard library and numpy only"):
                m.scipy()
            if mode == "bubblewrap":  # not merely refused: absent
                assert {n.split("-")[0].split(".")[0] for n in m.installed_names()} <= {"numpy"}
        finally:
            m.close()


def test_a_conv_forward_built_on_scipy_loses_the_forward_tests_with_the_rule(tmp_path):
    cheat = """
def conv2d_forward(x, w, b, stride=1, pad=0):
    from scipy.signal import correlate
    raise RuntimeError("unreachable")
"""
    results = grade(make_submission(tmp_path, "conv", append=cheat, name="scipy"), ["conv"], keyword="not speed")
    forward = [t for t in assignment_tests(results, "conv") if t["name"].endswith("conv2d_forward]")]
    assert forward and all(t["score"] == 0 for t in forward)
    assert any("import rule" in t["output"] for t in forward)
    reference = grade(COURSE.assignment("conv").solution_folder, ["conv"], keyword="not speed")
    assert reference["score"] == reference["max_score"]
