"""Reference results remembered by a long-lived grader process (a batch or serve worker).

Every student of a batch is graded on the same hidden inputs (they come from the course secret,
the grading seed and the test's id), so the reference's outputs on them are the same for every
student: a worker computes them for its first student and looks them up for the others (the
initialisation assignment's activation experiments cost ~0.5 CPU-s per student otherwise).

Only the reference's public functions called from tests are remembered, and only for arguments
that are plain data (numbers, strings, numeric arrays, and tuples, lists and dicts of them): a
random generator passed in is advanced by the call, so such calls always run. Results are copied
in and out, so a test that changes what it got cannot change what the next student's test gets.
The reference is trusted code and, like every function of the student API, pure.

A memo may also consult a ``ReferenceStore`` (``reference_store``: the course's results on disk,
shared by every grader process) on a miss, and adds to it what took long to compute.
"""
from __future__ import annotations

import copy
import hashlib
import time
import types
from collections import OrderedDict

import numpy as np

from .recording import payload_size
from .reference_store import ReferenceStore

MAX_BYTES = 256 << 20   # arrays kept in all; the least recently used results go first
MAX_DEPTH = 16
LOOKUPS_TRIED = 16   # store lookups of a function before its hit rate decides whether to go on


class _Unkeyable(Exception):
    pass


def _feed(digest, value, depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        raise _Unkeyable
    if value is None or isinstance(value, (bool, int, float, complex, str, np.generic)):
        digest.update(f"{type(value).__name__}:{value!r};".encode())
    elif isinstance(value, np.ndarray) and value.dtype.kind in "biufc":
        digest.update(f"array:{value.dtype.str}:{value.shape};".encode())
        digest.update(np.ascontiguousarray(value).data)
    elif isinstance(value, (tuple, list)):
        digest.update(f"{type(value).__name__}:{len(value)};".encode())
        for item in value:
            _feed(digest, item, depth + 1)
    elif isinstance(value, dict) and all(isinstance(k, str) for k in value):
        digest.update(f"dict:{len(value)};".encode())
        for key in sorted(value):
            _feed(digest, key, depth + 1)
            _feed(digest, value[key], depth + 1)
    else:
        raise _Unkeyable   # a generator, an object: the call runs every time


def _digest(args: tuple, kwargs: dict) -> bytes | None:
    """A digest of plain-data arguments; None when one of them is not plain data."""
    digest = hashlib.sha256()
    try:
        _feed(digest, (args, kwargs))
    except _Unkeyable:
        return None
    return digest.digest()


class ReferenceMemo:
    """Remembers the results of the reference modules it wraps (``wrap``), up to `max_bytes`
    (0: nothing in memory, only the store: one grading rarely calls twice with the same arguments)."""

    def __init__(self, max_bytes: int = MAX_BYTES):
        self._results: OrderedDict[bytes, tuple[object, int]] = OrderedDict()
        self._bytes, self._max_bytes = 0, max_bytes
        self.hits = self.misses = 0
        self.stored = 0   # misses answered by the store
        self._lookups: dict[str, list[int]] = {}   # function -> [store lookups, found]

    def wrap(self, module: types.ModuleType, version: str, store: ReferenceStore | None = None) -> types.ModuleType:
        """A copy of `module` whose public functions remember their results; `version` names
        the reference's source (its path and modification time), part of every key. `store`:
        the course's results on disk, asked on a miss (its keys carry the source's content)."""
        wrapped = types.ModuleType(module.__name__, module.__doc__)
        wrapped.__dict__.update(vars(module))
        wrapped.__wrapped__ = module   # the module itself (a forked reference child serves it)
        for name, value in vars(module).items():
            if isinstance(value, types.FunctionType) and not name.startswith("_"):
                setattr(wrapped, name, self._remembering(value, f"{version}:{name}", name, store))
        return wrapped

    def _remembering(self, function, prefix: str, name: str, store: ReferenceStore | None):
        def call(*args, **kwargs):
            remembering = self._max_bytes > 0
            looking = store is not None and self._worth_looking(store, name)
            arguments = key = None
            if remembering or store is not None:
                arguments = _digest(args, kwargs)
                if arguments is None:
                    return function(*args, **kwargs)
            if remembering or looking:
                key = hashlib.sha256(prefix.encode() + b"\0" + arguments).digest()
                if key in self._results:
                    self.hits += 1
                    self._results.move_to_end(key)
                    return copy.deepcopy(self._results[key][0])
                self.misses += 1
                if looking:
                    found, result = store.get(name, arguments)
                    counts = self._lookups.setdefault(name, [0, 0])
                    counts[0] += 1
                    counts[1] += found
                    if found:
                        self.stored += 1
                        self._keep(key, result)
                        return result
            started = time.perf_counter()
            result = function(*args, **kwargs)
            seconds = time.perf_counter() - started
            if remembering:
                self._keep(key, result)
            # stored only if the call left its arguments as they were (the reference is pure)
            if store is not None and store.worth(seconds) and _digest(args, kwargs) == arguments:
                store.put(name, arguments, result)
            return result
        call.__wrapped__ = function
        call.__name__, call.__doc__ = function.__name__, function.__doc__
        return call

    def _worth_looking(self, store: ReferenceStore, name: str) -> bool:
        """Look `name` up in the store while that pays: it holds results of `name`, and at least
        half of the first LOOKUPS_TRIED lookups found one (a gradient check's hundreds of tiny
        forward calls are too quick to be stored; a lookup would cost more than the call)."""
        lookups, found = self._lookups.get(name, (0, 0))
        return store.holds(name) and (lookups < LOOKUPS_TRIED or 2 * found >= lookups)

    def _keep(self, key: bytes, result) -> None:
        """Keep a copy of `result` (the caller may change the one it returns)."""
        size = payload_size(result)
        if size > self._max_bytes:
            return
        self._results[key] = (copy.deepcopy(result), size)
        self._bytes += size
        while self._bytes > self._max_bytes:
            _, (_, dropped) = self._results.popitem(last=False)
            self._bytes -= dropped
