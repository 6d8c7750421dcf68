"""The bubblewrap command line of a sandbox, and the files it mounts.

Mount order matters (later mounts cover earlier ones): system folders, then /proc, /dev and the
size-limited tmpfs, then the Python installation, then an empty tmpfs over every hidden path,
then the Python folders that lie inside a hidden path again (a virtual environment inside the
course folder, say), then the runtime and the student's files. As root, no user namespace is
made and ``setpriv`` drops the child to the sandbox's own uid; unprivileged, bubblewrap maps the
grader's uid into a user namespace and drops every capability itself.
"""
from __future__ import annotations

import atexit
import functools
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

from .. import SINGLE_THREADED
from . import identity, seccomp_filter
from .limits import Limits
from .workspace import Session

RUNTIME_SOURCE = Path(__file__).with_name("runtime")
INSIDE_RUNTIME = "/grader-runtime"
INSIDE_FILES = "/submission-files"    # the student's files, read-only
INSIDE_WORK = "/submission"           # the working folder: a size-limited tmpfs


# What each allowed module needs in site-packages besides its own folder (and its .dist-info).
COMPANIONS = {"numpy": ("numpy.libs",), "cupy": ("cupy_backends", "cupyx", "fastrlock")}


def child_environment(device: str, home: str, imports: tuple[str, ...] | None = None) -> dict[str, str]:
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "TMPDIR": home, "LANG": "C.UTF-8",
           "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0", **SINGLE_THREADED}
    if imports is not None:  # read by the runtime's import rule (runtime/child.py)
        env["GRADER_ALLOWED_IMPORTS"] = ",".join(imports)
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


def _site_view(imports: tuple[str, ...], roots: list[str]) -> list[str]:
    """Mounts that leave, in every site-packages folder of the Python installation, only the
    allowed modules (and their companions and metadata): other installed packages are absent."""
    wanted = set(imports) | {c for m in imports for c in COMPANIONS.get(m, ())}
    mounts = []
    for site in sorted({p for p in sys.path if p.endswith(("site-packages", "dist-packages"))}):
        if not (os.path.isdir(site) and _under(site, roots + ["/usr"])):
            continue
        mounts += ["--tmpfs", site]
        for entry in sorted(os.listdir(site)):
            base = entry.split("-")[0] if entry.endswith(".dist-info") else entry.split(".")[0]
            if entry in wanted or base in wanted:
                mounts += ["--ro-bind", os.path.join(site, entry), os.path.join(site, entry)]
    return mounts


def argv(files: Path, device: str, limits: Limits, hide: tuple[str, ...], ident: identity.Identity,
         seccomp_fd: int | None, imports: tuple[str, ...] | None = None) -> list[str]:
    """The bubblewrap command line (mounts in the order the module docstring gives), ending with
    the privilege drop when the grader is root; the caller appends the child's command."""
    command = ["bwrap", "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
               "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--clearenv"]
    if os.geteuid() != 0:
        command += ["--unshare-user"]  # unprivileged: a user namespace; bubblewrap drops all capabilities
    bound = []
    for top in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc"):
        if os.path.islink(top):
            command += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            command += ["--ro-bind", top, top]
            bound.append(top)
    command += ["--proc", "/proc", "--dev", "/dev",
                "--perms", "1777", "--size", str(limits.tmp_bytes), "--tmpfs", "/tmp",
                "--perms", "1777", "--size", str(limits.tmp_bytes), "--tmpfs", "/dev/shm"]
    roots = [r for r in _python_roots() if not _under(r, bound)]
    # parents of mount points would be made 0700 as root: make them passable for the sandbox uid
    parents = {str(p) for r in roots for p in Path(r).parents if str(p) != "/" and not _under(str(p), bound)}
    for parent in sorted(parents, key=lambda p: p.count("/")):
        command += ["--perms", "0755", "--dir", parent]
    for root in roots:
        command += ["--ro-bind", root, root]
    hidden = [p for p in hide if _under(p, bound + roots + ["/tmp"])]
    for path in hidden:
        command += ["--tmpfs", path]
    for root in roots:
        if _under(root, hidden):
            command += ["--ro-bind", root, root]
    if imports is not None:
        command += _site_view(imports, roots)
    command += ["--ro-bind", str(runtime_copy()), INSIDE_RUNTIME, "--ro-bind", str(files), INSIDE_FILES,
                "--perms", "0777", "--size", str(limits.work_bytes), "--tmpfs", INSIDE_WORK, "--chdir", INSIDE_WORK]
    if device == "gpu":
        for node in sorted(Path("/dev").glob("nvidia*")):
            command += ["--dev-bind", str(node), str(node)]
        command += ["--ro-bind", "/sys", "/sys"]
    for key, value in child_environment(device, INSIDE_WORK, imports).items():
        command += ["--setenv", key, value]
    if seccomp_fd is not None:
        command += ["--seccomp", str(seccomp_fd)]
    if ident.dedicated:
        command += _drop_privileges_argv(ident)
    return command


@functools.lru_cache(maxsize=None)
def runtime_copy() -> Path:
    """A private copy of the child's runtime files (the sandbox mounts only this); readable by
    sandbox uids, writable by nobody but the grader. It lives in a session folder of its own
    (``workspace.Session``) for as long as this process: deleted at exit, and swept by the next
    grader if this process is killed, so a crashed worker leaves no copy behind."""
    session = Session()
    atexit.register(session.close)   # also what keeps the session (and its lock) alive
    folder = session.folder / "runtime"
    folder.mkdir()
    for name in ("child.py", "wire.py", "values.py"):
        shutil.copy(RUNTIME_SOURCE / name, folder / name)
        os.chmod(folder / name, 0o644)
    os.chmod(folder, 0o755)
    return folder


# Whether bubblewrap started a sandbox in this process, per device: set by the first real start
# (the runtime's "started" frame arrives, or bubblewrap exits before it: ``proxy``), or by the
# explicit probe (``works``). A success is final; a failure is recorded only while nothing succeeded.
_VERDICTS: dict[str, bool] = {}


def installed() -> bool:
    """bubblewrap is on the PATH (and, as root, setpriv, which drops the child's privileges)."""
    return shutil.which("bwrap") is not None and (os.geteuid() != 0 or shutil.which("setpriv") is not None)


def verdict(device: str) -> bool | None:
    """Whether bubblewrap can start a sandbox here, as learnt in this process (None: not tried yet)."""
    return _VERDICTS.get(device)


def record(device: str, started: bool) -> None:
    """What a start of a bubblewrap sandbox showed: it started (final), or it could not start."""
    if started or _VERDICTS.get(device) is not True:
        _VERDICTS[device] = started


def works(device: str) -> bool:
    """Whether a bubblewrap sandbox (as configured for grading: namespaces, mounts, seccomp, the
    privilege drop) can start this Python and read numpy's package here: the verdict of this
    process's starts, else an explicit probe (for a long-lived service's start-up message, and the
    tests). Gradings do not probe: their first real start tells (``proxy.SandboxedModule.ready``).
    The probe's Python skips `site` and opens numpy's ``__init__.py``: ~20 ms of CPU, not ~300."""
    if not installed():
        return False
    if verdict(device) is None:
        record(device, _probe(device))
    return bool(verdict(device))


def _probe(device: str) -> bool:
    ident = identity.acquire()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            os.chmod(tmp, 0o755)
            seccomp_fd = seccomp_filter.program_fd() if seccomp_filter.available() else None
            try:
                command = argv(Path(tmp), device, Limits(), (), ident, seccomp_fd)
                import numpy
                command += [sys.executable, "-I", "-S", "-c", f"open({numpy.__file__!r}, 'rb').close()"]
                done = subprocess.run(command, capture_output=True, timeout=60,
                                      pass_fds=() if seccomp_fd is None else (seccomp_fd,))
            except (OSError, subprocess.TimeoutExpired):
                return False
            finally:
                if seccomp_fd is not None:
                    os.close(seccomp_fd)
            return done.returncode == 0
    finally:
        ident.release()



