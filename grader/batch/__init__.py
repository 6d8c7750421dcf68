"""Instructor batch grading: every entry of a folder is one student, graded in parallel
(a local process pool or a Dask cluster), resumably, into per-student reports, a gradebook
and a class summary. See ``class_batch`` for the flow, ``store`` for what survives a kill and
``records`` for what the batch knows of each student."""
from .discovery import BatchInputError
from .class_batch import BatchReport, BatchSettings, Progress, default_jobs, run_batch

__all__ = ["BatchInputError", "BatchReport", "BatchSettings", "Progress", "default_jobs", "run_batch"]
