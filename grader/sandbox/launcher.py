"""Start sandboxed children: the isolation in force, its command line, and one sandbox's life.

Two modes, resolved once per grading (``resolve_isolation``) and named in every report:

- **bubblewrap**: a new root built from an allowlist (system folders, the Python installation,
  the runtime, the student's files read-only), every namespace unshared (no network, its own
  PIDs: when the sandbox ends, everything in it ends), ``solutions/``, hidden tests, other
  students and the grader's outputs simply absent; the student's working folder and ``/tmp``
  are size-limited tmpfs that vanish with the sandbox. As root, bubblewrap runs without a user
  namespace and ``setpriv`` drops the child to the sandbox's own unprivileged host uid with no
  capabilities, an empty bounding set and ``no_new_privs``; unprivileged, bubblewrap maps the
  grader's uid into a user namespace and drops every capability itself.
- **basic** (no bubblewrap): a scrubbed environment in a private working folder. As root the
  child still runs as the sandbox's own uid under the seccomp filter; ``solutions/`` and the
  grader's outputs are closed to other users (mode ``go-rwx``). As a normal user nothing hides
  ``solutions/`` from the child, and the reports say so.

In both modes, where control groups are available (``cgroups``), each sandbox has one: memory
counted the kernel's way, a process cap, a CPU quota, freezing and killing of every process.
Memory is also limited with ``RLIMIT_DATA`` (a clean ``MemoryError`` for big allocations), not
``RLIMIT_AS``: CUDA reserves a huge virtual address space at initialisation.
"""
from __future__ import annotations

import atexit
import fcntl
import functools
import os
import resource
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from . import cgroups, identity, seccomp_filter

RUNTIME_SOURCE = Path(__file__).with_name("runtime")
INSIDE_RUNTIME = "/grader-runtime"
INSIDE_FILES = "/submission-files"    # the student's files, read-only (bubblewrap)
INSIDE_WORK = "/submission"           # the working folder: a size-limited tmpfs (bubblewrap)
ADDRESS_SPACE_MARGIN = 1 << 30        # RLIMIT_AS above the memory limit, where there is no control group


@dataclass(frozen=True)
class Limits:
    memory_bytes: int = 2 << 30          # per sandbox: control group (all pages) and RLIMIT_DATA
    processes: int = 64                  # processes and threads per sandbox (pids group, RLIMIT_NPROC)
    cpus: float = 1.0                    # CPU quota per sandbox, in CPUs (control group)
    tmp_bytes: int = 256 << 20           # size of the child's /tmp (bubblewrap tmpfs)
    work_bytes: int = 256 << 20          # size quota of the working folder
    work_files: int = 10_000             # file-count quota of the working folder
    cpu_seconds: int = 600               # RLIMIT_CPU over the child's whole life (a backstop)
    file_bytes: int = 64 << 20           # RLIMIT_FSIZE
    open_files: int = 256                # RLIMIT_NOFILE
    import_timeout: float = 20.0         # wall seconds for start-up and import
    output_bytes: int = 32 << 10         # captured stdout/stderr kept per child
    reply_bytes: int = 128 << 20         # largest reply accepted (the grader holds ~2x a reply while decoding;
                                         # the biggest legitimate one, a timed conv output, is ~10 MiB)


@dataclass(frozen=True)
class SandboxConfig:
    mode: str = "auto"                   # "auto" | "bubblewrap" | "basic"
    device: str = "cpu"                  # "cpu" | "gpu"
    limits: Limits = field(default_factory=Limits)
    hide: tuple[str, ...] = ()           # paths that must not exist inside (course root, outputs)
    protect: tuple[str, ...] = ()        # basic mode as root: folders closed to other users (solutions/)


@dataclass(frozen=True)
class Isolation:
    """The isolation actually in force, as reports and results.json name it."""
    mode: str                            # "bubblewrap" | "basic"
    dedicated_uid: bool                  # child runs as a reserved unprivileged host uid
    uid: str                             # "dedicated" | "grader's uid (N)"
    seccomp: bool
    cgroup: str                          # "v1" | "v2" | "none"
    hides_solutions: bool

    @property
    def fences(self) -> str:
        if self.cgroup == "none":
            return "resource limits only (RLIMIT_DATA/NPROC/CPU/FSIZE; no control groups)"
        return f"control group {self.cgroup} (memory incl. shared and tmpfs, processes, CPU quota, freeze)"

    def describe(self) -> str:
        parts = [self.mode, f"uid: {self.uid}", "seccomp" if self.seccomp else "no seccomp", self.fences]
        if self.mode == "basic":
            parts.append("no bubblewrap: the file system is visible to student code" +
                         ("" if self.hides_solutions else ", solutions/ included"))
        return " · ".join(parts)

    def as_dict(self) -> dict:
        return {"mode": self.mode, "uid": self.uid, "seccomp": self.seccomp, "cgroup": self.cgroup,
                "fences": self.fences, "hides_solutions": self.hides_solutions, "summary": self.describe()}


def child_environment(device: str, home: str) -> dict[str, str]:
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "TMPDIR": "/tmp", "LANG": "C.UTF-8",
           "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
           # one thread each: fair timings, and parallel batch workers do not oversubscribe
           "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    if device == "gpu":
        env["CUPY_CACHE_DIR"] = "/tmp/cupy-cache"
        for key in ("CUDA_VISIBLE_DEVICES", "CUDA_PATH", "LD_LIBRARY_PATH"):
            if key in os.environ:
                env[key] = os.environ[key]
    return env


@functools.lru_cache(maxsize=None)
def _python_roots() -> tuple[str, ...]:
    """Folders the child's Python needs: the installation and where numpy (and cupy) live."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        roots.add(sysconfig.get_paths()[key])
    import numpy
    roots.add(str(Path(numpy.__file__).resolve().parents[1]))
    try:
        import cupy  # noqa: F401
        roots.add(str(Path(cupy.__file__).resolve().parents[1]))
    except Exception:
        pass
    return tuple(sorted(r for r in roots if os.path.exists(r)))


def _under(path: str, folders: list[str]) -> bool:
    return any(path == f or path.startswith(f.rstrip("/") + "/") for f in folders)


def _drop_privileges_argv(ident: identity.Identity) -> list[str]:
    """setpriv (util-linux): become the sandbox uid with no capabilities at all."""
    return ["setpriv", f"--reuid={ident.uid}", f"--regid={ident.gid}", "--clear-groups",
            "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]


def _bwrap_argv(files: Path, config: SandboxConfig, ident: identity.Identity,
                seccomp_fd: int | None) -> list[str]:
    """The bubblewrap command line. Mount order matters (later mounts cover earlier ones):
    system folders, then /proc, /dev and size-limited tmpfs, then the Python installation, then
    an empty tmpfs over every hidden path, then the Python folders that lie inside a hidden path
    again (a virtual environment inside the course folder, say), then runtime and files."""
    limits = config.limits
    argv = ["bwrap", "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
            "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--clearenv"]
    if os.geteuid() != 0:
        argv += ["--unshare-user"]  # unprivileged: a user namespace; bubblewrap drops all capabilities
    bound = []
    for top in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc"):
        if os.path.islink(top):
            argv += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            argv += ["--ro-bind", top, top]
            bound.append(top)
    argv += ["--proc", "/proc", "--dev", "/dev",
             "--perms", "1777", "--size", str(limits.tmp_bytes), "--tmpfs", "/tmp",
             "--perms", "1777", "--size", str(limits.tmp_bytes), "--tmpfs", "/dev/shm"]
    roots = [r for r in _python_roots() if not _under(r, bound)]
    # parents of mount points would be made 0700 as root: make them passable for the sandbox uid
    parents = {str(p) for r in roots for p in Path(r).parents if str(p) != "/" and not _under(str(p), bound)}
    for parent in sorted(parents, key=lambda p: p.count("/")):
        argv += ["--perms", "0755", "--dir", parent]
    for root in roots:
        argv += ["--ro-bind", root, root]
    hidden = [p for p in config.hide if _under(p, bound + roots + ["/tmp"])]
    for path in hidden:
        argv += ["--tmpfs", path]
    for root in roots:
        if _under(root, hidden):
            argv += ["--ro-bind", root, root]
    argv += ["--ro-bind", str(runtime_copy()), INSIDE_RUNTIME, "--ro-bind", str(files), INSIDE_FILES,
             "--perms", "0777", "--size", str(limits.work_bytes), "--tmpfs", INSIDE_WORK, "--chdir", INSIDE_WORK]
    if config.device == "gpu":
        for node in sorted(Path("/dev").glob("nvidia*")):
            argv += ["--dev-bind", str(node), str(node)]
        argv += ["--ro-bind", "/sys", "/sys"]
    for key, value in child_environment(config.device, INSIDE_WORK).items():
        argv += ["--setenv", key, value]
    if seccomp_fd is not None:
        argv += ["--seccomp", str(seccomp_fd)]
    if ident.dedicated:
        argv += _drop_privileges_argv(ident)
    return argv


@functools.lru_cache(maxsize=None)
def runtime_copy() -> Path:
    """A private copy of the child's runtime files (the sandbox mounts only this); readable by
    sandbox uids, writable by nobody but the grader."""
    folder = Path(tempfile.mkdtemp(prefix="grader-runtime-"))
    atexit.register(shutil.rmtree, folder, True)
    for name in ("child.py", "wire.py"):
        shutil.copy(RUNTIME_SOURCE / name, folder / name)
        os.chmod(folder / name, 0o644)
    os.chmod(folder, 0o755)
    return folder


@functools.lru_cache(maxsize=None)
def bubblewrap_works(device: str = "cpu") -> bool:
    """Whether a bubblewrap sandbox (as configured for grading) can start Python with numpy here."""
    if shutil.which("bwrap") is None or (os.geteuid() == 0 and shutil.which("setpriv") is None):
        return False
    ident = identity.acquire()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            os.chmod(tmp, 0o755)
            seccomp_fd = seccomp_filter.program_fd() if seccomp_filter.available() else None
            try:
                argv = _bwrap_argv(Path(tmp), SandboxConfig(device=device), ident, seccomp_fd)
                argv += [sys.executable, "-I", "-c", "import numpy"]
                done = subprocess.run(argv, capture_output=True, timeout=60,
                                      pass_fds=() if seccomp_fd is None else (seccomp_fd,))
            except (OSError, subprocess.TimeoutExpired):
                return False
            finally:
                if seccomp_fd is not None:
                    os.close(seccomp_fd)
            return done.returncode == 0
    finally:
        ident.release()


@functools.lru_cache(maxsize=None)
def resolve_isolation(mode: str = "auto", device: str = "cpu") -> Isolation:
    """What isolation a sandbox gets here for the requested mode (probed once per process)."""
    if mode not in ("auto", "bubblewrap", "basic"):
        raise ValueError(f"unknown sandbox mode {mode!r}")
    resolved = "basic"
    if mode != "basic" and bubblewrap_works(device):
        resolved = "bubblewrap"
    elif mode == "bubblewrap":
        raise RuntimeError("bubblewrap was asked for but cannot start a sandbox on this machine")
    root = os.geteuid() == 0
    return Isolation(mode=resolved, dedicated_uid=root,
                     uid="dedicated unprivileged uid" if root else f"grader's uid ({os.getuid()})",
                     seccomp=seccomp_filter.available(), cgroup=cgroups.describe(cgroups.detect()),
                     hides_solutions=resolved == "bubblewrap" or root)


def resolve_mode(config: SandboxConfig) -> str:
    return resolve_isolation(config.mode, config.device).mode


def protect_folders(paths: tuple[str, ...]) -> None:
    """Basic mode as root: close `paths` to group and others (their owner keeps every right),
    so a sandbox uid cannot read the reference solution, hidden tests or other students' reports."""
    for path in paths:
        try:
            info = os.lstat(path)
        except OSError:
            continue
        if os.path.isdir(path) and not os.path.islink(path) and info.st_mode & 0o077:
            os.chmod(path, info.st_mode & 0o7700)


def _widen_pipe(fd: int) -> None:
    """Ask for a 1 MiB pipe buffer (Linux): big arrays cross in far fewer context switches."""
    try:
        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    except OSError:
        pass


def _prepare_child(limits: Limits, nproc: int, procs_files: list[str], seccomp, address_space: int | None):
    """What runs in the forked child before exec: join the control group (before anything else
    can fork), set the resource limits, then (basic mode) load the seccomp filter (with
    ``no_new_privs``). Only plain system calls: os.open/os.write, setrlimit, the libseccomp load."""
    def apply() -> None:
        pid = str(os.getpid()).encode()
        for path in procs_files:
            fd = os.open(path, os.O_WRONLY)
            try:
                os.write(fd, pid)
            finally:
                os.close(fd)
        resource.setrlimit(resource.RLIMIT_DATA, (limits.memory_bytes, limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
        resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        if address_space is not None:
            resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
        if seccomp is not None:
            seccomp.load()  # sets no_new_privs first (libseccomp's default)
    return apply


def _address_space_limit(config: SandboxConfig, group: cgroups.Cgroup | None) -> int | None:
    """Without a control group, RLIMIT_DATA misses shared mappings: on the CPU, cap the address
    space too (the interpreter, NumPy and OpenBLAS map about 1 GiB they never touch). Never on a
    GPU, where CUDA reserves far more address space than it uses."""
    if group is not None or config.device == "gpu":
        return None
    return config.limits.memory_bytes + ADDRESS_SPACE_MARGIN


def _user_process_count(uid: int) -> int:
    return len(identity.processes_of(uid))


def spawn(files: Path, work: Path | None, module: str, config: SandboxConfig, isolation: Isolation,
          ident: identity.Identity, group: cgroups.Cgroup | None) -> subprocess.Popen:
    """Start the child for `module`; return the process with ``request_fd``/``reply_fd`` set.

    bubblewrap: `files` is mounted read-only and copied by the runtime into the tmpfs working
    folder; basic: `work` is the (already filled) working folder on the host.
    """
    req_read, req_write = os.pipe()
    rep_read, rep_write = os.pipe()
    for fd in (req_write, rep_write):
        _widen_pipe(fd)
    pass_fds = [req_read, rep_write]
    seccomp_fd = None
    limits = config.limits
    try:
        if isolation.mode == "bubblewrap":
            if isolation.seccomp:
                seccomp_fd = seccomp_filter.program_fd()
                pass_fds.append(seccomp_fd)
            prefix = _bwrap_argv(files, config, ident, seccomp_fd)
            child_args = [f"{INSIDE_RUNTIME}/child.py", INSIDE_WORK, INSIDE_FILES]
            env, cwd, seccomp = None, str(files), None
        else:
            prefix = []
            child_args = [str(runtime_copy() / "child.py"), str(work), "-"]
            env, cwd = child_environment(config.device, str(work)), str(work)
            seccomp = seccomp_filter.build_filter() if isolation.seccomp else None
        # a dedicated uid runs nothing else: the limit is exact; otherwise count what this uid runs
        nproc = limits.processes if ident.dedicated else _user_process_count(ident.uid) + limits.processes
        argv = prefix + [sys.executable, "-I", "-u", *child_args, module, str(req_read), str(rep_write),
                         config.device]
        if isolation.mode == "basic" and ident.dedicated:  # the runtime drops to the sandbox uid
            argv.append(f"{ident.uid}:{ident.gid}")        # before it imports any student code
        process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            pass_fds=tuple(pass_fds), cwd=cwd, env=env, start_new_session=True,
            preexec_fn=_prepare_child(limits, nproc, group.procs_files() if group else [], seccomp,
                                     _address_space_limit(config, group)))
    except BaseException:
        os.close(req_write)
        os.close(rep_read)
        raise
    finally:
        for fd in (req_read, rep_write, seccomp_fd):
            if fd is not None:
                os.close(fd)
    process.request_fd, process.reply_fd = req_write, rep_read
    return process


def kill_process_group(process: subprocess.Popen) -> None:
    """SIGKILL the child's process group (the launcher; what is inside dies with the sandbox)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


__all__ = ["Limits", "SandboxConfig", "Isolation", "resolve_isolation", "resolve_mode", "spawn",
           "protect_folders", "bubblewrap_works", "kill_process_group"]
