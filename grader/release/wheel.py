"""A wheel of the grader package, so that a student installs it with one command and no course
repository: built with ``pip wheel`` from a clean copy of the package's source tree (the tree
itself is left untouched), or taken as given (``grader release --wheel FILE``)."""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[2]            # the folder holding pyproject.toml and grader/
COPIED = ("pyproject.toml", "README.md", "LICENSE", "grader")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", "*.egg-info", ".pytest_cache")


class WheelError(Exception):
    """The wheel could not be built (a one-line reason)."""


def source_tree() -> Path | None:
    """The grader's source tree, when it is installed from one (editable or run in place)."""
    return SOURCE if (SOURCE / "pyproject.toml").is_file() and (SOURCE / "grader").is_dir() else None


def build_wheel(out: Path, timeout: float = 600) -> Path:
    """Build the grader's wheel into folder `out` and return its path."""
    source = source_tree()
    if source is None:
        raise WheelError("the grader is not installed from its source tree, so no wheel can be built "
                         "here; pass one with --wheel FILE")
    with tempfile.TemporaryDirectory(prefix="grader-wheel-") as tmp:
        copy = Path(tmp) / "src"
        copy.mkdir()
        for name in COPIED:
            if (source / name).is_dir():
                shutil.copytree(source / name, copy / name, ignore=IGNORED)
            elif (source / name).is_file():
                shutil.copy2(source / name, copy / name)
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(out), str(copy)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise WheelError(f"pip wheel took more than {timeout:g} s") from None
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise WheelError(f"pip wheel failed ({last}); pass a wheel with --wheel FILE")
    wheels = sorted(out.glob("*.whl"), key=lambda p: p.stat().st_mtime)
    if not wheels:
        raise WheelError("pip wheel wrote no wheel")
    return wheels[-1]
