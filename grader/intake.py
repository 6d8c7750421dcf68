"""Intake: turn a submission (folder, .zip, .tar.gz/.tgz/.tar) into files we can grade.

Archives are never extracted blindly: every member is checked (no absolute paths, no ``..``,
no links or devices, no odd names) and written by us with caps on file count and on the bytes
actually written, so a zip bomb or a lying header stops at the cap. Anything refused raises
``SubmissionError`` with a one-line reason.
"""
from __future__ import annotations

import contextlib
import shutil
import stat
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

MAX_FILES = 500
MAX_TOTAL_BYTES = 50 << 20
MAX_NAME = 200
SKIPPED_DIRS = {"__MACOSX", "__pycache__", ".git", ".ipynb_checkpoints"}
ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz", ".tar")


class SubmissionError(Exception):
    """A submission that cannot be taken in (missing, unreadable or unsafe): one line."""


def is_archive(path: Path) -> bool:
    return path.name.lower().endswith(ARCHIVE_SUFFIXES)


def submission_stem(name: str) -> str:
    """A submission's name without its archive suffix (``alice.tar.gz`` -> ``alice``)."""
    lower = name.lower()
    for suffix in sorted(ARCHIVE_SUFFIXES, key=len, reverse=True):
        if lower.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _safe_relative(name: str) -> PurePosixPath:
    if not name or len(name) > 1000:
        raise SubmissionError("unsafe archive: empty or overlong member name")
    if any(ord(ch) < 32 or ch in "\\\x7f" for ch in name):
        raise SubmissionError(f"unsafe archive: odd characters in member name {name!r}")
    path = PurePosixPath(name)
    if path.is_absolute() or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise SubmissionError(f"unsafe archive: absolute path {name!r}")
    if ".." in path.parts:
        raise SubmissionError(f"unsafe archive: path escapes the archive ({name!r})")
    if any(len(part) > MAX_NAME for part in path.parts):
        raise SubmissionError("unsafe archive: a member name is too long")
    return path


class _Budget:
    def __init__(self):
        self.files = 0
        self.bytes = 0

    def add_file(self) -> None:
        self.files += 1
        if self.files > MAX_FILES:
            raise SubmissionError(f"unsafe archive: more than {MAX_FILES} files")

    def add_bytes(self, n: int) -> None:
        self.bytes += n
        if self.bytes > MAX_TOTAL_BYTES:
            raise SubmissionError(f"unsafe archive: more than {MAX_TOTAL_BYTES >> 20} MiB uncompressed")


def _write_stream(source, target: Path, budget: _Budget) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "xb") as out:
        while chunk := source.read(1 << 16):
            budget.add_bytes(len(chunk))
            out.write(chunk)


def _extract_zip(path: Path, dest: Path, budget: _Budget) -> None:
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            rel = _safe_relative(info.filename)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise SubmissionError(f"unsafe archive: {info.filename!r} is a symbolic link")
            if info.is_dir():
                continue
            budget.add_file()
            with archive.open(info) as source:
                _write_stream(source, dest / rel, budget)


def _extract_tar(path: Path, dest: Path, budget: _Budget) -> None:
    with tarfile.open(path) as archive:
        for member in archive:
            rel = _safe_relative(member.name)
            if member.isdir():
                continue
            if not member.isreg():
                raise SubmissionError(f"unsafe archive: {member.name!r} is a link or a special file")
            budget.add_file()
            source = archive.extractfile(member)
            _write_stream(source, dest / rel, budget)


def extract(archive: Path, dest: Path) -> None:
    """Extract `archive` into the empty folder `dest`, safely (see the module docstring)."""
    dest.mkdir(parents=True, exist_ok=True)
    budget = _Budget()
    try:
        if archive.name.lower().endswith(".zip"):
            _extract_zip(archive, dest, budget)
        else:
            _extract_tar(archive, dest, budget)
    except SubmissionError:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, ValueError, RuntimeError) as exc:
        shutil.rmtree(dest, ignore_errors=True)
        raise SubmissionError(f"unreadable archive {archive.name}: {exc}") from None


@dataclass
class Intake:
    root: Path

    def locate(self, filename: str) -> Path | None:
        """The folder holding `filename` (the shallowest one); None when absent."""
        found = [p for p in self.root.rglob(filename)
                 if p.is_file() and not p.is_symlink()
                 and not (set(p.relative_to(self.root).parts[:-1]) & SKIPPED_DIRS)]
        if not found:
            return None
        found.sort(key=lambda p: (len(p.relative_to(self.root).parts), str(p)))
        return found[0].parent

    @staticmethod
    def copy_folder(folder: Path, dest: Path) -> None:
        """Copy the regular files under `folder` (no links, capped in size) to `dest`."""
        budget = _Budget()
        dest.mkdir(parents=True)
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(folder)
            if set(rel.parts) & SKIPPED_DIRS or path.is_symlink() or not path.is_file():
                continue
            budget.add_file()
            budget.add_bytes(path.stat().st_size)
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest / rel)


@contextlib.contextmanager
def open_submission(submission: Path, scratch: Path):
    """Yield an ``Intake`` for a folder or an archive; raise ``SubmissionError`` when unusable."""
    submission = Path(submission)
    if not submission.exists():
        raise SubmissionError(f"no such file or folder: {submission}")
    if submission.is_dir():
        yield Intake(submission)
    elif is_archive(submission):
        extract(submission, scratch)
        yield Intake(scratch)
    elif submission.suffix == ".py":
        raise SubmissionError(f"{submission} is a single file; pass the folder that holds it")
    else:
        raise SubmissionError(f"{submission} is neither a folder nor a .zip/.tar.gz archive")
