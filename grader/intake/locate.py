"""Which file of a submission is graded for an assignment, and why (the rules are in the README).

Tiers, the first that finds something wins: the exact name (``conv.py``); the name in another
case (``Conv.py``: graded, with a note); a notebook of that name (``conv.ipynb``: its code cells
extracted, with a note); a notebook of any name that defines at least half of the skeleton's
functions (those defining the most of them). Nothing found: the message names the near misses (``conv (1).py``, ``conv.py.txt``).

Several copies in the winning tier: identical ones are graded once, with a note; different ones
make the assignment *ambiguous* (every copy named), and one is graded by ``RULE``: a copy
identical to the untouched skeleton comes last, then the most recently modified first
(timestamps 2 s apart or less are equal: a zip keeps no finer time), then a path not named like
a copy (``copy``, ``(1)``, ``backup``, ``old``), then the shallowest, then alphabetical order.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from .notebook import NotebookError, notebook_source, removal_note
from .reading import Snapshot

RULE = ("it is not the skeleton as handed out", "it is the most recently modified", "it is not named like a copy",
        "it is the shallowest", "it comes first in alphabetical order")
MAX_NOTEBOOKS = 20        # notebooks of other names read to find the assignment's functions
NEAR_MISSES = 5
_COPY_LIKE = re.compile(r"\bcopy\b|\(\d+\)|\bbackup\b|\bbak\b|\bold\b", re.IGNORECASE)


@dataclass
class Located:
    filename: str                                      # what the assignment needs, e.g. "conv.py"
    path: str | None = None                            # the file graded, relative to the submission
    source: bytes = b""                                # what is graded as `filename`
    notes: list[str] = field(default_factory=list)
    candidates: list[str] = field(default_factory=list)  # every copy found, when more than one
    ambiguous: bool = False                            # different copies: the student should say which
    error: str | None = None                           # why nothing is graded (missing, empty, unreadable)

    @property
    def folder(self) -> str:
        """The folder of the graded file ("" for the top of the submission)."""
        parent = str(PurePosixPath(self.path).parent) if self.path else ""
        return "" if parent == "." else parent


def _name(path: str) -> str:
    return PurePosixPath(path).name


def _functions(source: bytes | str) -> set[str]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


def _same(a: bytes, b: bytes | None) -> bool:
    return b is not None and a.replace(b"\r\n", b"\n").strip() == b.replace(b"\r\n", b"\n").strip()


def locate(snapshot: Snapshot, filename: str, skeleton: bytes | None = None) -> Located:
    """Find what to grade as `filename` in `snapshot` (see the module docstring)."""
    module, files = filename.removesuffix(".py"), list(snapshot.sources)
    exact = [p for p in files if _name(p) == filename]
    if exact:
        return _choose(snapshot, Located(filename), {p: snapshot.read(p) for p in exact}, skeleton)
    cased = [p for p in files if _name(p).lower() == filename.lower()]
    if cased:
        found = _choose(snapshot, Located(filename), {p: snapshot.read(p) for p in cased}, skeleton)
        found.notes.insert(0, f"graded {found.path}: the file must be named {filename} (names are "
                              f"case-sensitive); rename it")
        return found
    named = [p for p in files if _name(p).lower() == module.lower() + ".ipynb"]
    if named and (found := _from_notebooks(snapshot, Located(filename), named, skeleton, None)).path:
        return found
    wanted = _functions(skeleton) if skeleton is not None else set()   # the functions a notebook should define
    others = [p for p in files if p.lower().endswith(".ipynb") and p not in named][:MAX_NOTEBOOKS]
    if others and wanted and (found := _from_notebooks(snapshot, Located(filename), others, skeleton, wanted)).path:
        return found
    return Located(filename, error=f"missing file: {filename} is not in the submission"
                                   + _near_misses(snapshot, filename))


def _from_notebooks(snapshot: Snapshot, found: Located, notebooks: list[str], skeleton: bytes | None,
                    wanted: set[str] | None) -> Located:
    sources, removals, errors, defines = {}, {}, [], {}
    for path in notebooks:
        try:
            text, removals[path] = notebook_source(snapshot.read(path))
        except NotebookError as exc:
            errors.append(f"{path}: {exc}")
            continue
        defines[path] = len(_functions(text) & wanted) if wanted is not None else 0
        if wanted is None or defines[path] * 2 >= len(wanted):
            sources[path] = text.encode()
    most = max((defines[p] for p in sources), default=0)   # of other names: those defining the most
    sources = {p: text for p, text in sources.items() if defines[p] == most}
    if not sources:
        if errors and wanted is None:
            found.path, found.error = notebooks[0], f"{found.filename} could not be graded: {errors[0]}"
        return found
    found = _choose(snapshot, found, sources, skeleton)
    why = "" if wanted is None else f" (it defines {len(_functions(found.source) & wanted)} of the " \
                                    f"{len(wanted)} functions of {found.filename})"
    found.notes.insert(0, f"graded the code cells of the notebook {found.path}{why}, extracted into "
                          f"{found.filename}; every code cell runs when it is imported: submit {found.filename} "
                          "itself next time")
    if removals[found.path]:
        found.notes.insert(1, removal_note(removals[found.path]))
    return found


def _rank(path: str, source: bytes, snapshot: Snapshot, skeleton: bytes | None) -> tuple:
    return (_same(source, skeleton), -int(snapshot.sources[path].mtime // 2), bool(_COPY_LIKE.search(path)),
            len(PurePosixPath(path).parts), path)


def _choose(snapshot: Snapshot, found: Located, sources: dict[str, bytes], skeleton: bytes | None) -> Located:
    ranked = sorted(sources, key=lambda p: _rank(p, sources[p], snapshot, skeleton))
    found.path, found.source = ranked[0], sources[ranked[0]]
    if len(ranked) > 1:
        found.candidates = ranked
        listed = ", ".join(ranked)
        if len({sources[p] for p in ranked}) == 1:
            found.notes.append(f"{len(ranked)} identical copies ({listed}): graded {found.path} once")
        else:
            first, second = (_rank(p, sources[p], snapshot, skeleton) for p in ranked[:2])
            reason = RULE[next(k for k in range(len(RULE)) if first[k] != second[k])]
            found.ambiguous = True
            found.notes.append(f"ambiguous: {len(ranked)} different copies ({listed}); graded {found.path} "
                               f"({reason}); keep only the one to grade")
    if _same(found.source, skeleton):
        found.notes.append(f"{found.path} is the skeleton as handed out: nothing in it was filled in")
    if not found.source.strip():
        found.error = f"{found.path} is empty"
    return found


def _near_misses(snapshot: Snapshot, filename: str) -> str:
    """"; found conv (1).py: rename it to conv.py" for files whose names come close, else ""."""
    module = filename.removesuffix(".py").lower()
    close = []
    for path in [*snapshot.sources, *snapshot.others]:
        name = _name(path).lower()
        if name.startswith(("_", ".")):
            continue
        tokens = re.split(r"[^a-z0-9]+", name)
        if module in tokens or (name.startswith(module) and ".py" in name):
            close.append(path)
    if not close:
        return ""
    shown = ", ".join(close[:NEAR_MISSES]) + (f" and {len(close) - NEAR_MISSES} more" if len(close) > NEAR_MISSES else "")
    return f"; found {shown}: rename {'it' if len(close) == 1 else 'the one to grade'} to {filename}"
