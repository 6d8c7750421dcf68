"""Who is in the batch: one student per entry of SUBMISSIONS_DIR, matched against a roster.

Entry names come from students (the name of an uploaded file), so they are untrusted text:
they become output folder names only after ``folder_name`` has made them safe (a plain
name, no leading dot, nothing that could climb out of the output folder) and unique, and
they are shown only through ``display_name`` (control characters escaped).
"""
from __future__ import annotations

import csv
import hashlib
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from ..intake import ARCHIVE_SUFFIXES, submission_stem

SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")
RESERVED_NAMES = {"gradebook.csv", "summary.html", "con", "nul", "prn", "aux"}  # ours, and Windows' devices
JUNK_ENTRIES = {".DS_Store", "Thumbs.db", "desktop.ini", "__MACOSX"}
ROSTER_ID_COLUMN = "student"
ROSTER_ENTRY_COLUMN = "submission"


class BatchInputError(Exception):
    """Unusable batch input (missing folder, bad roster): one line, exit code 2."""


@dataclass
class Entry:
    """One student of the batch.

    ``path`` is None for a roster student who submitted nothing; ``refusal`` is set when the
    entry is refused before grading (a link, a special file, two entries for one student).
    """
    student: str                       # the student's id (roster id, else the entry name less its suffix)
    folder: str                        # output folder name under DIR: safe and unique
    path: Path | None                  # the entry in SUBMISSIONS_DIR
    refusal: str | None = None
    roster: dict[str, str] = field(default_factory=dict)   # the roster row (extra columns)
    note: str = ""                     # e.g. "not on the roster"

    @property
    def display(self) -> str:
        return display_name(self.student)


def display_name(raw: str) -> str:
    """`raw` with control characters escaped (\\n, \\x1b ...), safe to print or put in a CSV cell."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in raw)


def student_id(entry_name: str) -> str:
    """The student id of an entry: its name without the archive suffix (``alice.tar.gz`` -> ``alice``)."""
    return submission_stem(entry_name)


def is_safe_folder_name(name: str) -> bool:
    return bool(SAFE_NAME.fullmatch(name)) and name.lower() not in RESERVED_NAMES and ".." not in name


def folder_name(raw: str) -> str:
    """A safe output folder name for the student id `raw`.

    A safe id is kept as it is; any other id becomes its safe characters plus a short hash of
    the whole id, so two odd ids never share a folder and the name does not depend on which
    other students are in the batch (a rerun finds the same folder).
    """
    if is_safe_folder_name(raw):
        return raw
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", raw).lstrip("._-").replace("..", "_")[:60] or "student"
    digest = hashlib.sha256(raw.encode("utf-8", "surrogateescape")).hexdigest()[:10]
    return f"{stem}-{digest}"


def _refusal(path: Path) -> str | None:
    """Why the entry at `path` cannot be a submission, or None when it may be one."""
    try:
        info = path.lstat()
    except OSError as exc:
        return f"unreadable entry: {exc.strerror or exc}"
    if stat.S_ISLNK(info.st_mode):
        return "refused: the entry is a symbolic link (links are never followed)"
    if stat.S_ISDIR(info.st_mode):
        return None
    if not stat.S_ISREG(info.st_mode):
        return "refused: the entry is not a regular file or folder"
    return None


def _is_stray_file(path: Path) -> bool:
    """A regular file that is not an archive (``readme.txt``): not a student, listed as ignored."""
    try:
        return stat.S_ISREG(path.lstat().st_mode) and not path.name.lower().endswith(ARCHIVE_SUFFIXES)
    except OSError:
        return False


def discover(submissions: Path, out: Path, ignored: list[str] | None = None) -> list[Entry]:
    """One ``Entry`` per student found in `submissions`, sorted by id (the output folder skipped).
    Only folders and archives are students: other regular files are left out, their names
    appended to `ignored` (escaped for display)."""
    if not submissions.is_dir():
        raise BatchInputError(f"no such folder: {submissions}")
    out_resolved = out.resolve()
    if submissions.resolve() == out_resolved:
        raise BatchInputError("--out must not be the submissions folder itself")
    by_id: dict[str, list[Path]] = {}
    try:
        names = sorted(os.listdir(submissions))
    except OSError as exc:
        raise BatchInputError(f"cannot read {submissions}: {exc.strerror or exc}") from None
    for name in names:
        path = submissions / name
        if name in JUNK_ENTRIES or (not path.is_symlink() and path.resolve() == out_resolved):
            continue
        if _is_stray_file(path):
            if ignored is not None:
                ignored.append(display_name(name))
            continue
        by_id.setdefault(student_id(name), []).append(path)
    entries = []
    for sid, paths in sorted(by_id.items()):
        if len(paths) > 1:
            listed = ", ".join(display_name(p.name) for p in paths)
            entries.append(Entry(sid, folder_name(sid), paths[0],
                                 refusal=f"refused: {len(paths)} entries for this student ({listed}); keep one"))
        else:
            entries.append(Entry(sid, folder_name(sid), paths[0], refusal=_refusal(paths[0])))
    return entries


@dataclass(frozen=True)
class Roster:
    """A class list: one row per student, in the file's order."""
    columns: tuple[str, ...]           # the CSV's columns, ``student`` first
    rows: tuple[dict[str, str], ...]


def read_roster(path: Path) -> Roster:
    """Read a roster CSV; raise ``BatchInputError`` (one line) when it is unusable.

    Required column ``student`` (the id used in the gradebook and for the output folder);
    optional ``submission`` (the entry name in SUBMISSIONS_DIR without its archive suffix,
    when it differs from the id); any other columns (name, email, ...) are copied to the
    gradebook.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise BatchInputError(f"cannot read the roster {path}: {exc}") from None
    try:
        reader = csv.DictReader(text.splitlines())
        fields = [f.strip() for f in (reader.fieldnames or [])]
        raw_rows = list(reader)
    except csv.Error as exc:
        raise BatchInputError(f"roster {path}: not a CSV file ({exc})") from None
    lowered = [f.lower() for f in fields]
    if ROSTER_ID_COLUMN not in lowered:
        raise BatchInputError(f"roster {path}: no '{ROSTER_ID_COLUMN}' column (columns: {', '.join(fields) or 'none'})")
    if len(set(lowered)) != len(lowered):
        raise BatchInputError(f"roster {path}: a column name appears twice")
    rename = {orig: low if low in (ROSTER_ID_COLUMN, ROSTER_ENTRY_COLUMN) else new
              for orig, new, low in zip(reader.fieldnames or [], fields, lowered, strict=True)}
    rows, seen = [], set()
    for number, raw in enumerate(raw_rows, start=2):
        if None in raw:
            raise BatchInputError(f"roster {path}, line {number}: more cells than columns")
        row = {rename[k]: (v or "").strip() for k, v in raw.items()}
        if not any(row.values()):
            continue
        sid = row[ROSTER_ID_COLUMN]
        if not sid:
            raise BatchInputError(f"roster {path}, line {number}: empty '{ROSTER_ID_COLUMN}'")
        if sid in seen:
            raise BatchInputError(f"roster {path}, line {number}: student {display_name(sid)!r} listed twice")
        seen.add(sid)
        rows.append(row)
    if not rows:
        raise BatchInputError(f"roster {path}: no students listed")
    columns = tuple([ROSTER_ID_COLUMN] + [rename[k] for k in (reader.fieldnames or [])
                                          if rename[k] not in (ROSTER_ID_COLUMN, ROSTER_ENTRY_COLUMN)])
    return Roster(columns=columns, rows=tuple(rows))


def apply_roster(entries: list[Entry], roster: Roster | None) -> list[Entry]:
    """Match entries to roster rows: roster students first (in roster order, a missing one with
    ``path=None``), then entries not on the roster (graded, with a note)."""
    if roster is None:
        return entries
    by_name = {e.student: e for e in entries}
    by_folded: dict[str, list[Entry]] = {}
    for e in entries:
        by_folded.setdefault(e.student.casefold(), []).append(e)
    used: set[int] = set()
    result = []
    for row in roster.rows:
        sid = row[ROSTER_ID_COLUMN]
        wanted = row.get(ROSTER_ENTRY_COLUMN) or sid
        entry = by_name.get(wanted)
        if entry is None and len(by_folded.get(wanted.casefold(), [])) == 1:
            entry = by_folded[wanted.casefold()][0]
        extra = {k: v for k, v in row.items() if k not in (ROSTER_ID_COLUMN, ROSTER_ENTRY_COLUMN)}
        if entry is None or id(entry) in used:
            result.append(Entry(sid, folder_name(sid), None, roster=extra))
            continue
        used.add(id(entry))
        result.append(Entry(sid, folder_name(sid), entry.path, refusal=entry.refusal, roster=extra))
    for e in entries:
        if id(e) not in used:
            e.note = "not on the roster"
            result.append(e)
    return result


def make_folders_unique(entries: list[Entry], reserved: set[str] = frozenset()) -> None:
    """Give later entries whose folder name clashes with an earlier one or with a `reserved`
    name (ignoring case, as some file systems do) a numbered folder instead: ``name-2``..."""
    taken: set[str] = {name.casefold() for name in reserved}
    for e in entries:
        name, n = e.folder, 1
        while name.casefold() in taken:
            n += 1
            name = f"{e.folder}-{n}"
        e.folder = name
        taken.add(name.casefold())
