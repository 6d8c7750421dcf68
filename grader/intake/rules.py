"""What intake takes from a submission and what it leaves, and the caps on what it takes.

A submission is whatever a student's operating system and editor made: a project folder with a
virtual environment, ``.git``, ``__pycache__``, data files, macOS's ``__MACOSX`` and ``._*``
files. Grading needs only source files (``.py``, and ``.ipynb`` notebooks whose code cells are
graded), so only those are taken in; the rest is listed once, summarised, as ignored. The caps
(``MAX_FILES``, ``MAX_TOTAL_BYTES``) apply to what is taken in; ``MAX_ENTRIES`` bounds how many
entries are looked at at all.

Every member name of an archive is checked before anything else is decided about it: its
backslashes (Windows PowerShell's ``Compress-Archive`` writes ``hw3\\conv.py``) become ``/``
first, so ``..\\`` is refused like ``../``.
"""
from __future__ import annotations

from pathlib import PurePosixPath

ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz", ".tar")
SOURCE_SUFFIXES = (".py", ".ipynb")
# folders never opened: tools' and environments' folders (hidden folders, ``.git`` and ``.venv``
# included, are skipped too), and any folder holding a virtual environment's ``pyvenv.cfg``
SKIPPED_DIRS = frozenset({"__MACOSX", "__pycache__", "venv", "env", "virtualenv", "site-packages",
                          "node_modules"})
VENV_MARKER = "pyvenv.cfg"
MAX_FILES = 500              # source files taken in
MAX_TOTAL_BYTES = 50 << 20   # bytes of source files taken in
MAX_ENTRIES = 200_000        # entries looked at, skipped ones included
MAX_TAR_BYTES = 256 << 20    # a tar's members in all, skipped ones included: a tar has no index, so
                             # listing it reads (and a .tar.gz decompresses) every member's data
                             # (~1 s of CPU for 256 MiB; a 3 MB gzip bomb would declare 3 GiB)
MAX_NAME = 200               # characters of one path component
IGNORED_LINES = 20           # lines of the ignored listing before "... and N more"


class SubmissionError(Exception):
    """A submission that cannot be taken in (missing, unreadable or unsafe): one line."""


def is_archive(path) -> bool:
    return path.name.lower().endswith(ARCHIVE_SUFFIXES)


def submission_stem(name: str) -> str:
    """A submission's name without its archive suffix (``alice.tar.gz`` -> ``alice``)."""
    lower = name.lower()
    for suffix in sorted(ARCHIVE_SUFFIXES, key=len, reverse=True):
        if lower.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def member_path(name: str) -> PurePosixPath:
    """The relative path an archive member `name` stands for, backslashes read as separators;
    raise ``SubmissionError`` for an absolute path, a ``..``, odd characters or overlong names."""
    if not name or len(name) > 1000:
        raise SubmissionError("unsafe archive: empty or overlong member name")
    if any(ord(ch) < 32 or ch == "\x7f" for ch in name):
        raise SubmissionError(f"unsafe archive: odd characters in member name {name!r}")
    normal = name.replace("\\", "/")
    path = PurePosixPath(normal)
    if path.is_absolute() or (len(normal) > 1 and normal[1] == ":"):
        raise SubmissionError(f"unsafe archive: absolute path {name!r}")
    if ".." in path.parts:
        raise SubmissionError(f"unsafe archive: path escapes the archive ({name!r})")
    if any(len(part) > MAX_NAME for part in path.parts):
        raise SubmissionError("unsafe archive: a member name is too long")
    return path


def skipped_dir(name: str) -> bool:
    """A folder whose content grading never needs (see ``SKIPPED_DIRS``)."""
    return name in SKIPPED_DIRS or name.startswith(".")


def skipped_prefix(parts: tuple[str, ...], venv_roots: set[tuple[str, ...]]) -> str | None:
    """The skipped folder (``"hw3/venv"``) a file at `parts` lies in, or None."""
    for k, part in enumerate(parts[:-1]):
        if skipped_dir(part) or parts[: k + 1] in venv_roots:
            return "/".join(parts[: k + 1])
    return None


def is_source(name: str) -> bool:
    return name.lower().endswith(SOURCE_SUFFIXES) and not name.startswith(".")


def size_text(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} byte{'s' if n != 1 else ''}"


class Ignored:
    """What was left out, summarised: a skipped folder once with its file count, other files by name."""

    def __init__(self):
        self.folders: dict[str, int | None] = {}
        self.files: list[str] = []

    def folder(self, prefix: str, opened: bool = True) -> None:
        count = self.folders.get(prefix, 0)
        self.folders[prefix] = count + 1 if opened and count is not None else None

    def file(self, path: str, what: str) -> None:
        self.files.append(f"{path} ({what})")

    def lines(self) -> list[str]:
        lines = [f"{p}/" + ("" if n is None else f" ({n} file{'s' if n != 1 else ''})")
                 for p, n in self.folders.items()] + self.files
        if len(lines) > IGNORED_LINES:
            lines = lines[: IGNORED_LINES - 1] + [f"... and {len(lines) - IGNORED_LINES + 1} more"]
        return lines
