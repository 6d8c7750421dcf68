"""The service's tables (SQLAlchemy 2) and the one way to open the database.

- ``accounts``: who may log in (a login, a role, the SHA-256 of their token; never the token);
- ``submissions``: every upload (an attempt) with its queue state and lease;
- ``gradings``: every grading recorded (one per finished job: a regrade adds one);
- ``workers``: the worker processes and their heartbeats;
- ``login_sessions``: the sessions open now (the SHA-256 of each cookie's session id): logging
  out deletes the row, so a copied cookie stops working at once;
- ``refusals``: every refused upload (who, which assignment, when, why), for the rate limit on
  refused uploads.

Times are seconds since the epoch (floats), the same in SQLite and PostgreSQL. The schema is
created and upgraded only by the Alembic migrations (``migrations/``, ``upgrade``), which the
server runs at start.
"""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import (Boolean, Float, ForeignKey, Index, Integer, String, Text, create_engine, event)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_MS = 30_000


class Base(DeclarativeBase):
    pass


class Account(Base):
    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(16))                    # "student" | "staff"
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[float] = mapped_column(Float)


class Submission(Base):
    __tablename__ = "submissions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    assignment: Mapped[str] = mapped_column(String(64))
    blob: Mapped[str] = mapped_column(String(80))            # content address: <sha256>.<kind>
    filename: Mapped[str] = mapped_column(String(200))       # the uploaded name, made safe
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[float] = mapped_column(Float)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str] = mapped_column(Text, default="")     # what the intake said at upload
    state: Mapped[str] = mapped_column(String(16))           # "queued" | "running" | "done"
    queued_at: Mapped[float] = mapped_column(Float)
    lease_token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(100), nullable=True)
    lease_until: Mapped[float | None] = mapped_column(Float, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    grading_id: Mapped[int | None] = mapped_column(Integer, nullable=True)   # the current grading
    __table_args__ = (Index("ix_submissions_queue", "state", "queued_at"),
                      Index("ix_submissions_rate", "account_id", "assignment", "created_at"),
                      Index("ix_submissions_fair", "account_id", "state", "queued_at"))


class Grading(Base):
    __tablename__ = "gradings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)   # the lease it was graded under
    finished_at: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))               # graded | empty | refused | error
    score: Mapped[float] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text, default="")
    report_dir: Mapped[str] = mapped_column(String(300))          # relative to the data folder
    seconds: Mapped[float] = mapped_column(Float)
    worker: Mapped[str] = mapped_column(String(100))


class Worker(Base):
    __tablename__ = "workers"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    pid: Mapped[int] = mapped_column(Integer)
    host: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[float] = mapped_column(Float)
    heartbeat_at: Mapped[float] = mapped_column(Float)
    job: Mapped[int | None] = mapped_column(Integer, nullable=True)
    done: Mapped[int] = mapped_column(Integer, default=0)


class LoginSession(Base):
    __tablename__ = "login_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)   # SHA-256 of the cookie's session id
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    created_at: Mapped[float] = mapped_column(Float)


class Refusal(Base):
    __tablename__ = "refusals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    assignment: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)
    status: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(300))
    __table_args__ = (Index("ix_refusals_rate", "account_id", "created_at"),)


def open_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL (readers never block the writer) and a busy timeout,
    so the server and its worker processes share one file."""
    sqlite = url.startswith("sqlite")
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_MS / 1000} if sqlite else {},
                           pool_pre_ping=not sqlite)
    if sqlite:
        @event.listens_for(engine, "connect")
        def _pragmas(connection, _record):  # noqa: ANN001
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()
    return engine


def sessions(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration (Alembic), in this process."""
    from alembic import command
    from alembic.config import Config
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
