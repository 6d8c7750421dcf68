"""One source per assignment (solution markers, generated skeletons, signatures), `grader release`
and its leak guard, the Gradescope zip built by the same machinery, and the student's install."""
from __future__ import annotations

import ast
import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from conftest import TEST_COURSE_SECRET

from grader.cli import main
from grader.course import find_course
from grader.inventory import count_points
from grader.release import MarkerError, course_secrets, generated_skeleton, scan, skeleton_source
from grader.release.build import skeletons
from grader.release.signatures import signature_problems

REPO = Path(__file__).resolve().parents[1]
COURSE = find_course(REPO)
COURSE_PARTS = ("assignments", "solutions", "templates")
CACHES = shutil.ignore_patterns("__pycache__", ".pytest_cache")

MARKED = '''\
"""Module docstring."""
# BEGIN SOLUTION
import math

# END SOLUTION
import numpy as np


def given(x):
    """A helper students get."""
    return np.asarray(x)


# BEGIN SOLUTION
def _helper(x):
    return math.floor(x)
# END SOLUTION


def task(x, k=2):
    """Docstring kept."""
    xp = given(x)
    # BEGIN SOLUTION: compute it.
    return xp * k + _helper(1.5)
    # END SOLUTION


def other(y):
    # BEGIN SOLUTION
    return y
    # END SOLUTION
'''

SKELETON = '''\
"""Module docstring."""
import numpy as np


def given(x):
    """A helper students get."""
    return np.asarray(x)


def task(x, k=2):
    """Docstring kept."""
    xp = given(x)
    # TODO: compute it.
    raise NotImplementedError("task")


def other(y):
    # TODO: implement other.
    raise NotImplementedError("other")
'''


def test_markers_generate_the_skeleton():
    assert skeleton_source(MARKED) == SKELETON


@pytest.mark.parametrize("source, message", [
    ("def f():\n    # BEGIN SOLUTION\n    return 1\n", "2: BEGIN SOLUTION without END"),
    ("def f():\n    return 1\n    # END SOLUTION\n", "3: END SOLUTION without BEGIN"),
    ("def f():\n    # BEGIN SOLUTION\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n", "3: BEGIN SOLUTION inside"),
    ("def f():\n    # BEGIN SOLUTION\n    return 1\n# END SOLUTION\n", "4: END SOLUTION indented unlike"),
    ("def f():\n    ### BEGIN_SOLUTION\n    return 1\n", "2: unrecognised solution marker"),
])
def test_malformed_markers_are_refused_with_their_line(source, message):
    with pytest.raises(MarkerError, match=message):
        skeleton_source(source, "f.py")


@pytest.mark.parametrize("spec", COURSE.assignments, ids=lambda s: s.name)
def test_each_committed_skeleton_is_the_one_generated_from_its_reference(spec):
    assert generated_skeleton(spec) == spec.skeleton_file.read_text(), f"run: grader skeleton {spec.name}"


def test_signature_problems_name_the_function():
    assert signature_problems(SKELETON, skeleton_source(MARKED)) == []
    changed = SKELETON.replace("def task(x, k=2)", "def task(x, k=3)").replace("def other(y)", "def _other(y)")
    assert signature_problems(changed, MARKED) == [
        "other: in the reference but not in the skeleton",
        "task: the skeleton has task(x, k=3), the reference task(x, k=2)"]


# -- a marked toy course: validate ---------------------------------------------------------------

TOY_MARKED = '''\
"""Double an array."""
import numpy as np


def double(x):
    """Return 2 * x. x: ndarray of any shape."""
    # BEGIN SOLUTION: double the array.
    return 2 * np.asarray(x)
    # END SOLUTION
'''

TOY_PUBLIC = '''\
import numpy as np

from grader.checks import assert_close


def test_double_small(student):
    """double doubles a small array"""
    assert_close(student.double(np.arange(3.0)), 2 * np.arange(3.0), func="double", case="arange(3)", rtol=0)
'''

TOY_HIDDEN = '''\
import pytest

from grader.checks import assert_close


@pytest.mark.points(2)
def test_double_matches(student, reference, rng):
    """double matches the reference"""
    x = rng.standard_normal(7)
    assert_close(student.double(x), reference.double(x), func="double", case="n=7", rtol=1e-12)
'''


@pytest.fixture
def marked_course(tmp_path) -> Path:
    files = {"assignments/toy/assignment.toml": 'title = "Toy"\nmodule = "toy"\norder = 1\n',
             "assignments/toy/toy.py": skeleton_source(TOY_MARKED),
             "assignments/toy/tests/test_toy_public.py": TOY_PUBLIC,
             "solutions/toy/toy.py": TOY_MARKED, "solutions/toy/tests/test_toy_hidden.py": TOY_HIDDEN}
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    return tmp_path


def test_validate_grades_the_generated_skeleton_and_the_reference(marked_course, capsys):
    assert main(["validate", "--course", str(marked_course)]) == 0
    out = capsys.readouterr().out
    assert "3/3" in out and "0/3" in out and "ok" in out


def test_validate_the_course_generated_skeletons_score_zero_references_full_marks(capsys):
    assert main(["validate", "--course", str(REPO)]) == 0
    out = capsys.readouterr().out
    for spec in COURSE.assignments:
        points = count_points(spec)
        total = f"{points.public + points.hidden:g}"
        assert f"{spec.name}" in out and f"{total}/{total}" in out and f"0/{total}" in out


@pytest.mark.parametrize("where", ["skeleton", "reference"])
def test_validate_fails_naming_a_changed_signature(marked_course, capsys, where):
    path = marked_course / ("assignments" if where == "skeleton" else "solutions") / "toy" / "toy.py"
    path.write_text(path.read_text().replace("def double(x):", "def double(x, scale=2):"))
    assert main(["validate", "--course", str(marked_course)]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "not the skeleton generated from solutions/toy/toy.py (run: grader skeleton toy)" in out.replace("│ ", "")
    assert "signature: double:" in out


def test_grader_skeleton_writes_what_validate_wants(marked_course, capsys):
    (marked_course / "assignments/toy/toy.py").write_text("# stale\n")
    assert main(["skeleton", "--course", str(marked_course)]) == 0
    assert "written" in capsys.readouterr().out
    assert (marked_course / "assignments/toy/toy.py").read_text() == skeleton_source(TOY_MARKED)


# -- the release ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def release(tmp_path_factory, grader_wheel):
    """The whole course released once, as a folder and a zip."""
    out = tmp_path_factory.mktemp("release") / "course"
    assert main(["release", "--course", str(REPO), "--out", str(out), "--zip", "--wheel", str(grader_wheel)]) == 0
    return out


def test_the_release_holds_what_students_need_and_nothing_else(release, grader_wheel):
    files = {p.relative_to(release).as_posix() for p in release.rglob("*") if p.is_file()}
    with zipfile.ZipFile(release.with_name("course.zip")) as archive:
        assert set(archive.namelist()) == files
    assert {"README.md", "release.json", f"dist/{grader_wheel.name}"} <= files
    for spec in COURSE.assignments:
        base = f"assignments/{spec.name}"
        assert {f"{base}/README.md", f"{base}/{spec.filename}", f"{base}/assignment.toml"} <= files
        assert any(f.startswith(f"{base}/tests/test_") for f in files)
        assert (release / base / spec.filename).read_text() == spec.skeleton_file.read_text()
        toml = (release / base / "assignment.toml").read_text()
        assert f"hidden_points = {count_points(spec).hidden:g} " in toml
    allowed = ("assignments/", "templates/", "dist/", "README.md", "release.json")
    assert all(f.startswith(allowed) for f in files), files
    assert not [f for f in files if "solutions" in f or "__pycache__" in f or f.startswith((".git", "tests/"))]


def test_the_manifest_names_version_hash_and_date(release):
    manifest = json.loads((release / "release.json").read_text())
    assert manifest["grader_version"] == "0.1.0" and len(manifest["content_hash"]) == 64
    assert manifest["created"][:2] == "20" and set(manifest["assignments"]) == {s.name for s in COURSE.assignments}


def test_the_guard_passes_on_the_fresh_release_zip(release):
    data = release.with_name("course.zip").read_bytes()
    assert scan({"course.zip": data}, course_secrets(COURSE, skeletons(COURSE))) == []


def test_release_refuses_a_folder_that_is_not_empty(tmp_path, grader_wheel, capsys):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.txt").write_text("x")
    code = main(["release", "--course", str(REPO), "--out", str(tmp_path / "out"), "--assignment", "pool",
                 "--wheel", str(grader_wheel)])
    assert code == 2 and "is not an empty folder" in capsys.readouterr().err


# -- the leak guard ---------------------------------------------------------------------------------

def _renamed_reference(name: str) -> str:
    """The reference's `name`, under another name, every argument and local renamed, reformatted."""
    tree = ast.parse((REPO / "solutions/pool/pool.py").read_text())
    function = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
    names = {a.arg for a in function.args.args} | {n.id for n in ast.walk(function)
                                                   if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}

    class Rename(ast.NodeTransformer):
        def visit_Name(self, node):
            node.id = f"my_{node.id}" if node.id in names else node.id
            return node

        def visit_arg(self, node):
            node.arg = f"my_{node.arg}"
            return node
    function.name = "my_helper"
    function.body = function.body[1:]   # no docstring
    return "import numpy as np\n\n\n" + ast.unparse(Rename().visit(function)).replace("    ", "  ") + "\n"


def _hidden_test_source(rename: bool) -> str:
    text = (REPO / "solutions/pool/tests/test_pool_hidden.py").read_text()
    test = next(n for n in ast.parse(text).body if isinstance(n, ast.FunctionDef) and n.name == "test_backward_float32")
    source = ast.get_source_segment(text, test)
    return "\n\n" + (source.replace(f"def {test.name}(", "def test_my_own(") if rename else source) + "\n"


PLANTS = {
    "a copy of the reference": ("assignments/pool/notes_old.py", lambda: (REPO / "solutions/pool/pool.py").read_text(),
                                "is a copy of solutions/pool/pool.py"),
    "the mistakes catalogue, edited": ("assignments/pool/tests/test_more.py",
                                       lambda: (REPO / "solutions/pool/mistakes.py").read_text() + "\n# mine\n",
                                       "implements maxpool_forward"),
    "a reference function, renamed and reformatted": (
        "assignments/pool/extra.py", lambda: _renamed_reference("maxpool_backward"),
        "is the reference's function maxpool_backward"),
    "a hidden test, renamed": ("assignments/pool/tests/test_pool_public.py", lambda: _hidden_test_source(True),
                               "is the hidden test"),
    "a hidden test's name": ("assignments/pool/README.md", lambda: _hidden_test_source(False), "names the hidden test"),
    "the course secret": ("assignments/pool/data.txt", lambda: TEST_COURSE_SECRET, "contains the course secret"),
}


@pytest.fixture
def course_copy(tmp_path) -> Path:
    for part in COURSE_PARTS:
        shutil.copytree(REPO / part, tmp_path / "course" / part, ignore=CACHES)
    return tmp_path / "course"


@pytest.mark.parametrize("plant", PLANTS)
def test_the_guard_refuses_a_planted_leak(plant, course_copy, grader_wheel, capsys):
    path, make, reason = PLANTS[plant]
    target = course_copy / path
    target.write_text((target.read_text() if target.exists() else "") + make())
    out = course_copy.parent / "out"
    code = main(["release", "--course", str(course_copy), "--out", str(out), "--assignment", "pool", "--zip",
                 "--wheel", str(grader_wheel)])
    captured = capsys.readouterr()
    assert code == 2 and path in captured.err and captured.err.count("\n") == 1
    assert reason in " ".join(captured.out.split())
    assert not out.exists() and not out.with_name("out.zip").exists()


def test_the_guard_looks_inside_the_wheel(course_copy, grader_wheel, tmp_path, capsys):
    wheel = tmp_path / grader_wheel.name
    shutil.copy(grader_wheel, wheel)
    with zipfile.ZipFile(wheel, "a") as archive:
        archive.writestr("grader/answers.py", _renamed_reference("maxpool_forward"))
    code = main(["release", "--course", str(course_copy), "--out", str(tmp_path / "out"), "--wheel", str(wheel)])
    assert code == 2 and f"dist/{wheel.name}!grader/answers.py" in capsys.readouterr().err


# -- Gradescope ---------------------------------------------------------------------------------------

def test_gradescope_zip_grades_the_reference_with_full_marks(tmp_path, grader_wheel):
    zipped = tmp_path / "autograder.zip"
    assert main(["release", "--gradescope", "--course", str(REPO), "--assignment", "pool", "--out", str(zipped),
                 "--wheel", str(grader_wheel), "--quiet"]) == 0
    with zipfile.ZipFile(zipped) as archive:
        archive.extractall(tmp_path / "source")
        for info in archive.infolist():   # as unzip does: the modes recorded in the zip
            (tmp_path / "source" / info.filename).chmod(info.external_attr >> 16 & 0o777)
    (tmp_path / "submission").mkdir()
    shutil.copy(REPO / "solutions/pool/pool.py", tmp_path / "submission")
    env = {**os.environ, "GRADER_COURSE": str(tmp_path / "source"), "GRADER_PYTHON": sys.executable,
           "GRADESCOPE_SUBMISSION_DIR": str(tmp_path / "submission"), "GRADESCOPE_RESULTS_DIR": str(tmp_path / "results"),
           "PYTHONPATH": str(REPO)}
    runner = tmp_path / "source" / "run_autograder"
    assert runner.stat().st_mode & stat.S_IXUSR
    done = subprocess.run([str(runner)], env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    results = json.loads((tmp_path / "results" / "results.json").read_text())
    assert results["score"] == results["max_score"] == 53


# -- the student's side ---------------------------------------------------------------------------------

def test_the_unpacked_release_installs_its_wheel_and_self_checks(release, tmp_path):
    """The README's two commands in a new virtual environment (the wheel's dependencies taken from
    this one, so that the test runs offline): exit 1 on the untouched skeleton, hidden points named."""
    folder = tmp_path / "unpacked"
    with zipfile.ZipFile(release.with_name("course.zip")) as archive:
        archive.extractall(folder)
    readme = (folder / "README.md").read_text()
    install, check = readme.split("```sh\n", 1)[1].split("```", 1)[0].strip().splitlines()
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    site = next(venv.glob("lib/python*/site-packages"))
    deps = next(p for p in map(Path, sys.path) if p.name == "site-packages" and (p / "numpy").is_dir())
    (site / "_deps_from_the_test_venv.pth").write_text(f"{deps}\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "GRADER_COURSE")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    command = install.replace("python -m pip install", "python -m pip install --no-deps --no-index -q")
    done = subprocess.run(command, shell=True, cwd=folder, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    where = subprocess.run(["python", "-c", "import grader; print(grader.__file__)"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=60)
    assert where.stdout.startswith(str(venv))
    done = subprocess.run(check, shell=True, cwd=folder, env=env, capture_output=True, text=True, timeout=300)
    assert check == "grader check conv" and done.returncode == 1, done.stderr
    out = " ".join(done.stdout.split())
    assert "0/26 passed" in out and "74 more points are in hidden tests" in out
    manifest = json.loads((folder / "release.json").read_text())
    assert f"release {manifest['content_hash'][:12]}" in out
