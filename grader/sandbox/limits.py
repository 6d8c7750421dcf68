"""The resource limits of one sandbox, with the reason for each number."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    memory_bytes: int = 2 << 30          # per sandbox: control group (all pages) and RLIMIT_DATA
    processes: int = 32                  # processes and threads per sandbox (pids group, RLIMIT_NPROC):
                                         # homework needs one; a bomb's cost grows with the square of this
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
