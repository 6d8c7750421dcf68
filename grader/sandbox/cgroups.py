"""Control groups: one per sandbox, so the kernel counts and fences everything its processes do.

A sandbox's group limits memory the kernel's way (anonymous, shared and tmpfs pages alike), the
number of processes and threads (root included), and CPU (at most one CPU's worth, equal shares
between sandboxes), and lets the grader freeze every process of the sandbox while the reference
is timed and kill all of them at the end, ``setsid`` or not.

Both layouts are supported, detected from ``/proc/self/mountinfo`` and ``/proc/self/cgroup``:

- v1 (one hierarchy per controller, as on our machines): groups are made under this process's
  own group in each of the ``memory``, ``pids``, ``cpu``, ``cpuacct`` and ``freezer`` hierarchies;
- v2 (unified): under this process's group when its controllers can be delegated there, else
  under the hierarchy's root.

Where neither is writable (no root, a container without delegation) ``detect()`` returns None
and the sandbox falls back to resource limits, as the report then says.

Groups are named ``<session>-<n>``: a later grader removes the groups of sessions whose owner
died (see ``grader.sandbox.workspace``).
"""
from __future__ import annotations

import contextlib
import functools
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

GROUP_FOLDER = "dl-grader"            # every sandbox group lives in a folder of this name
V1_CONTROLLERS = ("memory", "pids", "cpu", "cpuacct", "freezer")
V2_CONTROLLERS = ("memory", "pids", "cpu")
CPU_PERIOD_US = 100_000               # CFS period; the quota is Limits.cpus CPUs per period


@dataclass(frozen=True)
class Hierarchy:
    version: int                      # 1 or 2
    folders: dict[str, Path]          # controller -> folder holding the sandbox groups (v2: one, key "")


def _mounts() -> list[tuple[str, str, set[str]]]:
    """(mount point, filesystem type, super options) of every cgroup mount."""
    found = []
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) >= 5 and len(tail) >= 3 and tail[0] in ("cgroup", "cgroup2"):
            found.append((fields[4], tail[0], set(tail[2].split(","))))
    return found


def _own_paths() -> dict[str, str]:
    """Controller -> this process's group path (v1); key "" for the v2 hierarchy."""
    paths = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return paths
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) == 3:
            for controller in (parts[1].split(",") if parts[1] else [""]):
                paths[controller] = parts[2]
    return paths


def _writable_folder(parent: Path) -> Path | None:
    folder = parent / GROUP_FOLDER
    try:
        folder.mkdir(exist_ok=True)
    except OSError:
        return None
    return folder if os.access(folder, os.W_OK) else None


def _detect_v1(mounts, own) -> Hierarchy | None:
    folders = {}
    for controller in V1_CONTROLLERS:
        point = next((m for m, kind, opts in mounts if kind == "cgroup" and controller in opts), None)
        if point is None or controller not in own:
            return None
        folder = _writable_folder(Path(point) / own[controller].lstrip("/"))
        if folder is None:
            return None
        folders[controller] = folder
    return Hierarchy(1, folders)


def _enable(folder: Path) -> bool:
    try:
        available = set((folder / "cgroup.controllers").read_text().split())
        if not set(V2_CONTROLLERS) <= available:
            return False
        (folder / "cgroup.subtree_control").write_text(" ".join("+" + c for c in V2_CONTROLLERS))
        return True
    except OSError:
        return False


def _detect_v2(mounts, own) -> Hierarchy | None:
    point = next((m for m, kind, _ in mounts if kind == "cgroup2"), None)
    if point is None or "" not in own:
        return None
    root = Path(point)
    for parent in dict.fromkeys([root / own[""].lstrip("/"), root]):
        folder = _writable_folder(parent)
        if folder is not None and _enable(parent) and _enable(folder):
            return Hierarchy(2, {"": folder})
    return None


@functools.lru_cache(maxsize=None)
def detect() -> Hierarchy | None:
    """The control-group hierarchy sandboxes can use here, or None."""
    if os.geteuid() != 0 and not os.environ.get("GRADER_TRY_CGROUPS"):
        return None  # an unprivileged grader cannot make groups unless they were delegated to it
    mounts, own = _mounts(), _own_paths()
    return _detect_v1(mounts, own) or _detect_v2(mounts, own)


def describe(hierarchy: Hierarchy | None) -> str:
    return "none" if hierarchy is None else f"v{hierarchy.version}"


class Cgroup:
    """One sandbox's group (in every v1 hierarchy, or one v2 group)."""

    def __init__(self, hierarchy: Hierarchy, name: str, *, memory_bytes: int, processes: int, cpus: float):
        self.hierarchy, self.name = hierarchy, name
        self.paths = {c: folder / name for c, folder in hierarchy.folders.items()}
        for path in self.paths.values():
            path.mkdir(exist_ok=True)
        if hierarchy.version == 1:
            self._write("memory", "memory.limit_in_bytes", memory_bytes)
            self._write("memory", "memory.memsw.limit_in_bytes", memory_bytes, optional=True)  # no swap
            self._write("pids", "pids.max", processes)
            self._write("cpu", "cpu.cfs_period_us", CPU_PERIOD_US)
            self._write("cpu", "cpu.cfs_quota_us", int(cpus * CPU_PERIOD_US))
        else:
            self._write("", "memory.max", memory_bytes)
            self._write("", "memory.swap.max", 0, optional=True)
            self._write("", "pids.max", processes)
            self._write("", "cpu.max", f"{int(cpus * CPU_PERIOD_US)} {CPU_PERIOD_US}")

    @classmethod
    def existing(cls, hierarchy: Hierarchy, name: str) -> "Cgroup":
        """The group `name` as it is (its limits untouched), in the hierarchies that have it."""
        group = cls.__new__(cls)
        group.hierarchy, group.name = hierarchy, name
        group.paths = {c: folder / name for c, folder in hierarchy.folders.items() if (folder / name).is_dir()}
        return group

    # -- files ------------------------------------------------------------------------------
    def _file(self, controller: str, name: str) -> Path:
        return self.paths["" if self.hierarchy.version == 2 else controller] / name

    # Plain system calls: the grader reads a group's processes after every call of a student
    # function and writes the freezer around every timed reference call (pathlib's text files
    # cost ~5 times as much per access).
    def _write(self, controller: str, name: str, value, optional: bool = False) -> None:
        try:
            fd = os.open(self._file(controller, name), os.O_WRONLY)
            try:
                os.write(fd, str(value).encode())
            finally:
                os.close(fd)
        except OSError:
            if not optional:
                raise

    def _read(self, controller: str, name: str) -> str:
        try:
            fd = os.open(self._file(controller, name), os.O_RDONLY)
            try:
                chunks = []
                while chunk := os.read(fd, 1 << 16):
                    chunks.append(chunk)
            finally:
                os.close(fd)
        except OSError:
            return ""
        return b"".join(chunks).decode(errors="replace")

    def procs_files(self) -> list[str]:
        """Where a process writes its pid to join (used between fork and exec)."""
        return [str(path / "cgroup.procs") for path in self.paths.values()]

    def pids(self) -> list[int]:
        controller = "pids" if self.hierarchy.version == 1 else ""
        return [int(p) for p in self._read(controller, "cgroup.procs").split()]

    # -- control ----------------------------------------------------------------------------
    def freeze(self, frozen: bool = True, timeout: float = 2.0) -> bool:
        """Freeze (or thaw) every process of the group; True once the kernel says it is done."""
        if self.hierarchy.version == 1:
            want = "FROZEN" if frozen else "THAWED"
            self._write("freezer", "freezer.state", want)
            done = lambda: self._read("freezer", "freezer.state").strip() == want  # noqa: E731
        else:
            self._write("", "cgroup.freeze", int(frozen))
            done = lambda: f"frozen {int(frozen)}" in self._read("", "cgroup.events")  # noqa: E731
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.0005)
        return True

    def kill_all(self, timeout: float = 5.0) -> bool:
        """SIGKILL every process of the group and wait until it is empty."""
        deadline = time.monotonic() + timeout
        if self.hierarchy.version == 2 and self._file("", "cgroup.kill").exists():
            self._write("", "cgroup.kill", 1, optional=True)
        while True:
            pids = self.pids()
            if not pids:
                return True
            if time.monotonic() > deadline:
                return False
            self.freeze(True, timeout=0.5)  # no forking while we kill
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            self.freeze(False, timeout=0.5)  # killed tasks die once thawed
            time.sleep(0.001)

    def remove(self) -> None:
        """Kill what is left and delete the group."""
        self.kill_all()
        for path in self.paths.values():
            try:
                path.rmdir()
            except OSError:
                pass

    # -- accounting -------------------------------------------------------------------------
    def oom_killed(self) -> bool:
        """Whether the kernel killed a process of this group for memory."""
        if self.hierarchy.version == 1:  # "oom_kill N" in memory.oom_control (Linux >= 4.13)
            stats = dict(line.split() for line in self._read("memory", "memory.oom_control").splitlines() if " " in line)
            return int(stats.get("oom_kill", 0)) > 0
        events = dict(line.split() for line in self._read("", "memory.events").splitlines() if " " in line)
        return int(events.get("oom_kill", 0)) > 0

    def cpu_seconds(self) -> float:
        """CPU time used by every process that ever ran in the group (threads and children included)."""
        if self.hierarchy.version == 1:
            text = self._read("cpuacct", "cpuacct.usage").strip()
            return int(text) / 1e9 if text else 0.0
        stats = dict(line.split() for line in self._read("", "cpu.stat").splitlines() if " " in line)
        return int(stats.get("usage_usec", 0)) / 1e6

    def memory_peak(self) -> int:
        if self.hierarchy.version == 1:
            text = self._read("memory", "memory.max_usage_in_bytes").strip()
        else:
            text = self._read("", "memory.peak").strip()
        return int(text) if text.isdigit() else 0


def remove_groups(hierarchy: Hierarchy | None, prefix: str) -> int:
    """Kill and delete every group whose name starts with `prefix` (leftovers of a dead grader)."""
    names = sorted(n for n in group_names(hierarchy) if n.startswith(prefix))
    for name in names:
        group = Cgroup.existing(hierarchy, name)
        if hierarchy.version == 1 and not {"pids", "freezer"} <= set(group.paths):
            for path in group.paths.values():  # incomplete: nothing can be frozen; try to delete
                with contextlib.suppress(OSError):
                    path.rmdir()
            continue
        group.remove()
    return len(names)


def group_names(hierarchy: Hierarchy | None) -> set[str]:
    """Names of the sandbox groups that exist now (for tests and leftover sweeps)."""
    if hierarchy is None:
        return set()
    names = set()
    for folder in hierarchy.folders.values():
        try:
            names.update(p.name for p in folder.iterdir() if p.is_dir())
        except OSError:
            pass
    return names
