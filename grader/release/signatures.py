"""The student's interface of a module: its public functions and their signatures, read from the
syntax tree (nothing is imported), and where a skeleton's differs from its reference's."""
from __future__ import annotations

import ast


def public_signatures(source: str) -> dict[str, str]:
    """Public (no leading underscore) top-level functions and classes: name -> "(x, w, b, stride=1)"."""
    found = {}
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
            found[node.name] = f"({ast.unparse(node.args)})"
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            found[node.name] = "class"
    return found


def signature_problems(skeleton: str, reference: str) -> list[str]:
    """One line per public function whose presence or signature differs, naming it."""
    try:
        theirs, ours = public_signatures(skeleton), public_signatures(reference)
    except SyntaxError as exc:
        return [f"syntax error on line {exc.lineno}: {exc.msg}"]
    problems = []
    for name in sorted(set(theirs) | set(ours)):
        if name not in theirs:
            problems.append(f"{name}: in the reference but not in the skeleton")
        elif name not in ours:
            problems.append(f"{name}: in the skeleton but not in the reference")
        elif theirs[name] != ours[name]:
            problems.append(f"{name}: the skeleton has {name}{theirs[name]}, the reference {name}{ours[name]}")
    return problems
