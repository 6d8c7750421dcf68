"""The course's reference results on disk: computed once per course, never trusted blindly."""
from __future__ import annotations

import os
import sqlite3
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
         f"def scalar(x):\n    calls.append(1)\n    time.sleep({2 * MIN_SECONDS})\n    return np.float64(x.sum())\n"
         f"def odd(x):\n    calls.append(1)\n    time.sleep({2 * MIN_SECONDS})\n    return object()\n",
         module.__dict__)
    return module


def _grading(tmp_path, module, salt=b"v1"):
    """One grading's view of the reference (nothing in memory: the store only)."""
    memo = ReferenceMemo(max_bytes=0)
    return memo, memo.wrap(module, "v", ReferenceStore(tmp_path / FILENAME, "ref", salt))


def _rows(tmp_path, table="results"):
    with sqlite3.connect(tmp_path / FILENAME) as db:
        return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_a_result_seen_in_two_gradings_is_stored_and_read_back_exactly(tmp_path):
    module = _module()
    x = np.arange(6.0).reshape(2, 3)
    computed = _grading(tmp_path, module)[1].slow(x)   # first grading: the arguments are noted
    _grading(tmp_path, module)[1].slow(x)              # second: seen before, so stored
    memo, third = _grading(tmp_path, module)
    again = third.slow(x.copy())
    assert len(module.calls) == 2 and memo.stored == 1
    assert type(again) is tuple and again[0].dtype == x.dtype and np.array_equal(again[0], computed[0])
    assert again[1] == {"n": 6}
    third.slow(x, k=3)                                  # other arguments: computed
    assert len(module.calls) == 3
    assert oct(os.stat(tmp_path / FILENAME).st_mode & 0o777) == "0o600"


def test_arguments_seen_once_cost_a_digest_not_a_row(tmp_path):
    """A reference call on what one student returned is never repeated: nothing stored."""
    module = _module()
    for student in range(5):
        _grading(tmp_path, module)[1].slow(np.full(1000, float(student)))
    assert _rows(tmp_path) == 0 and _rows(tmp_path, "seen") == 5


def test_an_edited_reference_computes_afresh_and_its_old_rows_go(tmp_path):
    module = _module()
    x = np.ones(3)
    for _ in range(2):
        _grading(tmp_path, module, salt=b"v1")[1].slow(x)
    assert _rows(tmp_path) == 1
    _grading(tmp_path, module, salt=b"v2")[1].slow(x)
    assert len(module.calls) == 3 and _rows(tmp_path) == 0


def test_quick_results_and_results_the_wire_would_change_are_not_stored(tmp_path):
    module = _module()
    x = np.ones(3)
    for _ in range(3):
        memo, ref = _grading(tmp_path, module)
        ref.quick(x)
        assert type(ref.scalar(x)) is np.float64   # the wire would hand back a float: not stored
        ref.odd(x)                                  # not plain data: not stored, the store stays on
        ref.slow(x)
    assert memo.stored == 1 and _rows(tmp_path) == 1


def test_a_damaged_row_is_computed_again(tmp_path):
    module = _module()
    x = np.ones(4)
    for _ in range(2):
        _grading(tmp_path, module)[1].slow(x)
    with sqlite3.connect(tmp_path / FILENAME) as db:
        value = bytearray(db.execute("SELECT value FROM results").fetchone()[0])
        value[-3] ^= 0xFF
        db.execute("UPDATE results SET value = ?", (bytes(value),))
    memo, ref = _grading(tmp_path, module)
    assert np.array_equal(ref.slow(x)[0], 2 * x) and memo.stored == 0 and len(module.calls) == 3


def test_a_corrupt_store_is_moved_aside_and_made_anew(tmp_path):
    (tmp_path / FILENAME).write_bytes(b"this is not an SQLite database" * 100)
    module = _module()
    x = np.ones(2)
    for _ in range(3):
        assert _grading(tmp_path, module)[1].slow(x)[1] == {"n": 2}
    assert len(module.calls) == 2 and (tmp_path / (FILENAME + ".corrupt")).is_file()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_course_folder_still_reads(tmp_path):
    module = _module()
    x = np.ones(2)
    for _ in range(2):
        _grading(tmp_path, module)[1].slow(x)
    tmp_path.chmod(0o500)
    try:
        memo, ref = _grading(tmp_path, module)
        assert ref.slow(x)[1] == {"n": 2} and memo.stored == 1
    finally:
        tmp_path.chmod(0o700)


def test_a_function_whose_lookups_keep_missing_is_no_longer_looked_up(tmp_path, monkeypatch):
    module = _module()
    for _ in range(2):
        _grading(tmp_path, module)[1].slow(np.ones(2))   # the store now holds results of `slow`
    memo, ref = _grading(tmp_path, module)
    lookups = []
    store_get = ReferenceStore.get
    monkeypatch.setattr(ReferenceStore, "get", lambda self, *a: (lookups.append(1), store_get(self, *a))[1])
    monkeypatch.setattr(time, "sleep", lambda seconds: None)   # quick calls of a slow function
    for k in range(40):
        ref.slow(np.ones(2), k=10 + k)
    assert len(lookups) == 16   # LOOKUPS_TRIED, all missed: then no more
