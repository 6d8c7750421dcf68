"""The course's reference results on disk: computed once per course, never trusted blindly."""
from __future__ import annotations

import os
import time
import types

import numpy as np
import pytest

from grader.testing.reference_memo import ReferenceMemo
from grader.testing.reference_store import FILENAME, MIN_SECONDS, ReferenceStore


def _module():
    module = types.ModuleType("ref")
    exec("import time, numpy as np\n"
         "calls = []\n"
         f"def slow(x, k=2):\n    calls.append(1)\n    time.sleep({2 * MIN_SECONDS})\n    return x * k, {{'n': x.size}}\n"
         "def quick(x):\n    calls.append(1)\n    return x + 1\n"
         f"def scalar(x):\n    calls.append(1)\n    time.sleep({2 * MIN_SECONDS})\n    return np.float64(x.sum())\n",
         module.__dict__)
    return module


def _wrapped(tmp_path, module, salt=b"v1"):
    memo = ReferenceMemo(max_bytes=0)   # as one grading uses it: nothing in memory, the store only
    return memo, memo.wrap(module, "v", ReferenceStore(tmp_path / FILENAME, salt))


def test_a_slow_result_is_computed_once_per_course_and_read_back_exactly(tmp_path):
    module = _module()
    x = np.arange(6.0).reshape(2, 3)
    _, first = _wrapped(tmp_path, module)
    computed = first.slow(x)
    memo, second = _wrapped(tmp_path, module)   # another grading process of the same course
    again = second.slow(x.copy())
    assert len(module.calls) == 1 and memo.stored == 1
    assert type(again) is tuple and again[0].dtype == x.dtype and np.array_equal(again[0], computed[0])
    assert again[1] == {"n": 6}
    second.slow(x, k=3)                        # other arguments: computed
    assert len(module.calls) == 2
    assert oct(os.stat(tmp_path / FILENAME).st_mode & 0o777) == "0o600"


def test_an_edited_reference_computes_afresh(tmp_path):
    module = _module()
    x = np.ones(3)
    _wrapped(tmp_path, module, salt=b"v1")[1].slow(x)
    _wrapped(tmp_path, module, salt=b"v2")[1].slow(x)
    assert len(module.calls) == 2


def test_quick_results_and_results_the_wire_would_change_are_not_stored(tmp_path):
    module = _module()
    x = np.ones(3)
    for _ in range(2):
        memo, ref = _wrapped(tmp_path, module)
        ref.quick(x)
        assert type(ref.scalar(x)) is np.float64   # the wire would hand back a float: not stored
    assert len(module.calls) == 4 and memo.stored == 0


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_course_folder_only_turns_the_store_off(tmp_path):
    tmp_path.chmod(0o500)
    try:
        module = _module()
        assert _wrapped(tmp_path, module)[1].slow(np.ones(2))[1] == {"n": 2}
    finally:
        tmp_path.chmod(0o700)


def test_a_corrupt_store_only_turns_the_store_off(tmp_path):
    (tmp_path / FILENAME).write_bytes(b"this is not an SQLite database" * 100)
    module = _module()
    x = np.ones(2)
    for _ in range(2):
        assert _wrapped(tmp_path, module)[1].slow(x)[1] == {"n": 2}
    assert len(module.calls) == 2


def test_a_function_whose_lookups_keep_missing_is_no_longer_looked_up(tmp_path, monkeypatch):
    module = _module()
    _wrapped(tmp_path, module)[1].slow(np.ones(2))        # the store now holds results of `slow`
    memo, ref = _wrapped(tmp_path, module)
    lookups = []
    store_get = ReferenceStore.get
    monkeypatch.setattr(ReferenceStore, "get", lambda self, *a: (lookups.append(1), store_get(self, *a))[1])
    monkeypatch.setattr(time, "sleep", lambda seconds: None)   # quick calls of a slow function
    for k in range(40):
        ref.slow(np.ones(2), k=10 + k)
    assert len(lookups) == 16   # LOOKUPS_TRIED, all missed: then no more
