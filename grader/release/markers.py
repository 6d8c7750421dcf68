"""Solution markers: one source per assignment, the student's skeleton generated from it.

The reference solution ``solutions/<name>/<module>.py`` is the one source (the convention of
nbgrader and otter-grader). Inside a function, the lines between ``# BEGIN SOLUTION`` and
``# END SOLUTION`` are the solution: the skeleton has in their place a TODO comment, the text
after ``# BEGIN SOLUTION:`` (the optional replacement line; "implement <function>." without
one), and ``raise NotImplementedError("<function>")``. Outside a function (imports, constants
and helpers only the reference needs) a marked region is left out of the skeleton. Everything
else (module docstring, signatures, docstrings, lines before a region) is copied unchanged.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass

BEGIN = re.compile(r"^(?P<indent>[ \t]*)#\s*BEGIN SOLUTION\s*(?::\s*(?P<todo>.*?))?\s*$")
END = re.compile(r"^(?P<indent>[ \t]*)#\s*END SOLUTION\s*$")
LOOSE = re.compile(r"#\s*(BEGIN|END)[\s_-]*SOLUTION", re.IGNORECASE)


class MarkerError(ValueError):
    """Unbalanced or malformed solution markers (one line naming the file and line)."""


@dataclass(frozen=True)
class Region:
    begin: int               # line of ``# BEGIN SOLUTION`` (1-based)
    end: int                 # line of ``# END SOLUTION``
    indent: str
    todo: str | None         # the replacement line's text, if given
    function: str | None     # the enclosing function; None at module or class level


def _parse(source: str, where: str) -> ast.Module:
    try:
        return ast.parse(source)
    except SyntaxError as exc:
        raise MarkerError(f"{where}:{exc.lineno}: {exc.msg}") from None


def _enclosing_function(tree: ast.Module, line: int) -> str | None:
    inner = None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.lineno < line <= node.end_lineno:
            if inner is None or node.lineno > inner.lineno:
                inner = node
    return inner.name if inner else None


def regions(source: str, where: str = "source") -> list[Region]:
    """The marked regions of `source`, in order; MarkerError when markers are unbalanced."""
    found, start = [], None
    for number, line in enumerate(source.splitlines(), 1):
        begin, end = BEGIN.match(line), END.match(line)
        if begin:
            if start is not None:
                raise MarkerError(f"{where}:{number}: BEGIN SOLUTION inside the region opened on line {start[0]}")
            start = (number, begin)
        elif end:
            if start is None:
                raise MarkerError(f"{where}:{number}: END SOLUTION without BEGIN SOLUTION")
            if end["indent"] != start[1]["indent"]:
                raise MarkerError(f"{where}:{number}: END SOLUTION indented unlike its BEGIN SOLUTION on line {start[0]}")
            found.append((start[0], number, start[1]["indent"], start[1]["todo"] or None))
            start = None
        elif LOOSE.search(line):
            raise MarkerError(f"{where}:{number}: unrecognised solution marker (write '# BEGIN SOLUTION' "
                              "or '# END SOLUTION' on a line of its own)")
    if start is not None:
        raise MarkerError(f"{where}:{start[0]}: BEGIN SOLUTION without END SOLUTION")
    tree = _parse(source, where) if found else None
    return [Region(b, e, indent, todo, _enclosing_function(tree, b)) for b, e, indent, todo in found]


def has_markers(source: str) -> bool:
    return any(BEGIN.match(line) for line in source.splitlines())


def skeleton_source(source: str, where: str = "source") -> str:
    """The skeleton generated from the marked reference `source`."""
    lines = source.splitlines(keepends=True)
    out: list[str] = []
    done = 0
    for region in regions(source, where):
        out += lines[done:region.begin - 1]
        done = region.end
        if region.function:
            out.append(f"{region.indent}# TODO: {region.todo or f'implement {region.function}.'}\n")
            out.append(f'{region.indent}raise NotImplementedError("{region.function}")\n')
        else:  # left out: as many blank lines where it was as on its wider side, not both sides' sum
            before = next((k for k, line in enumerate(reversed(out)) if line.strip()), len(out))
            after = next((k for k, line in enumerate(lines[done:]) if line.strip()), len(lines) - done)
            out += ["\n"] * max(0, after - before)
            done += after
    out += lines[done:]
    skeleton = "".join(out)
    _parse(skeleton, f"{where} (generated skeleton)")
    return skeleton
