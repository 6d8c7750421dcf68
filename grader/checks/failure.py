"""The one exception a check raises; its message is the feedback a student sees.

Student values go into a message only through ``quote`` (a value) or ``clip`` (text): see
``grader.quoting``. The message as a whole is clipped to ``MESSAGE_LIMIT`` characters.
"""
from ..quoting import MESSAGE_LIMIT, QUOTE_LIMIT, clip, quote

__all__ = ["CheckFailure", "MESSAGE_LIMIT", "QUOTE_LIMIT", "clip", "quote"]


class CheckFailure(AssertionError):
    """A check found a difference. ``str(exc)`` names the function, the case and the difference,
    in at most ``MESSAGE_LIMIT`` characters (plus a note of the full length)."""

    def __init__(self, message: str = ""):
        super().__init__(clip(message))
