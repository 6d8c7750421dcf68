"""Start the sandboxed child: bubblewrap when it works here, "basic" otherwise.

Bubblewrap mode builds a new root from an allowlist (system libraries, /etc, the Python
installation, the student's folder) with every namespace unshared: no network, and
``solutions/``, hidden tests, other students' submissions and the grader's outputs simply do
not exist inside. Basic mode only scrubs the environment and sets resource limits; every
report names the mode.

Memory is limited with ``RLIMIT_DATA`` (private writable memory), not ``RLIMIT_AS``: CUDA
reserves a huge virtual address space at initialisation, which an address-space limit breaks.
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

RUNTIME_SOURCE = Path(__file__).with_name("runtime")
INSIDE_RUNTIME = "/grader-runtime"
INSIDE_WORK = "/submission"


@dataclass(frozen=True)
class Limits:
    memory_bytes: int = 2 << 30          # RLIMIT_DATA: private writable memory
    cpu_seconds: int = 600               # RLIMIT_CPU over the child's whole life (a backstop)
    file_bytes: int = 64 << 20           # RLIMIT_FSIZE
    open_files: int = 256                # RLIMIT_NOFILE
    extra_processes: int = 64            # RLIMIT_NPROC above what this user already runs
    import_timeout: float = 20.0         # wall seconds for start-up and import
    output_bytes: int = 32 << 10         # captured stdout/stderr kept per child
    reply_bytes: int = 512 << 20         # largest reply accepted


@dataclass(frozen=True)
class SandboxConfig:
    mode: str = "auto"                   # "auto" | "bubblewrap" | "basic"
    device: str = "cpu"                  # "cpu" | "gpu"
    limits: Limits = field(default_factory=Limits)
    hide: tuple[str, ...] = ()           # paths that must not exist inside (course root, outputs)


def child_environment(device: str) -> dict[str, str]:
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": INSIDE_WORK, "LANG": "C.UTF-8",
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


def _bwrap_argv(work: Path, runtime: Path, config: SandboxConfig) -> list[str]:
    """The bubblewrap command line. Mount order matters (later mounts cover earlier ones):
    system folders, then /proc, /dev and an empty /tmp, then the Python installation, then an
    empty tmpfs over every hidden path, then the Python folders that lie inside a hidden path
    again (a virtual environment inside the course folder, say), then runtime and work."""
    argv = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--clearenv"]
    bound = []
    for top in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc"):
        if os.path.islink(top):
            argv += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            argv += ["--ro-bind", top, top]
            bound.append(top)
    argv += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    roots = [r for r in _python_roots() if not _under(r, bound)]
    for root in roots:
        argv += ["--ro-bind", root, root]
    hidden = [p for p in config.hide if _under(p, bound + roots + ["/tmp"])]
    for path in hidden:
        argv += ["--tmpfs", path]
    for root in roots:
        if _under(root, hidden):
            argv += ["--ro-bind", root, root]
    argv += ["--ro-bind", str(runtime), INSIDE_RUNTIME, "--bind", str(work), INSIDE_WORK,
             "--chdir", INSIDE_WORK]
    if config.device == "gpu":
        for node in sorted(Path("/dev").glob("nvidia*")):
            argv += ["--dev-bind", str(node), str(node)]
        argv += ["--ro-bind", "/sys", "/sys"]
    for key, value in child_environment(config.device).items():
        argv += ["--setenv", key, value]
    return argv


@functools.lru_cache(maxsize=None)
def runtime_copy() -> Path:
    """A private copy of the child's runtime files (the sandbox mounts only this)."""
    folder = Path(tempfile.mkdtemp(prefix="grader-runtime-"))
    atexit.register(shutil.rmtree, folder, True)
    for name in ("child.py", "wire.py"):
        shutil.copy(RUNTIME_SOURCE / name, folder / name)
    return folder


def _user_process_count() -> int:
    uid = os.getuid()
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += 1
            except OSError:
                pass
    return count


def _set_limits(limits: Limits, nproc: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_DATA, (limits.memory_bytes, limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
        resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    return apply


@functools.lru_cache(maxsize=None)
def bubblewrap_works(device: str = "cpu") -> bool:
    """Whether a bubblewrap sandbox can start Python with numpy on this machine."""
    if shutil.which("bwrap") is None:
        return False
    with tempfile.TemporaryDirectory() as tmp:
        argv = _bwrap_argv(Path(tmp), runtime_copy(), SandboxConfig(device=device))
        argv += [sys.executable, "-I", "-c", "import numpy"]
        try:
            done = subprocess.run(argv, capture_output=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            return False
        return done.returncode == 0


def resolve_mode(config: SandboxConfig) -> str:
    if config.mode == "basic":
        return "basic"
    if bubblewrap_works(config.device):
        return "bubblewrap"
    if config.mode == "bubblewrap":
        raise RuntimeError("bubblewrap was asked for but cannot start a sandbox on this machine")
    return "basic"


def _widen_pipe(fd: int) -> None:
    """Ask for a 1 MiB pipe buffer (Linux): big arrays cross in far fewer context switches."""
    try:
        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    except OSError:
        pass


def spawn(work: Path, module: str, config: SandboxConfig, mode: str) -> tuple[subprocess.Popen, int, int]:
    """Start the child for `module` in folder `work`; return (process, request fd, reply fd)."""
    req_read, req_write = os.pipe()
    rep_read, rep_write = os.pipe()
    for fd in (req_write, rep_write):
        _widen_pipe(fd)
    runtime = runtime_copy()
    if mode == "bubblewrap":
        prefix = _bwrap_argv(work, runtime, config)
        child_args = [f"{INSIDE_RUNTIME}/child.py", INSIDE_WORK]
        env = None
    else:
        prefix = []
        child_args = [str(runtime / "child.py"), str(work)]
        env = child_environment(config.device)
    argv = prefix + [sys.executable, "-I", "-u", *child_args, module, str(req_read), str(rep_write), config.device]
    nproc = _user_process_count() + config.limits.extra_processes
    try:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, pass_fds=(req_read, rep_write),
                                   cwd=str(work), env=env, start_new_session=True,
                                   preexec_fn=_set_limits(config.limits, nproc))
    finally:
        os.close(req_read)
        os.close(rep_write)
    return process, req_write, rep_read


def kill(process: subprocess.Popen) -> None:
    """SIGKILL the child's whole process group (a child that ignores signals still dies)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
