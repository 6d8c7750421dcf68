"""The reference's results kept on disk, across grader processes, for one course.

Hidden inputs are drawn from the course secret, the grading seed and each test's id, so the
reference's outputs on them are the same in every grading of the course: the initialisation
assignment's activation experiments cost ~0.5 CPU-s of reference work per grading, computed
again by every ``grader grade`` otherwise. ``ReferenceMemo`` (in memory, per process) asks this
store on a miss and adds what took long to compute.

The store is an SQLite database (``solutions/.reference-results.sqlite``): inside the course
folder, which no sandbox can see (``GradeOptions.hidden_paths``), next to the reference it was
computed from, and never part of a release. Keys are the memo's digests (the function, its
plain-data arguments) extended with the reference file's content hash and NumPy's version, so
an edited reference or another NumPy computes afresh. Values are stored in the sandbox's wire
format (plain data, nothing unpickled), only when they decode to exactly what was computed.
Whatever goes wrong with the file (read-only course folder, a full disk, a locked or corrupt
database) only turns the store off for this process: grading never depends on it.
"""
from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
from pathlib import Path

import numpy as np

from ..sandbox.runtime import wire

FILENAME = ".reference-results.sqlite"
MIN_SECONDS = 0.002       # results computed faster than this are not worth a database row
MAX_VALUE_BYTES = 16 << 20
MAX_FILE_BYTES = 256 << 20   # past this the store only reads

_log = logging.getLogger(__name__)


def _same(a, b) -> bool:
    """Whether `b` (decoded) is exactly `a` (computed): types, dtypes, shapes and values."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b or (a != a and b != b)   # NaN equals NaN here


class ReferenceStore:
    """Reference results of one course, on disk. ``get`` and ``put`` never raise."""

    def __init__(self, path: Path, salt: bytes):
        self.path, self._salt = Path(path), salt
        self._local = threading.local()   # one connection per thread (batch workers may use threads)
        self._broken = False
        self._names: set[str] | None = None   # functions with stored results

    @classmethod
    def for_reference(cls, solution_file: Path) -> ReferenceStore | None:
        """The store of the course that `solution_file` belongs to (``solutions/<name>/<module>.py``),
        salted with the file's content and NumPy's version; None if the file cannot be read."""
        try:
            content = Path(solution_file).read_bytes()
        except OSError:
            return None
        salt = hashlib.sha256(content + b"\0numpy " + np.__version__.encode()).digest()
        return cls(Path(solution_file).resolve().parent.parent / FILENAME, salt)

    def _connection(self) -> sqlite3.Connection | None:
        if self._broken:
            return None
        connection = getattr(self._local, "connection", None)
        if connection is None:
            try:
                os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))   # the grader's alone
                connection = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
                connection.execute("CREATE TABLE IF NOT EXISTS results "
                                   "(key BLOB PRIMARY KEY, name TEXT NOT NULL, value BLOB NOT NULL)")
            except (sqlite3.Error, OSError) as exc:
                self._fail(exc)
                return None
            self._local.connection = connection
        return connection

    def _fail(self, exc: BaseException) -> None:
        _log.debug("reference store %s turned off: %s: %s", self.path, type(exc).__name__, exc)
        self._broken = True

    def _key(self, name: str, arguments: bytes) -> bytes:
        return hashlib.sha256(self._salt + name.encode() + b"\0" + arguments).digest()

    def holds(self, name: str) -> bool:
        """Whether results of `name` are stored (the functions too quick to store are not looked up)."""
        if self._names is None:
            connection = self._connection()
            try:
                rows = connection.execute("SELECT DISTINCT name FROM results").fetchall() if connection else []
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
        try:
            row = connection.execute("SELECT value FROM results WHERE key = ?",
                                     (self._key(name, arguments),)).fetchone()
            return (False, None) if row is None else (True, wire.decode(row[0]))
        except (sqlite3.Error, wire.WireError) as exc:
            self._fail(exc)
            return False, None

    def put(self, name: str, arguments: bytes, result) -> None:
        """Keep `result` if it survives the wire format exactly (and the store has room)."""
        connection = self._connection()
        if connection is None:
            return
        try:
            data = wire.encode(result)
            if len(data) > MAX_VALUE_BYTES or not _same(result, wire.decode(data)):
                return
            if self.path.stat().st_size > MAX_FILE_BYTES:
                return
            connection.execute("INSERT OR REPLACE INTO results VALUES (?, ?, ?)",
                               (self._key(name, arguments), name, data))
            if self._names is not None:
                self._names.add(name)
        except (sqlite3.Error, wire.WireError, OSError, TypeError, ValueError) as exc:
            self._fail(exc)
