"""Running pytest in this process for grading: our ini file, our plugins, nothing else."""
from __future__ import annotations

import contextlib
import io
import os
import sys
from pathlib import Path

import pytest

from ..files import file_version

PYTEST_INI = Path(__file__).with_name("pytest.ini")
_IMPORTED: dict[str, tuple[object, tuple[int, int] | None]] = {}   # test modules kept: name -> (module, version)


@contextlib.contextmanager
def _no_plugin_autoload():
    """Load only the plugins grading needs (pytest-timeout, ours), not every installed one:
    faster start, and no third-party plugin can change how assignment tests run."""
    saved = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        yield
    finally:
        if saved is None:
            del os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"]
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = saved


def run_pytest(paths: list[str], rootdir: Path, plugins: list, extra: list[str] = ()) -> str:
    """Run pytest on `paths` with `plugins`; return what pytest printed (kept for debugging)."""
    args = [*paths, "-c", str(PYTEST_INI), "--rootdir", str(rootdir), "-p", "no:cacheprovider",
            "-p", "pytest_timeout", "--import-mode=importlib", "-q", "--no-header", "--tb=native",
            # its session-end gc.collect() costs ~0.1 s per run, and it reports nothing grading uses
            "-p", "no:unraisableexception", *extra]
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer), _no_plugin_autoload():
        _forget_test_modules(rootdir)
        # pytest caches the assertion-rewritten test modules in their __pycache__ (where writable)
        # only if bytecode may be written: allow it, as for any import (PYTHONDONTWRITEBYTECODE
        # would otherwise make every grading rewrite and compile the course's tests again)
        saved, sys.dont_write_bytecode = sys.dont_write_bytecode, False
        try:
            pytest.main(args, plugins=plugins)
        finally:
            sys.dont_write_bytecode = saved
            _remember_test_modules(paths)
    return buffer.getvalue()


def _remember_test_modules(paths: list[str]) -> None:
    folders = [str(Path(p).resolve()) + os.sep for p in paths]
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None) or ""
        if any(file.startswith(folder) for folder in folders):
            _IMPORTED.setdefault(name, (module, file_version(file)))


def _forget_test_modules(rootdir: Path) -> None:
    """Keep the assignment test modules imported by earlier runs of the same course (a batch
    worker imports them once, not once per student; they are trusted and hold no student
    state), but drop those of another course folder or whose file changed since: importlib
    mode names them after their path under the course root, so another course's tests (same
    relative path) would otherwise be served the cached module of the first."""
    root = str(Path(rootdir).resolve()) + os.sep
    for name, (module, version) in list(_IMPORTED.items()):
        file = getattr(module, "__file__", None) or ""
        if sys.modules.get(name) is not module or not file.startswith(root) or file_version(file) != version:
            if sys.modules.get(name) is module:
                del sys.modules[name]
            del _IMPORTED[name]
