"""Trusted checks used by tests: comparisons, gradient checks, timing. Each raises
``CheckFailure`` with a message that names the function, the case and what differs."""
from .compare import assert_close, expect_array, expect_raises, relative_error
from .failure import CheckFailure, clip, quote
from .gradient import batched, check_gradient
from .timing import SpeedJudge, SpeedResult

__all__ = ["CheckFailure", "clip", "quote", "assert_close", "expect_array", "expect_raises", "relative_error",
           "batched", "check_gradient", "SpeedJudge", "SpeedResult"]
