"""Code compared by its normalised syntax tree, so reformatting, renaming and rewording do not hide it.

A *unit* is a function's body (docstring dropped) or a compound statement (``for``, ``while``,
``if``, ``with``, ``try``). Its fingerprint hashes its syntax tree after every name (variables,
arguments, functions called, modules) is replaced by its order of first appearance and every
string by the empty string: layout, comments, local names and messages do not count; structure,
attribute names, keyword names, numbers and operators do. Code is found in Python files, in the
string literals of Python files (a test that keeps a solution as a string), in notebooks' cells
and in Markdown code blocks.
"""
from __future__ import annotations

import ast
import copy
import hashlib
import json
import re
import textwrap
from dataclasses import dataclass

BLOCKS = (ast.For, ast.AsyncFor, ast.While, ast.If, ast.With, ast.AsyncWith, ast.Try)
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
IGNORED = (ast.expr_context, ast.operator, ast.boolop, ast.unaryop, ast.cmpop)
FENCE = re.compile(r"^```[ \t]*(?:python|py|ipython3?)?[ \t]*\n(.*?)^```", re.M | re.S)
MAX_DEPTH = 3   # code inside a string inside a string inside a file


@dataclass(frozen=True)
class Unit:
    fingerprint: str
    size: int            # syntax-tree nodes, names and contexts aside
    what: str            # "function maxpool_backward" / "for-block of maxpool_backward"
    line: int
    name: str | None     # the function's name, for function units


class _Normalise(ast.NodeTransformer):
    def __init__(self):
        self.names: dict[str, str] = {}

    def _rename(self, name: str) -> str:
        return self.names.setdefault(name, f"n{len(self.names)}")

    def visit_Name(self, node):
        node.id = self._rename(node.id)
        return node

    def visit_arg(self, node):
        node.arg, node.annotation = self._rename(node.arg), None
        return node

    def visit_FunctionDef(self, node):
        node.name, node.returns, node.decorator_list = self._rename(node.name), None, []
        node.body = _without_docstring(node.body)
        return self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Global(self, node):
        node.names = [self._rename(n) for n in node.names]
        return node

    visit_Nonlocal = visit_Global

    def visit_Constant(self, node):
        if isinstance(node.value, (str, bytes)):
            node.value = type(node.value)()
        return node


def _without_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    first = body[0] if body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return body[1:]
    return body


def _size(nodes: list[ast.AST]) -> int:
    return sum(1 for node in nodes for sub in ast.walk(node) if not isinstance(sub, IGNORED))


def fingerprint(statements: list[ast.stmt]) -> str:
    module = ast.Module(body=[_Normalise().visit(copy.deepcopy(s)) for s in statements], type_ignores=[])
    return hashlib.sha256(ast.dump(module).encode()).hexdigest()


def units(tree: ast.AST) -> list[Unit]:
    """Every function body and compound statement in `tree`."""
    found = []
    owners = {}
    for node in ast.walk(tree):
        if isinstance(node, FUNCTIONS):
            for sub in ast.walk(node):
                if sub is not node:
                    owners.setdefault(id(sub), node.name)   # the outermost function (walk is breadth-first)
            body = _without_docstring(node.body)
            if body:
                found.append(Unit(fingerprint(body), _size(body), f"function {node.name}", node.lineno, node.name))
        elif isinstance(node, BLOCKS):
            owner = owners.get(id(node))
            kind = type(node).__name__.lower().removeprefix("async")
            found.append(Unit(fingerprint([node]), _size([node]), f"{kind}-block" + (f" of {owner}" if owner else ""),
                              node.lineno, None))
    return found


def _parse(text: str) -> ast.Module | None:
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _with_strings(where: str, tree: ast.Module, depth: int) -> list[tuple[str, ast.Module]]:
    found = [(where, tree)]
    if depth >= MAX_DEPTH:
        return found
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and "\n" in node.value.strip():
            inner = _parse(textwrap.dedent(node.value))
            if inner is not None and inner.body:
                inside = f"a string on line {node.lineno}"
                found += _with_strings(f"{where}, {inside}" if where else inside, inner, depth + 1)
    return found


def code_in(path: str, text: str) -> list[tuple[str, ast.Module]]:
    """(where, syntax tree) of the code in a file: the file itself when it is Python, the cells of
    a notebook, Markdown code blocks, and code kept in string literals."""
    chunks = []
    if path.endswith(".ipynb"):
        try:
            cells = json.loads(text).get("cells", [])
        except (ValueError, AttributeError):
            cells = []
        for k, cell in enumerate(cells if isinstance(cells, list) else []):
            source = cell.get("source", "") if isinstance(cell, dict) else ""
            source = "".join(source) if isinstance(source, list) else str(source)
            chunks.append((f"cell {k + 1}", source))
            chunks += [(f"cell {k + 1}, a code block", m.group(1)) for m in FENCE.finditer(source)]
    else:
        chunks.append(("", text))
        chunks += [(f"the code block on line {text.count(chr(10), 0, m.start()) + 1}", m.group(1))
                   for m in FENCE.finditer(text)]
    found = []
    for where, chunk in chunks:
        tree = _parse(chunk) if chunk.strip() else None
        if tree is not None:
            found += _with_strings(where, tree, 1)
    return found
