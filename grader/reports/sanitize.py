"""Student text made inert before any report or the console shows it.

``clean`` is the one sanitising function for text: every renderer (results.json, report.html,
report.md, the console) shows a result only after ``clean_result`` has passed each of its
strings through it. It bounds the length, and escapes what could act rather than read: control
characters other than newline and tab (terminal escapes, carriage returns that overwrite a
line, NUL), Unicode bidirectional controls and line separators (text that displays in another
order than it reads), and lone surrogates (which cannot be written as UTF-8 at all).

Each output format then adds its own escaping: Jinja's autoescape for HTML, ``md_inline`` and
``md_code`` for Markdown (below), ``json.dumps`` for JSON, ``rich.text.Text`` for the console.
"""
from __future__ import annotations

import re
import string
from dataclasses import fields, is_dataclass, replace

from ..models import Attachment, GradingResult
from ..quoting import clip

# Characters of one text field in a report: a test's output is a check message (at most 2,000
# characters) plus, for public tests, what the student printed (at most 4,000); 20,000 keeps
# every legitimate field whole while a report of 100 tests stays around a MB at worst.
TEXT_LIMIT = 20_000

_ACTIVE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f"             # C0 (but \t \n) and C1 controls, DEL
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"  # bidirectional marks, embeddings, overrides, isolates
    "\u2028\u2029"                             # line and paragraph separators
    "\ud800-\udfff]")                          # lone surrogates
# Characters that can open inline Markdown anywhere in a line (code, emphasis, links, images,
# HTML and autolinks, entities, GFM tables and strikethrough, the escape itself); at the start of
# a line every punctuation character is escaped and so is an ordered list's "1." or "1)".
_MD_INLINE_MARKUP = re.compile(r"([\\`*_\[\]<>!|&~])")
_MD_LINE_START = re.compile("^([" + re.escape(string.punctuation) + "]|[0-9]{1,9}[.)])")
_BACKTICK_RUN = re.compile("`+")


def _escape_char(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def inert(text: str) -> str:
    """`text` with ``\\r\\n`` as ``\\n`` and every active character (see the module docstring)
    replaced by its visible escape, e.g. ``\\x1b``; no length bound (see ``clean``)."""
    return _ACTIVE.sub(_escape_char, text.replace("\r\n", "\n"))


def clean(text, limit: int = TEXT_LIMIT) -> str:
    """`text` made ``inert`` and bounded to `limit` characters. Idempotent."""
    return clip(inert(clip(str(text), limit)), limit)  # escapes are longer than what they replace


def _clean_data(value):
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, list):
        return [_clean_data(v) for v in value]
    if isinstance(value, Attachment) and value.kind in ("svg", "png"):  # built by the grader from numbers
        return replace(value, title=clean(value.title))
    if is_dataclass(value) and not isinstance(value, type):
        return replace(value, **{f.name: _clean_data(getattr(value, f.name)) for f in fields(value) if f.init})
    return value


def clean_result(result: GradingResult) -> GradingResult:
    """A copy of `result` with every string in it (names, messages, errors, text attachments,
    the submission's name) passed through ``clean``."""
    return _clean_data(result)


def md_inline(text) -> str:
    """`text` as literal Markdown inline text: one line, the characters that can open inline
    markup backslash-escaped (CommonMark makes each such escape a literal character), and the
    first character too where it could start a block, so no emphasis, link, HTML tag, heading,
    list or table cell can start inside it, while "f(x): 1.5e-3" stays readable as plain text."""
    line = " ".join(str(text).split())
    start = _MD_LINE_START.match(line)
    escaped = _MD_INLINE_MARKUP.sub(r"\\\1", line)
    if start and not _MD_INLINE_MARKUP.fullmatch(start.group(0)[-1]):   # else escaped already
        cut = start.end() - 1   # the markup inside the start is digits and one . ) or punctuation: unchanged
        escaped = escaped[:cut] + "\\" + escaped[cut:]
    return escaped


def md_code(text, indent: int = 0) -> str:
    """`text` as a fenced Markdown code block whose fence is longer than any run of backticks
    in it, so no line of the text can close the block (inside it, HTML and headings are
    literal). Every line, blank ones too, is indented by `indent` spaces (list items)."""
    longest = max((len(run) for run in _BACKTICK_RUN.findall(str(text))), default=0)
    fence = "`" * max(3, longest + 1)
    pad = " " * indent
    lines = [fence, *str(text).split("\n"), fence]
    return "\n".join(pad + line for line in lines)
