"""Every option of `grader serve`, declared once with its default.

The service's options come from the command line (``ServeSettings``); the course's policies
(rate limit, deadlines, late policy, which attempt counts) from the ``[serve]`` table of
``course.toml`` in the course folder (``Policy``), so staff change them without restarting
anything but the server. Bad values raise ``SettingsError`` with a one-line message.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DATA_FOLDER = ".serve"           # under the course folder: database, uploads, reports, secret
LATE_POLICIES = ("flag", "refuse")
COUNTS = ("best", "last")
MAX_CONFIG_BYTES = 1 << 20


class SettingsError(Exception):
    """An unusable option or course.toml (one line)."""


@dataclass(frozen=True)
class ServeSettings:
    course_root: Path
    db_url: str | None = None    # None: SQLite in the data folder
    data: Path | None = None     # None: <course>/.serve
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    lease_s: float = 60.0        # a job whose worker stops heartbeating for this long is taken again
    heartbeat_s: float = 5.0
    poll_s: float = 1.0          # an idle worker looks for jobs this often
    grace_s: float = 30.0        # on shutdown, running jobs get this long before their worker is killed
    secure_cookies: bool = False  # set behind HTTPS (a reverse proxy)
    max_attempts: int = 3        # a job whose worker died this many times is recorded as an error

    @property
    def data_dir(self) -> Path:
        return (self.data or self.course_root / DATA_FOLDER).resolve()

    @property
    def database_url(self) -> str:
        return self.db_url or f"sqlite:///{self.data_dir / 'grader.db'}"

    def check(self) -> "ServeSettings":
        if self.workers < 0:
            raise SettingsError(f"--workers must be 0 or more (got {self.workers})")
        if not 0 < self.port < 65536:
            raise SettingsError(f"--port must be between 1 and 65535 (got {self.port})")
        if self.heartbeat_s <= 0 or self.lease_s < 2 * self.heartbeat_s:
            raise SettingsError("--lease-seconds must be at least twice the heartbeat interval")
        return self


@dataclass(frozen=True)
class Policy:
    """What course.toml's [serve] table says (each key optional)."""
    rate_limit: int = 10                 # accepted uploads per student, assignment and hour
    refused_limit: int = 20              # refused uploads per student and hour (all assignments)
    late: str = "flag"                   # past the deadline: accept and flag, or refuse
    counts: str = "best"                 # which graded attempt counts: the best or the last
    max_upload_mib: float = 20.0         # uploads over this are refused before they are read in full
    deadlines: dict[str, datetime] = field(default_factory=dict)   # assignment -> deadline (aware)

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mib * (1 << 20))

    def deadline(self, assignment: str) -> datetime | None:
        return self.deadlines.get(assignment)

    def is_late(self, assignment: str, now: float) -> bool:
        due = self.deadline(assignment)
        return due is not None and now > due.timestamp()


def read_policy(course_root: Path) -> Policy:
    """The [serve] table of <course>/course.toml (declared defaults without one)."""
    path = course_root / "course.toml"
    if not path.is_file():
        return Policy()
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
        if len(raw) > MAX_CONFIG_BYTES:
            raise SettingsError(f"{path}: larger than 1 MiB")
        table = tomllib.loads(raw.decode("utf-8")).get("serve", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"{path}: {exc}") from None
    if not isinstance(table, dict):
        raise SettingsError(f"{path}: [serve] must be a table")
    known = {"rate_limit", "refused_limit", "late", "counts", "max_upload_mib", "deadlines"}
    if set(table) - known:
        raise SettingsError(f"{path}: unknown key(s) in [serve]: {', '.join(sorted(set(table) - known))}")
    policy = Policy(**{k: v for k, v in table.items() if k != "deadlines"},
                    deadlines=_deadlines(path, table.get("deadlines", {})))
    if not isinstance(policy.rate_limit, int) or policy.rate_limit < 1:
        raise SettingsError(f"{path}: serve.rate_limit must be a whole number of at least 1")
    if not isinstance(policy.refused_limit, int) or policy.refused_limit < 1:
        raise SettingsError(f"{path}: serve.refused_limit must be a whole number of at least 1")
    if policy.late not in LATE_POLICIES:
        raise SettingsError(f"{path}: serve.late must be one of {', '.join(LATE_POLICIES)}")
    if policy.counts not in COUNTS:
        raise SettingsError(f"{path}: serve.counts must be one of {', '.join(COUNTS)}")
    if not isinstance(policy.max_upload_mib, (int, float)) or not 0 < policy.max_upload_mib <= 1024:
        raise SettingsError(f"{path}: serve.max_upload_mib must be a number in (0, 1024]")
    return policy


def _deadlines(path: Path, table) -> dict[str, datetime]:
    if not isinstance(table, dict):
        raise SettingsError(f"{path}: [serve.deadlines] must be a table of assignment = date-time")
    found = {}
    for name, value in table.items():
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                raise SettingsError(f"{path}: serve.deadlines.{name}: not an ISO 8601 date-time") from None
        if not isinstance(value, datetime):
            raise SettingsError(f"{path}: serve.deadlines.{name}: not a date-time")
        if value.tzinfo is None or value.utcoffset() is None:   # whose clock? refused, not guessed
            raise SettingsError(f"{path}: serve.deadlines.{name}: give a UTC offset "
                                f"(e.g. {value.isoformat()}+01:00, or Z for UTC)")
        found[str(name)] = value
    return found
