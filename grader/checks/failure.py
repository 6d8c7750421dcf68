"""The one exception a check raises; its message is the feedback a student sees."""


class CheckFailure(AssertionError):
    """A check found a difference. ``str(exc)`` names the function, the case and the difference."""
