"""Auto-grader for NumPy deep-learning homework: sandboxed student code, trusted checks."""
__version__ = "0.1.0"
