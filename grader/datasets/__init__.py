"""Datasets for tests (trusted side): real handwritten digits available offline."""
from grader.datasets.digits import Digits, load_digits, read_idx

__all__ = ["Digits", "load_digits", "read_idx"]
