"""The host user a sandbox runs as.

When the grader runs as root, each sandbox gets a host uid of its own from a reserved range
(like the judges isolate and nsjail): not root, no capabilities, owning nothing but its working
folder. Two sandboxes never share a uid, so one student's processes cannot signal or read
another's, the kernel's per-user process limit (``RLIMIT_NPROC``) binds exactly, and "every
process of this sandbox" is simply "every process of this uid": ``kill_all`` ends them all,
``setsid`` or not, even where there are no control groups.

A uid is held by an exclusive lock on ``<lock folder>/<uid>`` for the life of the sandbox; the
kernel drops the lock when the holder dies, so a killed grader leaks nothing. Uids that
``/etc/passwd`` names, or that own a running process, are skipped.

When the grader is not root, the sandbox runs as the grader's own uid (bubblewrap then maps it
into a user namespace); ``Identity.dedicated`` is False and uid-wide operations are refused.
"""
from __future__ import annotations

import os
import pwd
import signal
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..trees import remove_tree
from . import locks

UID_BASE = int(os.environ.get("GRADER_SANDBOX_UID_BASE", "60100"))  # above login users (login.defs UID_MAX 60000)
UID_COUNT = 1000                                                     # below systemd's dynamic users (61184-65519)
SHARED_TEMP = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/dev/mqueue")  # world-writable: a basic-mode child can leave files


@dataclass
class Identity:
    uid: int
    gid: int
    dedicated: bool              # a reserved uid of its own (grader is root), not the grader's uid
    _lock_fd: int | None = None

    def release(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


def _lock_folder() -> Path:
    folder = Path(tempfile.gettempdir()) / "dl-grader-uids"
    folder.mkdir(mode=0o700, exist_ok=True)
    if folder.is_symlink() or folder.stat().st_uid != os.geteuid():
        raise RuntimeError(f"{folder} is not owned by the grader's user")
    os.chmod(folder, 0o700)
    return folder


def _processes_by_uid() -> dict[int, list[int]]:
    """uid -> the pids of its processes, from one scan of /proc."""
    found: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                found.setdefault(entry.stat().st_uid, []).append(int(entry.name))
            except OSError:
                pass
    return found


def acquire() -> Identity:
    """A dedicated uid when the grader is root, else the grader's own identity."""
    if os.geteuid() != 0:
        return Identity(os.getuid(), os.getgid(), dedicated=False)
    folder = _lock_folder()
    busy = _processes_by_uid()
    start = os.getpid() % UID_COUNT  # parallel graders start their search in different places
    for k in range(UID_COUNT):
        uid = UID_BASE + (start + k) % UID_COUNT
        if uid in busy:
            continue
        try:
            pwd.getpwuid(uid)
            continue  # a real account: never run student code as it
        except KeyError:
            pass
        fd = locks.try_lock(folder / str(uid), create=True)
        if fd is not None:
            return Identity(uid, uid, dedicated=True, _lock_fd=fd)
    raise RuntimeError(f"no free sandbox uid in {UID_BASE}..{UID_BASE + UID_COUNT - 1}")


def held(uid: int) -> bool:
    """Whether a live grader holds `uid` now (its lock is taken)."""
    return locks.held(_lock_folder() / str(uid))


def signal_all(identity: Identity, sig: int = signal.SIGKILL) -> None:
    """Send `sig` to every process of the identity's uid (dedicated uids only).

    A forked helper takes the uid and calls ``kill(-1, sig)``: the kernel then signals every
    process that uid may signal, i.e. all of its own, atomically with respect to fork. The
    helper never execs, so ``RLIMIT_NPROC`` (which refuses exec past the limit) cannot stop it.
    """
    if not identity.dedicated:
        raise RuntimeError("uid-wide signals need a dedicated sandbox uid")
    for _ in range(2):  # a second sweep catches a process that was mid-fork
        pid = os.fork()
        if pid == 0:  # pragma: no cover (runs in the helper)
            try:
                os.setgroups([])
                os.setresgid(identity.gid, identity.gid, identity.gid)
                os.setresuid(identity.uid, identity.uid, identity.uid)
                os.kill(-1, sig)
            except OSError:
                pass
            os._exit(0)
        os.waitpid(pid, 0)
        if sig != signal.SIGKILL:
            break


def processes_of(uid: int) -> list[int]:
    return _processes_by_uid().get(uid, [])


def remove_stray_files(identity: Identity) -> None:
    """Delete what the uid left in the shared temporary folders (basic mode as root)."""
    if not identity.dedicated:
        return
    for folder in SHARED_TEMP:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_uid != identity.uid:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    remove_tree(entry.path)
                else:
                    os.unlink(entry.path)
            except OSError:
                pass
