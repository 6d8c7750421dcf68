"""Start one sandboxed child: its command line, its limits, its control group, its identity.

The isolation in force comes resolved in the ``SandboxConfig`` (see ``config``): bubblewrap
(``bwrap.argv``) or basic (a scrubbed environment in a private working folder; as root the
runtime drops to the sandbox's uid before it imports student code). Between fork and exec the
child joins its control group, takes its resource limits and, in basic mode, the seccomp filter.
Memory is also limited with ``RLIMIT_DATA`` (a clean ``MemoryError`` for big allocations), not
``RLIMIT_AS``, except on the CPU where there is no control group: CUDA reserves a huge virtual
address space at initialisation.
"""
from __future__ import annotations

import fcntl
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

from . import bwrap, cgroups, identity, seccomp_filter
from .config import SandboxConfig
from .limits import Limits

ADDRESS_SPACE_MARGIN = 1 << 30        # RLIMIT_AS above the memory limit, where there is no control group


def protect_folders(paths: tuple[str, ...]) -> None:
    """Basic mode as root: close `paths` (made if missing) to group and others (their owner keeps
    every right), so a sandbox uid cannot read the course (reference solutions, hidden tests, the
    git history that holds them, example submissions) or the grader's outputs. The child needs
    nothing inside: it reaches its Python installation through descriptors opened as root."""
    for path in paths:
        os.makedirs(path, exist_ok=True)
        try:
            info = os.lstat(path)
        except OSError:
            continue
        if os.path.isdir(path) and not os.path.islink(path) and info.st_mode & 0o077:
            os.chmod(path, info.st_mode & 0o7700)


def widen_pipe(fd: int) -> None:
    """Ask for a 1 MiB pipe buffer (Linux): big arrays cross in far fewer context switches."""
    try:
        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    except OSError:
        pass


def join_group(procs_files: list[str]) -> None:
    """Move this process into a control group (``Cgroup.procs_files``), with plain system calls:
    it runs between fork and exec, and in a fork of the grader (``forked``)."""
    pid = str(os.getpid()).encode()
    for path in procs_files:
        fd = os.open(path, os.O_WRONLY)
        try:
            os.write(fd, pid)
        finally:
            os.close(fd)


def _prepare_child(limits: Limits, nproc: int, procs_files: list[str], seccomp, address_space: int | None):
    """What runs in the forked child before exec: join the control group (before anything else
    can fork), set the resource limits, then (basic mode) load the seccomp filter (with
    ``no_new_privs``). Only plain system calls: os.open/os.write, setrlimit, the libseccomp load."""
    def apply() -> None:
        join_group(procs_files)
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


def spawn(files: Path, work: Path | None, module: str, config: SandboxConfig,
          ident: identity.Identity, group: cgroups.Cgroup | None,
          imports: tuple[str, ...] | None = None) -> subprocess.Popen:
    """Start the child for `module`; return the process with ``request_fd``/``reply_fd`` set.

    bubblewrap: `files` is mounted read-only and copied by the runtime into the tmpfs working
    folder; basic: `work` is the (already filled) working folder on the host. `imports`: the
    third-party modules the child may import besides the standard library (None: all).
    """
    req_read, req_write = os.pipe()
    rep_read, rep_write = os.pipe()
    for fd in (req_write, rep_write):
        widen_pipe(fd)
    pass_fds = [req_read, rep_write]
    seccomp_fd = None
    limits, isolation = config.limits, config.isolation
    try:
        if isolation.mode == "bubblewrap":
            if isolation.seccomp:
                seccomp_fd = seccomp_filter.program_fd()
                pass_fds.append(seccomp_fd)
            prefix = bwrap.argv(files, config.device, limits, config.hide, ident, seccomp_fd, imports)
            child_args = [f"{bwrap.INSIDE_RUNTIME}/child.py", bwrap.INSIDE_WORK, bwrap.INSIDE_FILES]
            env, cwd, seccomp = None, str(files), None
        else:
            prefix = []
            child_args = [str(bwrap.runtime_copy() / "child.py"), str(work), "-"]
            env, cwd = bwrap.child_environment(config.device, str(work), imports), str(work)
            seccomp = seccomp_filter.build_filter() if isolation.seccomp else None
        # a dedicated uid runs nothing else: the limit is exact; otherwise count what this uid runs
        nproc = limits.processes if ident.dedicated else len(identity.processes_of(ident.uid)) + limits.processes
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


