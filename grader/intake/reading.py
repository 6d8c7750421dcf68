"""Reading a submission: the source files of a folder indexed in place, those of an archive
extracted (and nothing else), every archive member checked first (see ``rules``).

Archive members are written by us, never by an extraction routine: no links or special files
(refused), each file created new (``xb``), and the bytes counted as they are written, so a zip
bomb or a lying header stops at ``MAX_TOTAL_BYTES``. A folder's files are read without following
links, and only those grading takes (``Snapshot.read``).
"""
from __future__ import annotations

import os
import stat
import tarfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable

from ..trees import remove_tree, walk
from .rules import (MAX_ENTRIES, MAX_FILES, MAX_TAR_BYTES, MAX_TOTAL_BYTES, VENV_MARKER, Ignored,
                    SubmissionError, is_source, member_path, size_text, skipped_dir, skipped_prefix)


@dataclass(frozen=True)
class SourceFile:
    path: str          # relative to the submission, "/"-separated
    size: int
    mtime: float       # seconds since the epoch (a zip's are local time, to 2 s)


@dataclass
class Snapshot:
    """The source files of a submission (under `root`) and what was left out."""
    root: Path
    kind: str                                          # "folder" | "archive"
    sources: dict[str, SourceFile] = field(default_factory=dict)
    others: list[str] = field(default_factory=list)    # other files' paths (named in near misses)
    ignored: list[str] = field(default_factory=list)   # one line each, summarised

    def read(self, path: str) -> bytes:
        """The bytes of the source file `path` (no link followed, at most MAX_TOTAL_BYTES)."""
        fd = os.open(self.root / path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise SubmissionError(f"{path} is not a regular file")
            data = handle.read(MAX_TOTAL_BYTES + 1)
        if len(data) > MAX_TOTAL_BYTES:
            raise SubmissionError(f"{path} is larger than {MAX_TOTAL_BYTES >> 20} MiB")
        return data


class Budget:
    """Files and bytes taken in, capped (`what` words the refusal: "unsafe archive" or a folder's)."""

    def __init__(self, what: str):
        self.what, self.files, self.bytes = what, 0, 0

    def add_file(self) -> None:
        self.files += 1
        if self.files > MAX_FILES:
            raise SubmissionError(f"{self.what}: more than {MAX_FILES} source files (.py, .ipynb)")

    def add_bytes(self, n: int) -> None:
        self.bytes += n
        if self.bytes > MAX_TOTAL_BYTES:
            raise SubmissionError(f"{self.what}: more than {MAX_TOTAL_BYTES >> 20} MiB uncompressed in source files")


@dataclass
class _Member:
    name: str
    kind: str          # "file" | "dir" | "link" | "special"
    size: int
    mtime: float
    open: Callable


def _zip_members(archive: zipfile.ZipFile) -> list[_Member]:
    members = []
    for info in archive.infolist()[: MAX_ENTRIES + 1]:
        mode = info.external_attr >> 16
        kind = ("link" if stat.S_ISLNK(mode) else "dir" if info.is_dir()
                else "special" if stat.S_IFMT(mode) not in (0, stat.S_IFREG) else "file")
        try:
            mtime = time.mktime(info.date_time + (0, 0, -1))
        except (OverflowError, ValueError):
            mtime = 0.0
        members.append(_Member(info.filename, kind, info.file_size, mtime, lambda info=info: archive.open(info)))
    return members


def _tar_members(archive: tarfile.TarFile) -> list[_Member]:
    """The members, listed without reading more than MAX_TAR_BYTES of member data: each header's
    size is counted before the next header is looked for (which reads past that member's data)."""
    members, declared = [], 0
    while (member := archive.next()) is not None:
        declared += max(member.size, 0)
        if declared > MAX_TAR_BYTES:
            raise SubmissionError(f"unsafe archive: its members hold more than {MAX_TAR_BYTES >> 20} MiB "
                                  f"uncompressed in all (a tar is read whole to list it: leave data out, "
                                  f"or send a .zip)")
        kind = ("dir" if member.isdir() else "file" if member.isreg()
                else "link" if member.issym() or member.islnk() else "special")
        members.append(_Member(member.name, kind, member.size, float(member.mtime),
                               lambda member=member: archive.extractfile(member)))
        if len(members) > MAX_ENTRIES:
            break
    return members


def _take(members: list[_Member], dest: Path, snapshot: Snapshot) -> None:
    if len(members) > MAX_ENTRIES:
        raise SubmissionError(f"unsafe archive: more than {MAX_ENTRIES} members")
    paths = [member_path(m.name) for m in members]        # every name checked before anything is written
    for m, path in zip(members, paths):
        if m.kind == "link":
            raise SubmissionError(f"unsafe archive: {m.name!r} is a symbolic link")
        if m.kind == "special":
            raise SubmissionError(f"unsafe archive: {m.name!r} is a link or a special file")
    venv_roots = {p.parts[:-1] for p in paths if p.name == VENV_MARKER}
    ignored, budget = Ignored(), Budget("unsafe archive")
    for m, path in zip(members, paths):
        if m.kind == "dir" or not path.parts or m.name.endswith("\\"):   # "hw3\\": a folder, Windows-style
            continue
        rel = str(path)
        prefix = skipped_prefix(path.parts, venv_roots)
        if prefix is not None:
            ignored.folder(prefix)
        elif not is_source(path.name):
            snapshot.others.append(rel)
            ignored.file(rel, "hidden file" if path.name.startswith(".") else size_text(m.size))
        elif rel in snapshot.sources:
            raise SubmissionError(f"unsafe archive: two members named {rel!r}")
        else:
            budget.add_file()
            written = _write(m.open, dest / rel, budget)
            snapshot.sources[rel] = SourceFile(rel, written, m.mtime)
    snapshot.ignored = ignored.lines()


def _write(opener: Callable, target: Path, budget: Budget) -> int:
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with opener() as source, open(target, "xb") as out:
        while chunk := source.read(1 << 16):
            budget.add_bytes(len(chunk))
            written += len(chunk)
            out.write(chunk)
    return written


def extract(archive: Path, dest: Path) -> Snapshot:
    """Take the source files of `archive` into the new folder `dest` (see the module docstring)."""
    dest.mkdir(parents=True, exist_ok=True)
    snapshot = Snapshot(dest, "archive")
    try:
        if archive.name.lower().endswith(".zip"):
            with zipfile.ZipFile(archive) as opened:
                _take(_zip_members(opened), dest, snapshot)
        else:
            with tarfile.open(archive) as opened:
                _take(_tar_members(opened), dest, snapshot)
    except SubmissionError:
        remove_tree(dest)
        raise
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, ValueError, RuntimeError) as exc:
        remove_tree(dest)
        raise SubmissionError(f"unreadable archive {archive.name}: {exc}") from None
    return snapshot


def index_folder(root: Path) -> Snapshot:
    """The source files of the folder `root`, read in place: skipped folders are not entered,
    links not followed (both listed as ignored)."""
    snapshot, ignored, seen = Snapshot(root, "folder"), Ignored(), 0
    for folder, dirs, files in walk(root):
        rel_folder = PurePosixPath(os.path.relpath(folder, root))
        here = "" if str(rel_folder) == "." else f"{rel_folder}/"
        if here and VENV_MARKER in files:
            ignored.folder(here[:-1], opened=False)
            dirs[:] = []
            continue
        seen += len(dirs) + len(files)
        if seen > MAX_ENTRIES:
            raise SubmissionError(f"the folder holds more than {MAX_ENTRIES} files and folders")
        kept = []
        for name in sorted(dirs):
            if os.path.islink(os.path.join(folder, name)):
                ignored.file(here + name, "a link, not followed")
            elif skipped_dir(name):
                ignored.folder(here + name, opened=False)
            else:
                kept.append(name)
        dirs[:] = kept
        for name in sorted(files):
            info = os.lstat(os.path.join(folder, name))
            rel = here + name
            if not stat.S_ISREG(info.st_mode):
                ignored.file(rel, "a link, not followed" if stat.S_ISLNK(info.st_mode) else "not a regular file")
            elif is_source(name):
                snapshot.sources[rel] = SourceFile(rel, info.st_size, info.st_mtime)
            else:
                snapshot.others.append(rel)
                ignored.file(rel, "hidden file" if name.startswith(".") else size_text(info.st_size))
    snapshot.ignored = ignored.lines()
    return snapshot
