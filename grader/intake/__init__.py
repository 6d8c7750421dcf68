"""Intake: from a submission (folder, .zip, .tar.gz/.tgz/.tar) to the file graded for each assignment.

- ``rules``: what is taken in (source files), what is skipped (virtual environments, ``.git``,
  data files...), the caps, the checks of an archive member's name;
- ``reading``: a folder indexed in place, an archive's source files extracted, every member
  checked first (no path escapes, no links, caps on what is written);
- ``locate``: which file is graded for an assignment, with notes (another case, a notebook,
  several copies: identical, or different and *ambiguous*) or the missing-file message that
  names the near misses; ``notebook``: a notebook's code cells as a module.

Anything refused raises ``SubmissionError`` with a one-line reason.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from .locate import Located, locate
from .reading import Budget, Snapshot, extract, index_folder
from .rules import (ARCHIVE_SUFFIXES, MAX_FILES, MAX_TOTAL_BYTES, SubmissionError, is_archive,
                    submission_stem)

__all__ = ["ARCHIVE_SUFFIXES", "MAX_FILES", "MAX_TOTAL_BYTES", "Intake", "Located", "SubmissionError",
           "extract", "is_archive", "open_submission", "submission_stem"]


@dataclass
class Intake:
    """A submission taken in: its source files (``snapshot``) and what was left out."""
    snapshot: Snapshot

    @property
    def root(self) -> Path:
        return self.snapshot.root

    @property
    def ignored(self) -> list[str]:
        return list(self.snapshot.ignored)

    def locate(self, filename: str, skeleton: bytes | None = None) -> Located:
        """What to grade as `filename` (``skeleton``: the file handed out, never preferred)."""
        return locate(self.snapshot, filename, skeleton)

    def prepare(self, located: Located, dest: Path) -> None:
        """Copy the source files of the graded file's folder to the folder `dest` (made if
        missing), and the graded source as ``located.filename`` (a notebook's code, ``Conv.py``
        renamed)."""
        budget = Budget(f"the folder of {located.path}")
        prefix = f"{located.folder}/" if located.folder else ""
        dest.mkdir(parents=True, exist_ok=True)
        for path in self.snapshot.sources:
            if not path.startswith(prefix):
                continue
            data = self.snapshot.read(path)
            budget.add_file()
            budget.add_bytes(len(data))
            target = dest / path[len(prefix):]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        (dest / located.filename).write_bytes(located.source)


@contextlib.contextmanager
def open_submission(submission: Path, scratch: Path):
    """Yield an ``Intake`` for a folder or an archive; raise ``SubmissionError`` when unusable.
    An archive's source files are extracted into `scratch`; a folder's are read in place."""
    submission = Path(submission)
    if not submission.exists():
        raise SubmissionError(f"no such file or folder: {submission}")
    if submission.is_dir():
        yield Intake(index_folder(submission))
    elif is_archive(submission):
        yield Intake(extract(submission, scratch))
    elif submission.suffix in (".py", ".ipynb"):
        raise SubmissionError(f"{submission} is a single file; pass the folder that holds it")
    else:
        raise SubmissionError(f"{submission} is neither a folder nor a .zip/.tar.gz archive")
