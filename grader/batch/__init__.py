"""Instructor batch grading: every entry of a folder is one student, graded in parallel
(a local process pool or a Dask cluster), resumably, into per-student reports, a gradebook
and a class summary. See ``runner`` for the flow and ``store`` for what survives a kill."""
from .discovery import BatchInputError
from .runner import BatchReport, BatchSettings, Progress, default_jobs, run_batch

__all__ = ["BatchInputError", "BatchReport", "BatchSettings", "Progress", "default_jobs", "run_batch"]
