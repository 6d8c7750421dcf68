"""The trust boundary. ``runtime/`` is the only code that runs next to student code;
``launcher`` starts it sandboxed; ``proxy`` is what the trusted tests call."""
from .errors import (StudentBadReply, StudentCrashed, StudentError, StudentRaised, StudentTimeout,
                     StudentUnavailable)
from .launcher import Limits, SandboxConfig, resolve_mode
from .proxy import StudentModule

__all__ = ["StudentBadReply", "StudentCrashed", "StudentError", "StudentRaised", "StudentTimeout",
           "StudentUnavailable", "Limits", "SandboxConfig", "resolve_mode", "StudentModule"]
