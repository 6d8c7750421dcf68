"""The reference's results kept on disk, across grader processes, for one course.

Hidden inputs are drawn from the course secret, the grading seed and each test's id, so the
reference's outputs on them are the same in every grading of the course: the initialisation
assignment's activation experiments cost ~0.5 CPU-s of reference work per grading, computed
again by every ``grader grade`` otherwise. ``ReferenceMemo`` (in memory, per process) asks this
store on a miss and offers it what took long to compute.

The store is an SQLite database (``solutions/.reference-results.sqlite``) inside the course
folder, next to the reference it was computed from and hidden from the sandbox wherever the
reference is (bubblewrap; basic mode as root); never part of a release. What it keeps:

- only results that took at least MIN_SECONDS, are at most MAX_VALUE_BYTES in the sandbox's
  wire format (plain data, nothing unpickled) and decode to exactly what was computed;
- only for arguments seen in an earlier grading too (a ``seen`` row of 32 bytes the first
  time): a reference call on what one student returned (the autoencoder's layers are evaluated
  on the student's stack) is never seen twice, so it costs a digest, not a megabyte;
- under keys salted with the reference file's content, the grader's version and NumPy's and
  Python's: another version computes afresh, and rows of a reference's older versions are
  deleted when its new version opens the store.

Each row carries a digest of its key and value, checked when read. Whatever goes wrong with the
file (a read-only course folder: the store only reads; a corrupt database: moved aside and made
anew, once; a full disk) is said once as a warning and never changes a grading.
"""
from __future__ import annotations

import hashlib
import logging
import os
import platform
import sqlite3
import threading
from pathlib import Path

import numpy as np

from .. import __version__
from ..sandbox.runtime import wire

FILENAME = ".reference-results.sqlite"
MIN_SECONDS = 0.002         # results computed faster than this are not worth a database row
MAX_VALUE_BYTES = 256 << 10  # activation curves, losses, small arrays; not a layer's codes on every digit
MAX_FILE_BYTES = 256 << 20   # past this the store only reads
SCHEMA = ("CREATE TABLE IF NOT EXISTS results (key BLOB PRIMARY KEY, source TEXT NOT NULL, salt BLOB NOT NULL, "
          "name TEXT NOT NULL, value BLOB NOT NULL, check_digest BLOB NOT NULL)",
          "CREATE TABLE IF NOT EXISTS seen (key BLOB PRIMARY KEY, source TEXT NOT NULL, salt BLOB NOT NULL)")

_log = logging.getLogger(__name__)
_warned: set[str] = set()
_LOCAL = threading.local()   # per thread: database path -> (connection, opened read-only)


def _warn_once(path: Path, text: str) -> None:
    if str(path) not in _warned:
        _warned.add(str(path))
        _log.warning("reference results store %s: %s (grading goes on without it)", path, text)


def _same(a, b) -> bool:
    """Whether `b` (decoded) is exactly `a` (computed): types, dtypes, shapes, layout and values."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return (a.dtype == b.dtype and a.shape == b.shape and a.flags.c_contiguous == b.flags.c_contiguous
                and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b or (a != a and b != b)   # NaN equals NaN here


class ReferenceStore:
    """Reference results of one reference file, in its course's database. ``get`` and ``put``
    never raise."""

    def __init__(self, path: Path, source: str, salt: bytes):
        self.path, self.source, self._salt = Path(path), source, salt
        self._broken = False
        self._read_only = False
        self._cleaned = False
        self._names: set[str] | None = None   # functions with stored results

    @classmethod
    def for_reference(cls, solution_file: Path, content: bytes) -> ReferenceStore:
        """The store for the reference `solution_file` (``solutions/<name>/<module>.py``) whose
        source, as imported, is `content`."""
        versions = f"\0grader {__version__}\0numpy {np.__version__}\0python {platform.python_version()}"
        salt = hashlib.sha256(content + versions.encode()).digest()
        solution_file = Path(solution_file).resolve()
        return cls(solution_file.parent.parent / FILENAME, solution_file.parent.name, salt)

    # -- the database ---------------------------------------------------------------------------
    def _connection(self) -> sqlite3.Connection | None:
        """This thread's connection to the course's database, opened once per process and thread
        and kept for the next gradings (a descriptor a grading would otherwise leave to the
        garbage collector); the first use by this store deletes its reference's older rows."""
        if self._broken:
            return None
        connections = _LOCAL.__dict__.setdefault("connections", {})
        opened = connections.get(str(self.path))
        if opened is None:
            opened = self._open(retry=True)
            if opened is None:
                return None
            connections[str(self.path)] = opened
        connection, self._read_only = opened
        if not self._cleaned and not self._read_only:
            self._cleaned = True
            try:   # the older versions of this reference will not be asked again
                connection.execute("DELETE FROM results WHERE source = ? AND salt != ?", (self.source, self._salt))
                connection.execute("DELETE FROM seen WHERE source = ? AND salt != ?", (self.source, self._salt))
            except sqlite3.Error as exc:
                self._fail(exc)
                return None
        return connection

    def _open(self, retry: bool) -> tuple[sqlite3.Connection, bool] | None:
        read_only = False
        try:
            try:
                os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))   # the grader's alone
            except OSError:
                if not self.path.is_file():
                    raise
                read_only = True   # a read-only course folder: reads still pay
            if read_only:
                connection = sqlite3.connect(f"{self.path.as_uri()}?mode=ro", uri=True, timeout=5.0,
                                             isolation_level=None)
            else:
                connection = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
                for statement in SCHEMA:
                    connection.execute(statement)
            connection.execute("SELECT count(*) FROM results").fetchone()
            return connection, read_only
        except sqlite3.DatabaseError as exc:
            if retry and not read_only and self.path.is_file():   # corrupt: set it aside, start anew
                try:
                    os.replace(self.path, self.path.with_name(self.path.name + ".corrupt"))
                except OSError:
                    pass
                else:
                    _warn_once(self.path, f"unreadable ({exc}); moved aside to {self.path.name}.corrupt")
                    return self._open(retry=False)
            self._fail(exc)
        except OSError as exc:
            self._fail(exc)
        return None

    def _fail(self, exc: BaseException) -> None:
        _warn_once(self.path, f"{type(exc).__name__}: {exc}")
        self._broken = True

    def _key(self, name: str, arguments: bytes) -> bytes:
        return hashlib.sha256(self._salt + name.encode() + b"\0" + arguments).digest()

    # -- results -------------------------------------------------------------------------------
    def holds(self, name: str) -> bool:
        """Whether results of `name` are stored (the functions too quick to store are not looked up)."""
        if self._names is None:
            connection = self._connection()
            try:
                rows = connection.execute("SELECT DISTINCT name FROM results WHERE source = ? AND salt = ?",
                                          (self.source, self._salt)).fetchall() if connection else []
            except sqlite3.Error as exc:
                self._fail(exc)
                rows = []
            self._names = {row[0] for row in rows}
        return name in self._names

    @staticmethod
    def worth(seconds: float) -> bool:
        return seconds >= MIN_SECONDS

    def get(self, name: str, arguments: bytes):
        """(True, the stored result of `name` on the arguments digested as `arguments`) or (False, None)."""
        connection = self._connection()
        if connection is None:
            return False, None
        key = self._key(name, arguments)
        try:
            row = connection.execute("SELECT value, check_digest FROM results WHERE key = ?", (key,)).fetchone()
            if row is None:
                return False, None
            if hashlib.sha256(key + row[0]).digest() != row[1]:
                _warn_once(self.path, f"a stored result of {name} is damaged; it is computed again")
                return False, None
            return True, wire.decode(row[0])
        except (sqlite3.Error, wire.WireError) as exc:
            self._fail(exc)
            return False, None

    def put(self, name: str, arguments: bytes, result) -> None:
        """Keep `result` if these arguments were seen in an earlier grading, it is small enough
        and it survives the wire format exactly; else only note that they were seen."""
        connection = self._connection()
        if connection is None or self._read_only:
            return
        key = self._key(name, arguments)
        try:
            if connection.execute("SELECT 1 FROM seen WHERE key = ?", (key,)).fetchone() is None:
                connection.execute("INSERT OR IGNORE INTO seen VALUES (?, ?, ?)", (key, self.source, self._salt))
                return
            try:
                data = wire.encode(result)
                if len(data) > MAX_VALUE_BYTES or not _same(result, wire.decode(data)):
                    return
            except (wire.WireError, TypeError, ValueError, OverflowError):
                return   # not plain data: this result is not stored, the others still are
            if self.path.stat().st_size > MAX_FILE_BYTES:
                return
            connection.execute("INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?)",
                               (key, self.source, self._salt, name, data, hashlib.sha256(key + data).digest()))
            if self._names is not None:
                self._names.add(name)
        except (sqlite3.Error, OSError) as exc:
            self._fail(exc)
