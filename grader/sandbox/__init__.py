"""The trust boundary. ``runtime/`` is the only code that runs next to student code; the rest
of this package starts it (``launcher``, ``bwrap``), fences it (``box``, ``cgroups``,
``identity``, ``seccomp_filter``, ``workspace``) and talks to it (``channel``, ``proxy``: what
the trusted tests call). ``config`` resolves, once, the isolation in force."""
from .config import Isolation, SandboxConfig, SandboxRefused, SandboxUnavailable, resolve_isolation, resolve_sandbox
from .errors import (StudentBadReply, StudentCrashed, StudentError, StudentRaised, StudentTimeout,
                     StudentUnavailable)
from .limits import Limits
from .proxy import SandboxedModule

__all__ = ["StudentBadReply", "StudentCrashed", "StudentError", "StudentRaised", "StudentTimeout",
           "StudentUnavailable", "Isolation", "Limits", "SandboxConfig", "SandboxRefused", "SandboxUnavailable",
           "resolve_isolation", "resolve_sandbox", "SandboxedModule"]
