"""The seccomp filter every sandboxed child runs under, built with libseccomp (``pyseccomp``).

Allow by default and refuse, with ``EPERM``, the system calls a numerical homework never needs
and an escape always does: mounting and changing roots, tracing other processes, keyrings,
BPF, perf events, kexec and kernel modules, swap, reboot and clock setting, and every way of
entering or creating a namespace (``unshare``, ``setns``, ``clone`` with a ``CLONE_NEW*`` flag).
``clone3`` passes its flags in memory a filter cannot read, so it fails with ``ENOSYS``: the C
library then falls back to ``clone``, whose flags the filter does see. System V and POSIX IPC
objects (which would outlive a basic-mode sandbox), io_uring, and every socket family but
``AF_UNIX`` (no network, even where there is no network namespace) are refused too.

The filter is compiled once in the grader (trusted side) and handed over as a BPF program:
to bubblewrap through ``--seccomp FD``, or loaded just before ``exec`` in basic mode.
"""
from __future__ import annotations

import errno
import functools
import os
import socket
import tempfile

DENIED = (
    "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen", "fsconfig",
    "fsmount", "fspick", "mount_setattr",
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    "keyctl", "add_key", "request_key",
    "bpf", "perf_event_open", "userfaultfd",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "unshare", "setns",
    # inter-process objects outlive the process in basic mode (no IPC namespace there)
    "shmget", "shmat", "shmctl", "shmdt", "msgget", "msgsnd", "msgrcv", "msgctl", "semget", "semop",
    "semtimedop", "semctl", "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify",
    "mq_getsetattr",
    "io_uring_setup", "io_uring_enter", "io_uring_register", "modify_ldt",
    "swapon", "swapoff", "reboot", "acct", "quotactl", "settimeofday", "clock_settime",
    "clock_adjtime", "adjtimex", "syslog", "open_by_handle_at", "name_to_handle_at",
    "lookup_dcookie", "vhangup", "iopl", "ioperm", "personality",
)
NAMESPACE_FLAGS = {  # CLONE_NEW* bits of clone(2)'s flags argument
    "CLONE_NEWNS": 0x00020000, "CLONE_NEWCGROUP": 0x02000000, "CLONE_NEWUTS": 0x04000000,
    "CLONE_NEWIPC": 0x08000000, "CLONE_NEWUSER": 0x10000000, "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000,
}


def _library():
    """The libseccomp binding: ``pyseccomp`` (PyPI), else Debian's ``python3-seccomp``."""
    try:
        import pyseccomp as seccomp
    except ImportError:
        try:
            import seccomp  # type: ignore[no-redef]
        except ImportError:
            return None
    return seccomp


def build_filter():
    """A libseccomp ``SyscallFilter`` (not yet loaded), or None when libseccomp is unusable."""
    seccomp = _library()
    if seccomp is None:
        return None
    try:
        flt = seccomp.SyscallFilter(seccomp.ALLOW)
        for name in DENIED:
            try:
                flt.add_rule(seccomp.ERRNO(errno.EPERM), name)
            except (RuntimeError, ValueError, OSError):  # a call this kernel/architecture lacks
                pass
        for bit in NAMESPACE_FLAGS.values():
            flt.add_rule(seccomp.ERRNO(errno.EPERM), "clone", seccomp.Arg(0, seccomp.MASKED_EQ, bit, bit))
        flt.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
        for call in ("socket", "socketpair"):  # local (AF_UNIX) sockets only: no network in any mode
            flt.add_rule(seccomp.ERRNO(errno.EACCES), call, seccomp.Arg(0, seccomp.NE, socket.AF_UNIX))
        return flt
    except Exception:  # libseccomp.so missing or too old: the report says "no seccomp"
        return None


@functools.lru_cache(maxsize=None)
def bpf_program() -> bytes | None:
    """The compiled filter as a BPF program (bubblewrap's ``--seccomp`` format), or None."""
    flt = build_filter()
    if flt is None:
        return None
    with tempfile.TemporaryFile() as out:
        try:
            flt.export_bpf(out)
        except Exception:
            return None
        out.seek(0)
        return out.read()


def program_fd() -> int:
    """A fresh read-only descriptor holding the BPF program, positioned at its start (the
    caller passes it to bubblewrap and closes it). Raises RuntimeError when there is none."""
    program = bpf_program()
    if program is None:
        raise RuntimeError("libseccomp is not usable here")
    read_fd, write_fd = os.pipe()
    try:
        if len(program) > 65536:  # cannot happen for this filter (a few hundred bytes); a pipe holds 64 KiB
            raise RuntimeError("seccomp program too large for a pipe")
        os.write(write_fd, program)
    finally:
        os.close(write_fd)
    return read_fd


def available() -> bool:
    return bpf_program() is not None
