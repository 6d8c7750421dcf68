"""Exclusive file locks that say "alive": the kernel drops a lock when its holder dies, however
it dies, so a free lock means its owner (a sandbox's uid, a grading session) is gone."""
from __future__ import annotations

import fcntl
import os
from pathlib import Path


def try_lock(path: Path, create: bool = False) -> int | None:
    """An open descriptor holding the exclusive lock on `path`, or None when another holds it
    (or, unless `create`, when the file does not exist). Closing the descriptor frees the lock."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC | (os.O_CREAT if create else 0), 0o600)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def held(path: Path) -> bool:
    """Whether a live process holds the lock on `path` now."""
    if not path.exists():
        return False
    fd = try_lock(path)
    if fd is None:
        return True
    os.close(fd)
    return False
