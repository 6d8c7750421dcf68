"""The leak guard: what students get must not contain a solution, a hidden test or reference code.

`course_secrets` gathers, from the instructor's course, what must never ship; `scan` looks for it
in every file of a release (and in the files inside its archives: the wheel, a zip):

- a file of ``solutions/`` by content hash, under any name (also with other line endings or
  trailing spaces), and the course secret itself;
- a hidden test: its name (where no public test of that name with other code ships) or its
  code, compared on the normalised syntax tree (``fingerprints``);
- reference code: the body of any reference function, or any loop/branch/with/try block of one,
  compared on the normalised syntax tree (helpers the skeleton hands to students excepted), and
  any line of it quoted verbatim (whitespace aside) that the skeletons do not contain;
- an implementation of a function students write (``def maxpool_forward`` returning a value
  anywhere but in a solution), in code or in a string literal, and compiled Python.
"""
from __future__ import annotations

import ast
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass, field

from ..course import Course, CourseError
from ..secret import read_secret
from .fingerprints import code_in, units

MIN_UNIT = 16          # syntax-tree nodes: smaller bodies (a one-line return) are too common to mean a leak
MIN_LINE = 30          # characters (whitespace aside) of a reference line worth looking for
MIN_FILE = 16          # bytes: tiny solutions/ files (an empty __init__.py) are not matched by hash
MAX_MEMBER = 64 << 20  # bytes of one file inside an archive that is read
SKIPPED = {"__pycache__", ".pytest_cache", ".ipynb_checkpoints"}


@dataclass(frozen=True)
class Leak:
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class LeakError(Exception):
    """The release would leak: the first leak in one line; all of them in `leaks`."""

    def __init__(self, leaks: list[Leak]):
        self.leaks = leaks
        more = f" (and {len(leaks) - 1} more)" if len(leaks) > 1 else ""
        super().__init__(f"refusing to release: {leaks[0]}{more}")


@dataclass
class Secrets:
    hashes: dict[str, str] = field(default_factory=dict)     # sha256 of a solutions/ file -> its path
    needles: dict[str, str] = field(default_factory=dict)    # text never shipped -> what it is
    units: dict[str, str] = field(default_factory=dict)      # fingerprint -> what it is
    helpers: dict[str, tuple[str, str]] = field(default_factory=dict)   # hidden helper: fp -> (name, what)
    names: dict[str, tuple[str, str]] = field(default_factory=dict)     # hidden test name -> (fp, where)
    lines: dict[str, str] = field(default_factory=dict)      # reference line, whitespace removed -> where, line
    tasks: dict[str, str] = field(default_factory=dict)      # function students write -> assignment


def _hashes(data: bytes) -> set[str]:
    found = {hashlib.sha256(data).hexdigest()}
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return found
    normal = "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").split("\n")).strip() + "\n"
    return found | {hashlib.sha256(normal.encode()).hexdigest()}


def _squeeze(text: str) -> str:
    return re.sub(r"[ \t\r\f\v]+", "", text)


def _docstring_lines(tree: ast.Module) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            found.update(range(body[0].lineno, body[0].end_lineno + 1))
    return found


def _stub(function: ast.AST) -> bool:
    """True unless the function returns or yields a value (a skeleton's stub raises)."""
    return not any(isinstance(n, (ast.Yield, ast.YieldFrom)) or (isinstance(n, ast.Return) and n.value is not None)
                   for n in ast.walk(function))


def course_secrets(course: Course, skeletons: dict[str, str]) -> Secrets:
    """What must never ship, from every assignment of the course; `skeletons` (assignment name ->
    the skeleton students get) hands over the helpers the skeletons give away."""
    secrets = Secrets()
    solutions = course.root / "solutions"
    for path in sorted(solutions.rglob("*")) if solutions.is_dir() else []:
        if path.is_file() and not SKIPPED & set(path.parts) and path.stat().st_size >= MIN_FILE:
            for digest in _hashes(path.read_bytes()):
                secrets.hashes[digest] = path.relative_to(course.root).as_posix()
    try:
        secrets.needles[read_secret(solutions, create=False).hex()] = "the course secret"
    except CourseError:
        pass  # no secret yet: nothing to look for
    module_trees = {name: [tree for where, tree in code_in("s.py", text) if not where]
                    for name, text in skeletons.items()}
    given = {u.fingerprint for trees in module_trees.values() for tree in trees for u in units(tree)}
    skeleton_lines = {_squeeze(line) for text in skeletons.values() for line in text.splitlines()}
    for name, trees in module_trees.items():
        for node in (n for tree in trees for n in ast.walk(tree)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
                    isinstance(n, ast.Raise) and "NotImplementedError" in ast.unparse(n) for n in ast.walk(node)):
                secrets.tasks[node.name] = name
    for spec in course.assignments:
        if spec.solution_file.is_file():
            where = spec.solution_file.relative_to(course.root).as_posix()
            _reference(secrets, where, spec.solution_file.read_text(encoding="utf-8"), given, skeleton_lines)
        for path in sorted(spec.hidden_tests.rglob("*.py")) if spec.hidden_tests.is_dir() else []:
            _hidden(secrets, path.relative_to(course.root).as_posix(), path.read_text(encoding="utf-8"))
    return secrets


def _reference(secrets: Secrets, where: str, text: str, given: set[str], skeleton_lines: set[str]) -> None:
    trees = code_in(where, text)
    for unit in (u for _, tree in trees for u in units(tree)):
        if unit.size >= MIN_UNIT and unit.fingerprint not in given:
            secrets.units.setdefault(unit.fingerprint, f"the reference's {unit.what} ({where}, line {unit.line})")
    docs = _docstring_lines(trees[0][1]) if trees and not trees[0][0] else set()
    for number, line in enumerate(text.splitlines(), 1):
        key = _squeeze(line)
        if number not in docs and not key.startswith("#") and len(key) >= MIN_LINE and key not in skeleton_lines:
            secrets.lines.setdefault(key, f"{where}, line {number}: {line.strip()[:70]}")


def _hidden(secrets: Secrets, where: str, text: str) -> None:
    for unit in (u for _, tree in code_in(where, text) for u in units(tree) if u.name):
        what = f"the hidden {'test' if unit.name.startswith('test') else 'helper'} {unit.name} ({where}, line {unit.line})"
        if unit.name.startswith("test"):
            secrets.names.setdefault(unit.name, (unit.fingerprint, where))
            if unit.size >= MIN_UNIT:
                secrets.units.setdefault(unit.fingerprint, what)
        elif unit.size >= MIN_UNIT:
            secrets.helpers.setdefault(unit.fingerprint, (unit.name, what))


def _expand(files: dict[str, bytes], unreadable: list[Leak]) -> list[tuple[str, bytes]]:
    """Every file, and every file inside an archive among them (a wheel, a zip); an archive that
    cannot be read whole goes to `unreadable` (what cannot be checked is not released)."""
    found = []
    for path, data in files.items():
        found.append((path, data))
        if path.endswith((".whl", ".zip")):
            try:
                with zipfile.ZipFile(io.BytesIO(data)) as archive:
                    big = [i.filename for i in archive.infolist() if i.file_size > MAX_MEMBER]
                    inner = {f"{path}!{i.filename}": archive.read(i) for i in archive.infolist()
                             if not i.is_dir() and i.file_size <= MAX_MEMBER}
            except (zipfile.BadZipFile, OSError, RuntimeError, ValueError) as exc:
                unreadable.append(Leak(path, f"an archive the guard cannot read ({exc})"))
                continue
            unreadable += [Leak(f"{path}!{name}", "too large for the guard to read") for name in big]
            found += _expand(inner, unreadable)
    return found


def scan(files: dict[str, bytes], secrets: Secrets) -> list[Leak]:
    """Every leak in `files` (release path -> content), at most a few per file."""
    entries, leaks = [], []
    for path, data in _expand(files, leaks):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        code = [(where, u, tree) for where, tree in (code_in(path, text) if text else []) for u in units(tree)]
        entries.append((path, data, text, code))
    shipped = {(u.name, u.fingerprint) for *_, code in entries for _, u, _ in code if u.name}
    named = {}
    for name, fp in shipped:
        named.setdefault(name, set()).add(fp)
    secret_units = {**secrets.units, **{fp: what for fp, (name, what) in secrets.helpers.items()
                                        if (name, fp) not in shipped}}
    names = [n for n, (fp, _) in secrets.names.items() if not named.get(n, set()) - {fp}]
    name_pattern = re.compile(r"\b(" + "|".join(map(re.escape, sorted(names))) + r")\b") if names else None
    for path, data, text, code in entries:
        reasons = _reasons(path, data, text, code, secrets, secret_units, name_pattern)
        leaks += [Leak(path, reason) for reason in list(dict.fromkeys(reasons))[:3]]
    return leaks


def _reasons(path, data, text, code, secrets: Secrets, secret_units, name_pattern) -> list[str]:
    reasons = []
    if path.endswith((".pyc", ".pyo")):
        reasons.append("compiled Python is never released")
    reasons += [f"is a copy of {secrets.hashes[d]}" for d in _hashes(data) if d in secrets.hashes][:1]
    if text is None:
        return reasons
    reasons += [f"contains {what}" for needle, what in secrets.needles.items() if needle in text.lower()]
    squeezed = _squeeze(text)
    reasons += [f"quotes reference code ({where})" for key, where in secrets.lines.items() if key in squeezed][:1]
    found = name_pattern.search(text) if name_pattern else None
    if found:
        reasons.append(f"names the hidden test {found.group(1)} ({secrets.names[found.group(1)][1]})")
    for where, unit, tree in code:
        if unit.fingerprint in secret_units:
            reasons.append(f"{where + ': ' if where else ''}its {unit.what} (line {unit.line}) is "
                           f"{secret_units[unit.fingerprint]}, up to names, strings and layout")
    for where, tree in dict.fromkeys((w, t) for w, _, t in code):
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in secrets.tasks \
                    and not _stub(node):
                reasons.append(f"{where + ': ' if where else ''}implements {node.name} (line {node.lineno}), "
                               f"a function students write in {secrets.tasks[node.name]}")
    return reasons


def guard(files: dict[str, bytes], secrets: Secrets) -> None:
    leaks = scan(files, secrets)
    if leaks:
        raise LeakError(leaks)
