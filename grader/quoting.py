"""Bounded quotations of untrusted values and text, for failure messages.

A student's function can return (or raise with) anything plain data can hold, up to the wire's
limits: a megabyte string, a list of a hundred thousand numbers. Messages quote such values only
through ``quote`` (a value, as a bounded ``repr``) and ``clip`` (a piece of text), which never
build the full representation of a large value: strings are sliced before ``repr``, containers
are abbreviated by ``reprlib``, arrays printed in summary.

Leaf module (standard library and numpy only), so both ``grader.checks`` and ``grader.sandbox``
can use it.
"""
from __future__ import annotations

import reprlib

import numpy as np

# Characters of one quoted value: room for a short tuple, a table row or a few numbers, while a
# hundred failing tests that each quote a value still make a report of a few tens of KB.
QUOTE_LIMIT = 200
# Characters of a whole failure message (a check's or a student error's): the words around a
# few quoted values. A backstop for any message that quotes without these helpers.
MESSAGE_LIMIT = 2_000
# Items of a container shown before "...": enough to recognise a row or a pair of shapes.
CONTAINER_ITEMS = 12
# Array elements printed at each edge of a summarised ndarray.
ARRAY_EDGE_ITEMS = 3


class _BoundedRepr(reprlib.Repr):
    """``reprlib.Repr`` that never calls ``repr`` on a whole large str, bytes or ndarray."""

    def __init__(self, limit: int):
        super().__init__()
        self.maxlevel = 4
        self.maxlist = self.maxtuple = self.maxset = self.maxfrozenset = self.maxdeque = CONTAINER_ITEMS
        self.maxdict = CONTAINER_ITEMS // 2
        self.maxlong = self.maxother = limit
        self.maxstring = max(limit // 4, 20)  # each string inside a container

    def repr_bytes(self, x, level):
        return _cut(repr(x[:self.maxstring]), self.maxstring)

    repr_bytearray = repr_bytes

    def repr_ndarray(self, x, level):
        with np.printoptions(threshold=2 * ARRAY_EDGE_ITEMS, edgeitems=ARRAY_EDGE_ITEMS, precision=6,
                             linewidth=self.maxother):
            return _cut(repr(x), self.maxother)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _size_note(value) -> str:
    if isinstance(value, str):
        return f" ({len(value):,} characters)"
    if isinstance(value, (bytes, bytearray)):
        return f" ({len(value):,} bytes)"
    if isinstance(value, np.ndarray):
        return f" (array of shape {value.shape}, dtype {value.dtype})"
    if isinstance(value, (list, tuple, dict, set, frozenset)):
        return f" ({type(value).__name__} of {len(value):,} items)"
    return ""


def quote(value, limit: int = QUOTE_LIMIT) -> str:
    """``repr(value)`` in at most `limit` characters plus a short size note.

    When the value does not fit, the text is cut with "…" and followed by what was not shown,
    e.g. ``'aaaa…' (100,000,000 characters)`` or ``[1, 2, ...] (list of 100,000 items)``.
    Escapes in ``repr`` keep control characters and markup out of the quoted text's shape.
    """
    try:
        if isinstance(value, (str, bytes, bytearray)):
            text = repr(value[:limit + 1])
        else:
            text = _BoundedRepr(limit).repr(value)
    except Exception:  # e.g. an int over Python's 4300-digit conversion limit
        return f"<{type(value).__name__} that cannot be shown>"
    abbreviated = len(text) > limit or "..." in text or (
        isinstance(value, (str, bytes, bytearray)) and len(value) > limit)
    return _cut(text, limit) + (_size_note(value) if abbreviated else "")


def clip(text, limit: int = MESSAGE_LIMIT) -> str:
    """`text` in at most `limit` characters; when longer, cut and ended with "…" and the full
    length. For text shown as text (exception messages, printed output); a non-str is quoted
    first. For values use ``quote``."""
    if not isinstance(text, str):
        text = quote(text, limit)
    if len(text) <= limit:
        return text
    note = f"… ({len(text):,} characters in all)"
    return text[:max(limit - len(note), 0)] + note[:limit]  # never longer than `limit`: clipping twice changes nothing
