"""What the ``student`` fixture hands a test: the sandboxed module's proxy, recording its calls.

Each call's inputs (copied before the call, so a later change by the test cannot alter them) and
what came back are kept for the current test; the plugin keeps them only when the test fails,
for the diagnosis (``grader.diagnosis``), which runs in the grader after the assignment's tests.
Calls with large inputs or outputs are not kept. The proxy itself is unchanged: every call still
crosses the sandbox boundary through ``SandboxedModule.call``.
"""
from __future__ import annotations

import copy
from typing import Callable

import numpy as np

from ..diagnosis import Call, Raised, builtin_kind
from ..sandbox import SandboxedModule, StudentError
from ..sandbox.errors import StudentRaised

MAX_BYTES = 1 << 20   # inputs or outputs larger than this (in array bytes) are not recorded
RECORDED_OF_MANY = 8  # calls recorded of one call_many (the plugin keeps 8 per test anyway)


def payload_size(value, depth: int = 0) -> int:
    """Bytes a value holds, roughly: its arrays' bytes, 64 for anything else; a value nested
    deeper than 4 levels counts as more than MAX_BYTES (too big to keep)."""
    if isinstance(value, np.ndarray):
        return value.nbytes
    if depth > 4:
        return MAX_BYTES + 1
    if isinstance(value, (list, tuple)):
        return sum(payload_size(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return sum(payload_size(v, depth + 1) for v in value.values())
    return 64


class RecordingModule:
    """Forwards to `module`; each student function call is also handed to `record` as a ``Call``."""

    def __init__(self, module: SandboxedModule, record: Callable[[Call], None]):
        self._module, self._record = module, record

    def call(self, func: str, args: tuple = (), kwargs: dict | None = None, timeout: float | None = None):
        kwargs = dict(kwargs or {})
        snapshot = (copy.deepcopy((tuple(args), kwargs))
                    if payload_size(args) + payload_size(kwargs) <= MAX_BYTES else None)
        try:
            result = self._module.call(func, args, kwargs, timeout)
        except StudentError as exc:
            if snapshot is not None and isinstance(exc, StudentRaised):
                self._record(Call(func, *snapshot, Raised(builtin_kind(exc))))
            raise
        if snapshot is not None and payload_size(result) <= MAX_BYTES:
            self._record(Call(func, *snapshot, result))
        return result

    def call_many(self, func: str, arg_sets: list[tuple[tuple, dict]], timeout: float | None = None) -> list:
        """``SandboxedModule.call_many``; its first RECORDED_OF_MANY calls recorded as ``call`` records
        one (the rest are the same function at nearby points: nothing more for the diagnosis)."""
        snapshots = [copy.deepcopy((tuple(args), dict(kwargs or {})))
                     if payload_size(args) + payload_size(kwargs) <= MAX_BYTES else None
                     for args, kwargs in arg_sets[:RECORDED_OF_MANY]]
        results = self._module.call_many(func, arg_sets, timeout)
        for snapshot, result in zip(snapshots, results):
            if snapshot is not None and payload_size(result) <= MAX_BYTES:
                self._record(Call(func, *snapshot, result))
        return results

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        if hasattr(SandboxedModule, name) or name in vars(self._module):
            return getattr(self._module, name)   # the proxy's own methods and attributes
        return lambda *args, **kwargs: self.call(name, args, kwargs)

    def __setattr__(self, name: str, value) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            setattr(self._module, name, value)
