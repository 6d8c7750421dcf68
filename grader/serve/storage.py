"""Uploads: read under a cap, stored content-addressed, checked by the grader's intake.

Layout of the data folder: ``blobs/<aa>/<sha256>.<kind>`` (each accepted upload's bytes, named by
their hash, written once, fsynced before the upload is queued), ``reports/<submission>/<lease>/``
(each grading's reports), ``tmp/`` (scratch).

An upload is first *staged* (``stage``: streamed under the cap into ``tmp/``, fsynced) and checked
there by the intake; only an accepted upload is moved into ``blobs/`` (``keep``). A refused one
is deleted (``discard``), so refused uploads never pile up, and a blob another submission
already stored with the same bytes is never touched.

An upload is refused, with a one-line ``UploadError`` and an HTTP status, when its declared
size is over the cap (before a byte of it is read), when the bytes sent pass the cap (as soon
as they do), when its name is not a ``.zip``, ``.tar.gz``/``.tgz``/``.tar``, ``.py`` or
``.ipynb``, or when the intake of ``grader grade`` refuses it (an unsafe archive: a path that
escapes, a link, too many or too large files) or finds no file for the assignment. What the
intake noted (another case, a notebook, copies, ignored files) is kept with the submission.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..course import AssignmentSpec
from ..intake import SubmissionError, open_submission

KINDS = {".tar.gz": "tar.gz", ".tgz": "tar.gz", ".tar": "tar", ".zip": "zip", ".py": "py", ".ipynb": "ipynb"}
FORM_OVERHEAD = 64 << 10   # bytes of a multipart form beyond the file (boundaries, the CSRF field)
CHUNK = 1 << 16


class UploadError(Exception):
    """An upload refused: a one-line message and the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Stored:
    blob: str          # <sha256>.<kind>
    kind: str
    filename: str      # what the student sees (the assignment's file name for a single file)
    size: int
    notes: list[str]


def upload_kind(filename: str) -> str:
    lower = filename.lower()
    for suffix, kind in KINDS.items():
        if lower.endswith(suffix) and len(lower) > len(suffix):
            return kind
    raise UploadError(f"{safe_name(filename)!r} is not a .zip, .tar.gz, .py or .ipynb file")


def safe_name(filename: str) -> str:
    """The uploaded name's last component, reduced to harmless characters (shown, never used as a path)."""
    base = re.split(r"[\\/]", filename or "")[-1]
    return (re.sub(r"[^A-Za-z0-9._ -]+", "_", base).strip(" .") or "upload")[:120]


def too_large(size: int, cap: int) -> UploadError:
    return UploadError(f"the upload is larger than the limit of {cap / (1 << 20):.3g} MiB", 413)


def blob_path(data_dir: Path, blob: str) -> Path:
    if not re.fullmatch(r"[0-9a-f]{64}\.(zip|tar\.gz|tar|py|ipynb)", blob):
        raise ValueError(f"not a blob name: {blob!r}")
    return data_dir / "blobs" / blob[:2] / blob


@dataclass(frozen=True)
class Staged:
    path: Path         # tmp/upload-*.<kind>, fsynced
    blob: str          # its content address: <sha256>.<kind>
    size: int


def stage(data_dir: Path, source, kind: str, cap: int) -> Staged:
    """Copy the open binary file `source` into ``tmp/``, at most `cap` bytes (nothing is left
    behind when it is refused)."""
    scratch = data_dir / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    fd, tmp = tempfile.mkstemp(dir=scratch, prefix="upload-", suffix=f".{kind}")
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(CHUNK):
                size += len(chunk)
                if size > cap:
                    raise too_large(size, cap)
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if size == 0:
            raise UploadError("the upload is empty")
        return Staged(Path(tmp), f"{digest.hexdigest()}.{kind}", size)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def keep(data_dir: Path, staged: Staged) -> str:
    """Move an accepted upload into the blob store (on disk, fsynced, when this returns); its blob name."""
    target = blob_path(data_dir, staged.blob)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        staged.path.unlink(missing_ok=True)
    else:
        os.replace(staged.path, target)
        _fsync_folder(target.parent)
    return staged.blob


def discard(staged: Staged | None) -> None:
    if staged is not None:
        staged.path.unlink(missing_ok=True)


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def materialise(data_dir: Path, blob: str, filename: str, scratch: Path) -> Path:
    """What to hand to the intake: an archive's blob as it is, a single file copied into a new
    folder under `scratch` as `filename`."""
    return _materialise(blob_path(data_dir, blob), filename, scratch)


def _materialise(path: Path, filename: str, scratch: Path) -> Path:
    if path.name.endswith((".py", ".ipynb")):
        folder = scratch / "upload"
        folder.mkdir(parents=True)
        shutil.copyfile(path, folder / filename)
        return folder
    return path


def check_intake(data_dir: Path, staged: Staged, filename: str, spec: AssignmentSpec) -> list[str]:
    """Run the intake on the staged upload; return its notes, or raise ``UploadError``."""
    scratch = Path(tempfile.mkdtemp(dir=data_dir / "tmp", prefix="intake-"))
    try:
        target = _materialise(staged.path, filename, scratch)
        with open_submission(target, scratch / "extract") as intake:
            skeleton = spec.skeleton_file.read_bytes() if spec.skeleton_file.is_file() else None
            located = intake.locate(spec.filename, skeleton)
            if located.error:
                raise UploadError(located.error, 422)
            notes = [f"graded file: {located.path}", *located.notes]
            if intake.ignored:
                notes.append("left out: " + "; ".join(intake.ignored))
            return notes
    except SubmissionError as exc:
        raise UploadError(f"refused: {exc}", 422) from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def single_file_name(kind: str, spec: AssignmentSpec) -> str:
    """A single uploaded file is graded as the assignment's file (``arch.py``, ``arch.ipynb``)."""
    return spec.filename if kind == "py" else f"{spec.module}.ipynb"
