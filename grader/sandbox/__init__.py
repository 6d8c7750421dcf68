"""The trust boundary. ``runtime/`` is the only code that runs next to student code;
``launcher`` starts it sandboxed; ``proxy`` is what the trusted tests call."""
from .errors import (StudentBadReply, StudentCrashed, StudentError, StudentRaised, StudentTimeout,
                     StudentUnavailable)
from .launcher import Isolation, Limits, SandboxConfig, resolve_isolation, resolve_mode
from .proxy import StudentModule

__all__ = ["StudentBadReply", "StudentCrashed", "StudentError", "StudentRaised", "StudentTimeout",
           "StudentUnavailable", "Isolation", "Limits", "SandboxConfig",
           "resolve_isolation", "resolve_mode", "StudentModule"]
