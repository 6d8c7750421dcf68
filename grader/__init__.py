"""Auto-grader for NumPy deep-learning homework: sandboxed student code, trusted checks."""
__version__ = "0.1.0"


def check(name: str, path=None, **options):
    """The self-check in Python or Jupyter: ``grader.check("conv")`` runs the public tests of an
    assignment on your file and returns a table (see `grader.notebook.check`)."""
    from .notebook import check as notebook_check   # the package's front door: loaded when called
    return notebook_check(name, path, **options)
