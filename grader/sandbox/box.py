"""One sandbox: a host identity, a control group and a working folder, reused across restarts.

A ``Box`` is made once per student module (and once for the reference that is timed against
it). Each (re)start of its child reuses the same uid, group and folder: the previous child and
everything it started are killed first, and the working folder is reset from the pristine copy,
so a submission that crashes on every call cannot multiply disk use. ``close`` kills every
process of the box, deletes its group and folder, and frees its uid.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from ..trees import remove_tree, walk
from . import bwrap, cgroups, identity, launcher
from .config import SandboxConfig
from .limits import Limits

# Basic mode: folders nested deeper than this in the working folder are a quota problem (the
# count below stops there; no honest solution nests more than a few)
WORK_DEPTH = 100


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    for folder, dirs, files in walk(root):
        os.chown(folder, uid, gid)
        for name in dirs + files:
            os.chown(os.path.join(folder, name), uid, gid, follow_symlinks=False)


def _stat_fields(pid: int) -> list[bytes]:
    """Fields of /proc/PID/stat after the command name (field 3, the state, comes first)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()
    except OSError:
        return []


def _is_zombie(pid: int) -> bool:
    fields = _stat_fields(pid)
    return not fields or fields[0] in (b"Z", b"X")


def _start_time(pid: int) -> int:
    fields = _stat_fields(pid)
    return int(fields[19]) if len(fields) > 19 else 1 << 62  # field 22: start time in clock ticks


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (OSError, ValueError):
        return []


def _descendants(pid: int) -> list[int]:
    """Every process below `pid` (children, grandchildren...): ``setsid`` does not change parents."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if len(fields) > 1:
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def sandbox_group(name: str, limits: Limits, in_force: bool) -> cgroups.Cgroup | None:
    """The control group `name` of one sandbox, with `limits`' memory, processes and CPU quota;
    None where the isolation in force has none (`in_force` False) or none can be made here."""
    hierarchy = cgroups.detect() if in_force else None
    if hierarchy is None:
        return None
    return cgroups.Cgroup(hierarchy, name, memory_bytes=limits.memory_bytes, processes=limits.processes,
                          cpus=limits.cpus)


class Box:
    def __init__(self, files: Path, config: SandboxConfig, folder: Path, name: str,
                 imports: tuple[str, ...] | None = None):
        self.config, self.isolation, self.name, self.imports = config, config.isolation, name, imports
        isolation = config.isolation
        self.folder = folder
        self.folder.mkdir(mode=0o711)
        self.identity = identity.acquire() if isolation.dedicated_uid else identity.Identity(
            os.getuid(), os.getgid(), dedicated=False)
        self.group = sandbox_group(name, config.limits, isolation.cgroup != "none")
        self.files = self.folder / "files"  # the box's own pristine copy: the caller's folder is never touched
        shutil.copytree(files, self.files, symlinks=True)
        if self.identity.dedicated:
            if isolation.mode == "bubblewrap":  # readable by the sandbox uid; mounted read-only
                _chown_tree(self.files, self.identity.uid, self.identity.gid)
            os.chmod(self.files, 0o700)     # basic: the pristine copy stays the grader's alone
        self.work = self.folder / "work" if isolation.mode == "basic" else None
        self.process: subprocess.Popen | None = None
        self._serving: set[int] | None = None
        self._inner: int | None = None  # bubblewrap's PID 1 for the current child (with _serving)

    @property
    def runs_bubblewrap(self) -> bool:
        """Its children start through bubblewrap (their first frame proves that bubblewrap works)."""
        return self.isolation.mode == "bubblewrap"

    # -- children -----------------------------------------------------------------------------
    def start(self, module: str) -> subprocess.Popen:
        """Kill whatever runs in the box, reset the working folder, start a fresh child."""
        self.kill_all()
        if self.work is not None:
            remove_tree(self.work)
            shutil.copytree(self.files, self.work, symlinks=True)
            if self.identity.dedicated:
                _chown_tree(self.work, self.identity.uid, self.identity.gid)
            os.chmod(self.work, 0o700)
        self._serving = self._inner = None
        self.process = launcher.spawn(self.files, self.work, module, self.config, self.identity, self.group,
                                      self.imports)
        return self.process

    def processes(self) -> list[int]:
        """Every process of the sandbox the grader can find (not counting the launcher)."""
        if self.group is not None:
            return self.group.pids()
        if self.identity.dedicated:
            return identity.processes_of(self.identity.uid)
        return _descendants(self.process.pid) if self.process is not None else []

    def serving(self) -> set[int]:
        """The processes that serve calls. Basic mode: the child. Bubblewrap: the launcher, its
        PID 1 inside the sandbox (which adopts orphans) and the child, the oldest process PID 1
        started. Nothing else has a reason to exist between calls."""
        if self.process is None:
            return set()
        if self._serving is None or not self._serving & {self.process.pid}:
            keep = {self.process.pid}
            inner = self._inner = self._inner_pid() if self.isolation.mode == "bubblewrap" else None
            if inner is not None:
                keep.add(inner)
                children = _children(inner)
                if children:
                    keep.add(min(children, key=_start_time))
            self._serving = keep
        return self._serving

    def strays(self) -> list[int]:
        """Processes of the sandbox other than those serving calls."""
        keep = self.serving()
        return [pid for pid in self.processes() if pid not in keep]

    def sweep(self) -> int:
        """Kill every process of the sandbox that is not serving calls (whatever the student's code
        left running: background workers, ``setsid`` daemons, fork bombs); return how many. In
        basic mode as root, also delete what the call left in the shared temporary folders."""
        if self.work is not None and self.identity.dedicated:
            identity.remove_stray_files(self.identity)
        if not self.strays():
            return 0
        killed = set()
        for _ in range(50):  # frozen, nothing can fork while we kill; more rounds for stragglers
            with self.frozen() if self.group is not None else contextlib.nullcontext():
                extra = [pid for pid in self.strays() if not _is_zombie(pid)]
                for pid in extra:
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
                        killed.add(pid)
            if not extra:
                break
            time.sleep(0.001)
        return len(killed)

    def kill_all(self) -> None:
        """SIGKILL every process of the sandbox, ``setsid`` or not, and reap the launcher."""
        if self.group is not None:
            self.group.kill_all()
        elif self.identity.dedicated:
            identity.signal_all(self.identity, signal.SIGKILL)
        elif self.process is not None:
            for pid in _descendants(self.process.pid):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
        if self.process is not None:
            launcher.kill_process_group(self.process)

    @contextlib.contextmanager
    def frozen(self):
        """Suspend every process of the sandbox for the duration of the block."""
        if self.group is not None:
            self.group.freeze(True)
            try:
                yield
            finally:
                self.group.freeze(False)
            return
        pids = [] if self.identity.dedicated else self.processes() + ([self.process.pid] if self.process else [])
        if self.identity.dedicated:
            identity.signal_all(self.identity, signal.SIGSTOP)
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            if self.identity.dedicated:
                identity.signal_all(self.identity, signal.SIGCONT)
            for pid in pids:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGCONT)

    # -- fences -------------------------------------------------------------------------------
    def out_of_memory(self) -> bool:
        return self.group is not None and self.group.oom_killed()

    def quota_problem(self) -> str | None:
        """A one-line reason when the working folder is over its size or file-count quota."""
        limits = self.config.limits
        if self.work is not None:
            files, size, top = 0, 0, str(self.work).count(os.sep)
            for folder, dirs, names in walk(self.work):
                if folder.count(os.sep) - top > WORK_DEPTH:
                    return f"the working folder nests folders more than {WORK_DEPTH} deep (quota)"
                files += len(dirs) + len(names)
                for name in names:
                    with contextlib.suppress(OSError):
                        size += os.lstat(os.path.join(folder, name)).st_blocks * 512
                if files > limits.work_files or size > limits.work_bytes:
                    break
        else:  # bubblewrap: the folder is a tmpfs whose size the kernel caps; count its inodes
            self.serving()
            inner = self._inner
            if inner is None:
                return None
            try:
                stats = os.statvfs(f"/proc/{inner}/root{bwrap.INSIDE_WORK}")
            except OSError:
                return None
            files, size = stats.f_files - stats.f_ffree, 0
        if files > limits.work_files:
            return f"the working folder holds more than {limits.work_files} files (quota)"
        if size > limits.work_bytes:
            return f"the working folder holds more than {limits.work_bytes >> 20} MiB (quota)"
        return None

    def _inner_pid(self) -> int | None:
        """Bubblewrap's PID 1 inside the sandbox (the launcher's only child)."""
        if self.process is None:
            return None
        children = _children(self.process.pid)
        return children[0] if children else None

    def cpu_seconds(self) -> float | None:
        return self.group.cpu_seconds() if self.group is not None else None

    def close(self) -> None:
        self.kill_all()
        self.process = None
        if self.group is not None:
            self.group.remove()
            self.group = None
        if self.identity.dedicated and self.isolation.mode == "basic":
            identity.remove_stray_files(self.identity)
        remove_tree(self.folder)
        self.identity.release()
