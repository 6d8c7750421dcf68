"""The catalogue of typical mistakes: `solutions/<name>/mistakes.py` (instructor only, beside the
reference), read here for `grader validate --mistakes`, for the framework's mutant tests and for
the diagnosis in grading (``grader.diagnosis``).

A catalogue file defines ``MISTAKES``, a list of dictionaries, each one small change of the
reference::

    {"name": "flipped-kernel",
     "explanation": "a true convolution: the kernel is flipped; the lecture's layer is a cross-correlation",
     "replace": [(old, new), ...],   # applied in order to the reference's source; each old must occur
     "append": "def f(...): ...",    # appended: functions (or assignments) overriding the reference's
     "fails": [selector, ...],       # the tests it must fail (any selector matches)
     "may_fail": [selector, ...]}    # tests it may fail too (training on the broken function...)

A selector picks tests by their tags and name: ``{"all_of": [...], "any_of": [...], "none_of":
[...], "name": "<regular expression searched in the test's name>"}`` (every given key must hold).
The catalogue is trusted instructor code: it is read and its variants run in the grader process,
never in the sandbox.
"""
from __future__ import annotations

import importlib.util
import inspect
import re
import sys
import types
from dataclasses import dataclass, field

from .course import AssignmentSpec

CATALOGUE_FILE = "mistakes.py"


class MistakeError(Exception):
    """A catalogue entry is malformed or no longer applies to the reference (one line)."""


@dataclass(frozen=True)
class Mistake:
    name: str
    explanation: str
    replace: tuple[tuple[str, str], ...] = ()
    append: str = ""
    fails: tuple[dict, ...] = ()
    may_fail: tuple[dict, ...] = ()

    def source(self, reference: str) -> str:
        """The reference's source with this mistake made; MistakeError when an edit no longer applies."""
        text = reference
        for old, new in self.replace:
            if old not in text:
                raise MistakeError(f"{self.name}: {old!r} is not in the reference any more")
            text = text.replace(old, new)
        return text + ("\n\n" + self.append if self.append else "")

    def declared(self, name: str, tags) -> bool:
        """Whether the test (`name`, `tags`) is one this mistake must fail."""
        return any(selected(s, name, tags) for s in self.fails)

    def tolerated(self, name: str, tags) -> bool:
        """Whether the test may fail with this mistake, without being declared."""
        return any(selected(s, name, tags) for s in self.may_fail)

    @property
    def diagnosis(self) -> str:
        return f"Likely mistake: {self.explanation}"


def selected(selector: dict, name: str, tags) -> bool:
    tags = set(tags)
    return (set(selector.get("all_of", ())) <= tags
            and (not selector.get("any_of") or bool(set(selector["any_of"]) & tags))
            and not set(selector.get("none_of", ())) & tags
            and (not selector.get("name") or re.search(selector["name"], name) is not None))


def catalogue_file(spec: AssignmentSpec):
    return spec.solution_folder / CATALOGUE_FILE


def catalogue(spec: AssignmentSpec) -> list[Mistake]:
    """The assignment's typical mistakes ([] where it has no catalogue); MistakeError if malformed."""
    path = catalogue_file(spec)
    if not path.is_file():
        return []
    loader_spec = importlib.util.spec_from_file_location(f"_grader_mistakes_{spec.name}", path)
    module = importlib.util.module_from_spec(loader_spec)
    loader_spec.loader.exec_module(module)
    entries = []
    for entry in getattr(module, "MISTAKES", None) or []:
        try:
            entries.append(Mistake(
                name=str(entry["name"]), explanation=str(entry["explanation"]),
                replace=tuple((str(old), str(new)) for old, new in entry.get("replace", ())),
                append=str(entry.get("append", "")), fails=tuple(entry.get("fails", ())),
                may_fail=tuple(entry.get("may_fail", ()))))
        except (KeyError, TypeError, ValueError) as exc:
            raise MistakeError(f"{path}: malformed entry {entry!r:.80}: {exc}") from None
    names = [e.name for e in entries]
    if len(set(names)) != len(names):
        raise MistakeError(f"{path}: entry names repeat")
    return entries


def find(spec: AssignmentSpec, name: str) -> Mistake:
    for mistake in catalogue(spec):
        if mistake.name == name:
            return mistake
    raise MistakeError(f"{spec.name} has no catalogued mistake {name!r}")


def variant_module(spec: AssignmentSpec, mistake: Mistake) -> types.ModuleType:
    """The reference with `mistake` made, as a module of the grader process (trusted code)."""
    name = "_grader_mistake_" + re.sub(r"\W", "_", f"{spec.name}_{mistake.name}")
    module = types.ModuleType(name)
    module.__file__ = str(spec.solution_file)
    sys.modules[name] = module  # dataclasses and friends look their module up
    exec(compile(mistake.source(spec.solution_file.read_text()), f"<mistake {mistake.name}>", "exec"),
         module.__dict__)
    return module


def _code_key(code: types.CodeType):
    return (code.co_code, code.co_names,
            tuple(_code_key(c) if isinstance(c, types.CodeType) else repr(c) for c in code.co_consts))


def _names(code: types.CodeType) -> set[str]:
    found = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            found |= _names(const)
    return found


def changed_functions(variant: types.ModuleType, reference: types.ModuleType) -> set[str]:
    """The public functions whose behaviour the mistake may change: those whose code differs from
    the reference's (or that are bound to another function), and those that use one of them."""
    functions = {n: f for n, f in vars(variant).items() if inspect.isfunction(f)}
    changed = set()
    for name, function in functions.items():
        original = getattr(reference, name, None)
        original = inspect.unwrap(original) if inspect.isfunction(original) else original   # a remembering wrapper
        if (not inspect.isfunction(original) or function.__name__ != original.__name__
                or _code_key(function.__code__) != _code_key(original.__code__)):
            changed.add(name)
    grown = True
    while grown:
        more = {n for n, f in functions.items() if n not in changed and _names(f.__code__) & changed}
        changed |= more
        grown = bool(more)
    return {n for n in changed if not n.startswith("_")}
