"""The shape of the package: data flows one way, modules stay small, each default is declared once."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "grader"
# The data flow, earliest first: a module may import from its own stage or earlier ones only.
STAGES = [
    {"models", "quoting", "files", "trees", "course", "device", "secret", "datasets", "plots", "__init__"},
    {"intake"},
    {"sandbox"},
    {"options"},
    {"mistakes", "diagnosis", "checks", "testing", "inventory"},
    {"pipeline"},
    {"reports"},
    {"release"},
    {"batch", "gradescope", "console", "commands", "cli", "__main__", "selfcheck", "notebook", "serve"},
]
# grader/__init__.py defines __version__ (stage 0: what the others import from it) and is also the
# package's front door: `grader.check` imports the notebook module when called, inside the function.
FRONT_DOOR = PACKAGE / "__init__.py"


def _stage(parts: tuple[str, ...]) -> int:
    top = parts[0].removesuffix(".py")
    if not (PACKAGE / top).exists() and not (PACKAGE / f"{top}.py").exists():
        top = "__init__"  # a name defined in grader/__init__.py (``from . import __version__``)
    return next(k for k, names in enumerate(STAGES) if top in names)


def _modules():
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _imported(path: Path) -> list[tuple[str, ...]]:
    """grader-relative parts of every module `path` imports from the package."""
    here = path.relative_to(PACKAGE).parts[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = here[: len(here) - node.level + 1] if node.level > 1 else here
            target = (*base, *(node.module.split(".") if node.module else ()))
            names = [(*target, alias.name) for alias in node.names] if not node.module else [target]
            found += [t for t in names if t]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("grader."):
            found.append(tuple(node.module.split(".")[1:]))
        elif isinstance(node, ast.Import):
            found += [tuple(a.name.split(".")[1:]) for a in node.names if a.name.startswith("grader.")]
    return found


def test_no_module_imports_from_a_later_stage():
    late = []
    for path in _modules():
        if "runtime" in path.parts:
            continue  # the sandbox runtime imports nothing from the grader at all (below)
        stage = len(STAGES) - 1 if path == FRONT_DOOR else _stage(path.relative_to(PACKAGE).parts)
        late += [f"{path.relative_to(PACKAGE)} imports {'.'.join(t)}" for t in _imported(path)
                 if t and _stage(t) > stage]
    assert late == []


def test_the_front_door_imports_only_when_called():
    tree = ast.parse(FRONT_DOOR.read_text())
    assert not [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]


def test_the_sandbox_runtime_imports_nothing_from_the_grader():
    for path in (PACKAGE / "sandbox" / "runtime").glob("*.py"):
        text = path.read_text()
        assert "grader" not in re.findall(r"^\s*(?:from|import)\s+(\w+)", text, re.M), path


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_small(path):
    assert len(path.read_text().splitlines()) <= 300


@pytest.mark.parametrize("literal", ["20261126", '"auto"'])
def test_defaults_are_declared_once(literal):
    places = [f"{p.relative_to(PACKAGE)}:{n}" for p in _modules()
              for n, line in enumerate(p.read_text().splitlines(), 1)
              if literal in line and "option(" in line or (literal == "20261126" and literal in line)]
    defining = sorted(set(places))
    assert len(defining) == (1 if literal == "20261126" else 2), defining  # seed once; sandbox and device once each
