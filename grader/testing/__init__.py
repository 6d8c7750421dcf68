"""Running assignment tests with pytest inside the grader (trusted side)."""
