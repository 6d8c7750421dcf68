"""What can go wrong on the student's side of the boundary, as exceptions in the grader.

A student exception is re-raised as a ``StudentRaised`` subclass that also derives from the
builtin the student raised (for an allowlist), so ``pytest.raises(ValueError)`` works, while
the object itself is the grader's own: nothing from the child is ever re-raised as is.
"""
from __future__ import annotations

import builtins

from ..quoting import QUOTE_LIMIT, clip


class StudentError(Exception):
    """The student's code did not produce a usable result. The message, which may quote the
    student's own text, is clipped to ``grader.quoting.MESSAGE_LIMIT`` characters."""

    def __init__(self, message: str = ""):
        super().__init__(clip(message))


class StudentRaised(StudentError):
    def __init__(self, func: str, type_name: str, message: str, where: str = ""):
        # all three come from the student's process: bounded before anything quotes them
        type_name, message, where = clip(type_name, QUOTE_LIMIT), clip(message), clip(where, QUOTE_LIMIT)
        self.func, self.type_name, self.message, self.where = func, type_name, message, where
        text = f"{func} raised {type_name}" + (f": {message}" if message else "") + where
        super().__init__(text)


class StudentCrashed(StudentError):
    """The child process died during the call (exit, signal, memory or CPU limit)."""


class StudentTimeout(StudentError):
    """The call ran past its wall-clock limit; the child was killed."""


class StudentUnavailable(StudentError):
    """The student's module could not be loaded at all (missing file, syntax error, crash at import)."""


class StudentBadReply(StudentError):
    """The child sent something that is not plain data, or not what was asked for."""


RAISABLE = ("ValueError", "TypeError", "NotImplementedError", "IndexError", "KeyError",
            "ZeroDivisionError", "AttributeError", "ArithmeticError", "RuntimeError",
            "AssertionError", "MemoryError", "OverflowError", "FloatingPointError",
            "RecursionError", "LookupError")

_CLASSES: dict[str, type] = {
    name: type(f"Student{name}", (StudentRaised, getattr(builtins, name)), {})
    for name in RAISABLE
}


def raised(func: str, type_name: str, builtin_mro: list[str], message: str, where: str = "") -> StudentRaised:
    """Build the grader-side exception for an exception the student raised."""
    for name in builtin_mro:
        if name in _CLASSES:
            return _CLASSES[name](func, type_name, message, where)
    return StudentRaised(func, type_name, message, where)
