"""The sandbox configuration: limits, and the isolation actually in force, resolved once.

``resolve_sandbox`` looks at the machine (is bubblewrap installed, and has it failed to start in
this process? is there libseccomp? writable control groups? is the grader root?) and returns a
``SandboxConfig`` that carries the resolved ``Isolation``: everything downstream reads the mode
from there, and every report names it (``Isolation.describe``).
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field

from . import bwrap, cgroups, seccomp_filter
from .limits import Limits


MODES = ("auto", "bubblewrap", "basic")   # what can be asked for; auto: bubblewrap when it works here


BUBBLEWRAP_CANNOT_START = "bubblewrap cannot start a sandbox on this machine"


class SandboxUnavailable(Exception):
    """The requested isolation cannot be had on this machine (a one-line message)."""


class SandboxRefused(SandboxUnavailable):
    """bubblewrap exited, or did not answer within the import limit, before the runtime's first
    frame, on its first start in this process: it cannot start sandboxes here. Raised before any
    student code ran; in auto mode the grading is redone in basic mode (``resolve_isolation`` no
    longer picks bubblewrap)."""


@dataclass(frozen=True)
class SandboxConfig:
    """A resolved configuration: what every sandbox of one grading gets."""
    isolation: "Isolation"
    device: str                          # "cpu" | "gpu" (resolved)
    limits: Limits = field(default_factory=Limits)
    hide: tuple[str, ...] = ()           # paths that must not exist inside (course root, outputs)


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


def resolve_isolation(mode: str, device: str, probe: bool = False) -> Isolation:
    """What isolation a sandbox gets here for the requested mode. Auto is bubblewrap where it is
    installed and has not failed to start in this process: a grading does not probe, its first
    start tells (``SandboxRefused``, then the grading is redone in basic mode); `probe` asks
    bubblewrap now instead (a service's start-up). Raises ``SandboxUnavailable`` when bubblewrap
    is asked for and is missing or known not to start."""
    if mode not in MODES:
        raise ValueError(f"unknown sandbox mode {mode!r}")
    usable = False
    if mode != "basic" and bwrap.installed():
        usable = bwrap.works(device) if probe else bwrap.verdict(device) is not False
    if mode == "bubblewrap" and not usable:
        raise SandboxUnavailable(f"--sandbox bubblewrap: {BUBBLEWRAP_CANNOT_START} "
                                 "(is it installed, and may it create namespaces here?)")
    return _isolation("bubblewrap" if usable else "basic", os.geteuid() == 0)


@functools.lru_cache(maxsize=None)
def _isolation(mode: str, root: bool) -> Isolation:
    return Isolation(mode=mode, dedicated_uid=root,
                     uid="dedicated unprivileged uid" if root else f"grader's uid ({os.getuid()})",
                     seccomp=seccomp_filter.available(), cgroup=cgroups.describe(cgroups.detect()),
                     hides_solutions=mode == "bubblewrap" or root)


def resolve_sandbox(mode: str, device: str, limits: Limits = Limits(), hide: tuple[str, ...] = ()) -> SandboxConfig:
    """The configuration for `mode` ("auto" | "bubblewrap" | "basic") on resolved `device`.
    Raises ``SandboxUnavailable`` (one line) when bubblewrap is asked for and cannot start."""
    return SandboxConfig(isolation=resolve_isolation(mode, device), device=device, limits=limits, hide=hide)
