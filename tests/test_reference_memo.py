"""A batch worker's reference remembers its results across students, safely."""
from __future__ import annotations

import types

import numpy as np

from grader.pipeline import KeptReferences, grade_submission
from grader.reports.results_json import results_dict
from grader.testing.reference_memo import ReferenceMemo
from tests.helpers import COURSE, make_submission


def _module():
    module = types.ModuleType("ref")
    exec("calls = []\n"
         "def double(x, k=2):\n    calls.append(1)\n    return x * k\n"
         "def draw(rng):\n    calls.append(1)\n    return rng.standard_normal(3)\n", module.__dict__)
    return module


def test_plain_data_calls_are_remembered_and_copied_in_and_out():
    memo, module = ReferenceMemo(), _module()
    ref = memo.wrap(module, "v1")
    x = np.arange(4.0)
    first = ref.double(x)
    first[:] = -1                                   # a test changing what it got...
    assert ref.double(np.arange(4.0)).tolist() == [0, 2, 4, 6]   # ...does not change the next answer
    assert len(module.calls) == 1 and (memo.hits, memo.misses) == (1, 1)
    assert ref.double(x, k=3).tolist() == [0, 3, 6, 9] and ref.double(x.astype(np.float32)).dtype == np.float32
    assert len(module.calls) == 3, "other arguments, another dtype: computed"
    assert memo.wrap(module, "v2").double(x).tolist() == [0, 2, 4, 6] and len(module.calls) == 4, "a new version"


def test_a_generator_argument_is_never_remembered():
    memo, module = ReferenceMemo(), _module()
    ref = memo.wrap(module, "v1")
    rng = np.random.default_rng(0)
    a, b = ref.draw(rng), ref.draw(rng)
    assert not np.array_equal(a, b) and len(module.calls) == 2 and memo.hits == 0


def test_the_memory_bound_drops_the_oldest_results():
    memo, module = ReferenceMemo(max_bytes=3 * 800), _module()
    ref = memo.wrap(module, "v1")
    for k in range(5):
        ref.double(np.zeros(100), k=k)              # 800 bytes each
    ref.double(np.zeros(100), k=4)
    ref.double(np.zeros(100), k=0)
    assert (memo.hits, memo.misses) == (1, 6)


def test_a_batch_workers_second_student_gets_the_same_results_without_recomputing(tmp_path):
    kept = KeptReferences()
    try:
        sub = make_submission(tmp_path, "init")
        first = results_dict(grade_submission(sub, COURSE, ["init"], kept=kept))
        computed = kept.memo.misses
        second = results_dict(grade_submission(sub, COURSE, ["init"], kept=kept))
    finally:
        kept.close()
    assert computed > 0 and kept.memo.misses == computed and kept.memo.hits >= computed
    strip = lambda r: [(t["name"], t["score"], t["output"]) for t in r["tests"]]  # noqa: E731
    assert strip(first) == strip(second) and first["score"] == first["max_score"]


def test_a_batch_worker_diagnoses_the_same_mistake_for_every_student(tmp_path):
    from tests.helpers import mistake_submission
    kept = KeptReferences()
    try:
        sub = mistake_submission(tmp_path, "pool", "gradient-spread-over-window")
        diagnoses = [grade_submission(sub, COURSE, ["pool"], kept=kept).assignments[0].diagnoses for _ in range(2)]
    finally:
        kept.close()
    assert diagnoses[0] == diagnoses[1] and len(diagnoses[0]) == 1 and "average pooling" in diagnoses[0][0]
