"""Writing files: the one place the grader writes a file (reports, gradebook, summary, state);
and the version of a file (``file_version``) that tells what the grader keeps in memory
whether the file changed since.

A reader of any file written here sees the old content or the new, never half of either: the
text goes to a temporary file beside the target, which then replaces it in one rename.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def file_version(path) -> tuple[int, int] | None:
    """(modification time in ns, size) of the file at `path`; None when it cannot be read."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: Path, text: str | bytes) -> None:
    """Write `text` (UTF-8; bytes as they are) to `path`, creating its folder; a reader sees the
    old file or the new one, never half of one. The file gets the permissions the umask gives a new file (not
    the 0600 of a temporary file): reports are for sharing. A write that fails or is interrupted
    removes its temporary file; one killed outright leaves a ``.<name>.XXXX`` file beside `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.chmod(tmp, 0o666 & ~_umask())
    try:
        with (os.fdopen(fd, "wb") if isinstance(text, bytes) else os.fdopen(fd, "w", encoding="utf-8")) as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
