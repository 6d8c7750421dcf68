"""Content hashes that decide whether a student needs grading again.

A student is up to date when both hashes match the ones stored with their results:
- the entry's fingerprint: its bytes (an archive) or its file tree (a folder: names, kinds,
  contents; links by their target text, never followed; special files by kind only, never
  opened);
- the grading key: grader version and the source of the modules that decide a result
  (everything in the package but the command line, the console, the Gradescope entry point
  and this batch package, so a cosmetic change there regrades nobody), the selected
  assignments' public and hidden tests, skeletons and reference solutions, the report
  templates, and the options that change a result (assignments, seed, sandbox, device).
"""
from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

from .. import __version__
from ..course import Course
from ..trees import walk
from ..reports.render import PACKAGE_TEMPLATES

CHUNK = 1 << 20
SKIPPED_DIRS = {"__pycache__", ".pytest_cache"}
PRESENTATION_ONLY = {"batch", "commands", "cli.py", "console.py", "gradescope.py", "__main__.py"}  # top level


def _hash_file(path: Path, digest) -> None:
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)


def _hash_tree(root: Path, digest, exclude: frozenset[str] = frozenset()) -> None:
    """Feed `root`'s tree into `digest`, in a fixed order, without following links
    (`exclude`: names skipped at the top level)."""
    for folder, dirs, files in walk(root):
        top = folder == str(root)
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not (top and d in exclude))
        files = [f for f in files if not (top and f in exclude)]
        rel_folder = os.path.relpath(folder, root)
        for name in sorted(files + [d for d in dirs if os.path.islink(os.path.join(folder, d))]):
            path = Path(folder, name)
            info = path.lstat()
            rel = os.path.join(rel_folder, name).encode("utf-8", "surrogateescape")
            digest.update(b"\0name\0" + rel)
            if stat.S_ISLNK(info.st_mode):
                digest.update(b"\0link\0" + os.readlink(path).encode("utf-8", "surrogateescape"))
            elif stat.S_ISREG(info.st_mode):
                digest.update(b"\0file\0%d\0" % info.st_size)
                _hash_file(path, digest)
            else:
                digest.update(b"\0special\0%d" % stat.S_IFMT(info.st_mode))


def entry_fingerprint(path: Path | None) -> str:
    """A hash of the submission entry's content (see the module docstring); "" for no entry.

    Raises OSError when the entry cannot be read.
    """
    if path is None:
        return ""
    digest = hashlib.sha256()
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        digest.update(b"link\0" + os.readlink(path).encode("utf-8", "surrogateescape"))
    elif stat.S_ISDIR(info.st_mode):
        digest.update(b"tree\0")
        _hash_tree(path, digest)
    elif stat.S_ISREG(info.st_mode):
        digest.update(b"file\0")
        _hash_file(path, digest)
    else:
        digest.update(b"special\0%d" % stat.S_IFMT(info.st_mode))
    return digest.hexdigest()


def grading_key(course: Course, assignments: list[str], options: dict) -> str:
    """The hash of everything besides the submission that a result depends on."""
    digest = hashlib.sha256()
    digest.update(json.dumps({"version": __version__, "assignments": assignments, "options": options},
                             sort_keys=True).encode())
    package = Path(__file__).resolve().parents[1]
    folders = [("grader", package), ("templates", course.templates), ("package templates", PACKAGE_TEMPLATES)]
    for name in assignments:
        spec = course.assignment(name)
        folders += [(f"assignments/{name}", spec.folder), (f"solutions/{name}", spec.solution_folder)]
    for label, folder in folders:
        digest.update(b"\0folder\0" + label.encode())
        if folder.is_dir():
            _hash_tree(folder, digest, frozenset(PRESENTATION_ONLY) if label == "grader" else frozenset())
    return digest.hexdigest()
