"""The ``shared`` fixture: results several tests of one grading judge, computed once."""
import numpy as np
import pytest

from grader.sandbox import StudentRaised
from grader.testing.plugin import Shared


def _shared():
    return Shared(lambda name: np.random.default_rng(abs(hash(name)) % 2**32))


def test_computed_once_and_handed_to_every_later_test():
    shared, calls = _shared(), []

    def compute(rng):
        calls.append(rng)
        return rng.integers(1 << 30)
    first = shared.once("stack", compute)
    assert shared.once("stack", compute) == first
    assert len(calls) == 1
    other = shared.once("other", compute)   # another name is another result
    assert len(calls) == 2 and isinstance(other, (int, np.integer))


def test_the_same_error_is_raised_again_without_calling_again():
    shared, calls = _shared(), []
    error = StudentRaised("pretrain_stack", "ValueError", "bad sizes")

    def compute(rng):
        calls.append(1)
        raise error
    for _ in range(3):
        with pytest.raises(StudentRaised) as raised:
            shared.once("stack", compute)
        assert raised.value is error
    assert calls == [1]


def test_an_interrupt_is_not_kept():
    shared, calls = _shared(), []

    def compute(rng):
        calls.append(1)
        if len(calls) == 1:
            raise KeyboardInterrupt
        return "done"
    with pytest.raises(KeyboardInterrupt):
        shared.once("stack", compute)
    assert shared.once("stack", compute) == "done"


def test_a_grading_pretrains_the_stack_once_for_the_three_tests_that_judge_it(tmp_path, monkeypatch):
    """The autoencoder's pretrained stack is computed once per grading (three tests judge it),
    and each grading computes its own."""
    from grader.sandbox.proxy import SandboxedModule
    from tests.helpers import grade, make_submission
    calls = []
    real = SandboxedModule.call
    monkeypatch.setattr(SandboxedModule, "call", lambda self, func, *a, **k: (calls.append(func), real(self, func, *a, **k))[1])
    submission = make_submission(tmp_path, "autoencoder")
    for grading in (1, 2):
        results = grade(submission, ["autoencoder"], keyword="stack or finetune or pretraining")
        assert results["score"] == results["max_score"] > 0
        # one for the shapes test (its own small stack), one shared by the three others
        assert calls.count("pretrain_stack") == 2 * grading
