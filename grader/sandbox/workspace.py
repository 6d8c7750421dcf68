"""Where one grading keeps its files (submission copies, reference copies, sandbox folders).

A session folder ``<tmp>/dl-grader-<uid>/<session>/`` is held by an exclusive lock on
``<session>.lock`` for as long as its grader lives; the kernel drops the lock when the grader
dies, however it dies. Opening a new session first sweeps the sessions whose lock is free:
their folders (which hold reference copies) and their control groups are deleted, and their
processes killed. So a grader or batch worker killed mid-grading leaves nothing behind for long.

Permissions: the base and session folders are ``0711`` (a sandbox's own uid may pass through to
its working folder, but list nothing); everything else is private to the grader
(``Session.private_folder``).
"""
from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

from ..trees import remove_tree
from . import cgroups, locks


def _base() -> Path:
    base = Path(tempfile.gettempdir()) / f"dl-grader-{os.geteuid()}"
    base.mkdir(mode=0o711, exist_ok=True)
    info = os.lstat(base)
    if not os.path.isdir(base) or os.path.islink(base) or info.st_uid != os.geteuid():
        raise RuntimeError(f"{base} is not a folder owned by the grader's user")
    os.chmod(base, 0o711)
    return base


def session_alive(name: str) -> bool:
    """Whether the grader that owns session `name` is alive (it holds the session's lock)."""
    return locks.held(_base() / f"{name}.lock")


def sweep_leftovers(base: Path | None = None) -> list[str]:
    """Remove the sessions (and their control groups) of graders that are gone; return their names."""
    base = base or _base()
    removed = []
    for lock in base.glob("*.lock"):
        session = lock.name[: -len(".lock")]
        fd = locks.try_lock(lock)
        if fd is None:
            continue  # its grader is alive
        try:
            hierarchy = cgroups.detect()
            cgroups.remove_groups(hierarchy, session + "-")
            remove_tree(base / session)
            # a group the kernel would not delete yet (a process still exiting) keeps the lock
            # file, so that the next sweep tries again
            if not any(name.startswith(session + "-") for name in cgroups.group_names(hierarchy)):
                lock.unlink(missing_ok=True)
                removed.append(session)
        finally:
            os.close(fd)
    return removed


class Session:
    """One grading's private folder; a context manager that deletes it (and its groups) at exit."""

    def __init__(self):
        base = _base()
        sweep_leftovers(base)
        self.name = secrets.token_hex(6)
        self._lock_fd = locks.try_lock(base / f"{self.name}.lock", create=True)  # a fresh name: never contended
        self.folder = base / self.name
        self.folder.mkdir(mode=0o711)
        os.chmod(self.folder, 0o711)
        self._boxes = 0

    def private_folder(self, name: str) -> Path:
        """A new folder `name` in the session that only the grader may enter (``0700``): every
        copy of a submission, of the reference or of an archive's contents lives in one. A box's
        folder (``0711``, ``box.py``) and the runtime copy (``bwrap.runtime_copy``) are the only
        entries a sandbox uid may pass through or read; in basic mode as root the sandbox uids
        share the host's file system, and this is what keeps the others closed to them."""
        folder = self.folder / name
        folder.mkdir(mode=0o700)
        os.chmod(folder, 0o700)
        return folder

    def box_name(self) -> str:
        """A fresh name for a sandbox of this session (also its control group's name)."""
        self._boxes += 1
        return f"{self.name}-{self._boxes}"

    def close(self) -> None:
        if self._lock_fd is None:
            return
        cgroups.remove_groups(cgroups.detect(), self.name + "-")
        remove_tree(self.folder)
        (self.folder.parent / f"{self.name}.lock").unlink(missing_ok=True)
        os.close(self._lock_fd)
        self._lock_fd = None

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
