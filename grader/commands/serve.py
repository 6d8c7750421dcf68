"""`grader serve`: the submission website; `grader serve tokens`: login tokens from a roster.

    grader serve [--db URL] [--host H] [--port P] [--workers N] [--data DIR]
    grader serve tokens --roster roster.csv | --students DIR [--staff LOGIN ...] [--db URL] [--out FILE]

Exit codes: 0 when the server stopped normally or the tokens were issued; 2 for unusable
input (no course, a bad roster, an unreachable database, a bad option), with a one-line message.
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import sys
from pathlib import Path

from .common import CommandError, course_of, options_of


def add_parser(serve: argparse.ArgumentParser) -> None:
    """The options of `grader serve` (and its `tokens` verb)."""
    serve.add_argument("--db", help="database URL (default: SQLite in <course>/.serve/grader.db); "
                       "e.g. postgresql+psycopg://user@host/grader")
    serve.add_argument("--data", type=Path, help="folder for uploads, reports and the cookie secret "
                       "(default: <course>/.serve)")
    serve.add_argument("--host", default=None, help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default: 8000)")
    serve.add_argument("--workers", type=int, default=None, help="grading worker processes (default: 1)")
    serve.add_argument("--lease-seconds", type=float, default=None, dest="lease_s",
                       help="a job whose worker is silent this long is graded again (default: 60)")
    serve.add_argument("--heartbeat-seconds", type=float, default=None, dest="heartbeat_s",
                       help="how often a worker renews its lease (default: 5)")
    serve.add_argument("--secure-cookies", action="store_true", help="mark the session cookie Secure "
                       "(behind an HTTPS reverse proxy)")
    serve.add_argument("serve_verb", nargs="?", choices=["tokens"], help="tokens: issue login tokens")
    serve.add_argument("--roster", type=Path, help="with tokens: CSV with a 'student' column")
    serve.add_argument("--students", type=Path, metavar="DIR", help="with tokens: one student per entry of this "
                       "submissions folder (as grader batch reads it), e.g. build/examples")
    serve.add_argument("--staff", action="append", default=[], metavar="LOGIN",
                       help="with tokens: a staff login (repeatable)")
    serve.add_argument("--out", type=Path, help="with tokens: write login,role,token to this CSV "
                       "(default: standard output)")


def settings_of(args: argparse.Namespace):
    from ..serve.settings import ServeSettings
    given = {k: getattr(args, k) for k in ("host", "port", "workers", "lease_s", "heartbeat_s")
             if getattr(args, k, None) is not None}
    return ServeSettings(course_root=course_of(args).root, db_url=args.db, data=args.data,
                         secure_cookies=args.secure_cookies, **given).check()


def run(args: argparse.Namespace) -> int:
    try:
        from sqlalchemy.exc import SQLAlchemyError
        from ..batch.discovery import BatchInputError
        from ..course import CourseError
        from ..serve.settings import SettingsError
    except ImportError as exc:
        raise CommandError(f"grader serve needs its dependencies ({exc.name}): pip install -e .") from None
    try:
        settings = settings_of(args)
        return tokens(args, settings) if args.serve_verb == "tokens" else serve(args, settings)
    except (CourseError, SettingsError, BatchInputError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    except SQLAlchemyError as exc:
        raise CommandError(f"database: {str(exc).splitlines()[0][:300]}") from None
    except ModuleNotFoundError as exc:   # a database driver: psycopg for PostgreSQL
        raise CommandError(f"the database driver {exc.name!r} is not installed "
                           "(PostgreSQL: pip install 'dl-grader[postgres]')") from None


def tokens(args: argparse.Namespace, settings) -> int:
    from ..batch.discovery import discover, read_roster
    from ..serve.accounts import issue
    from ..serve.db import open_engine, sessions, upgrade
    if args.roster is None and args.students is None and not args.staff:
        raise CommandError("grader serve tokens needs --roster CSV, --students DIR and/or --staff LOGIN")
    students = [row["student"] for row in read_roster(args.roster).rows] if args.roster else []
    if args.students is not None:
        students += [e.student for e in discover(args.students, settings.data_dir) if e.student not in students]
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    engine = open_engine(settings.database_url)
    upgrade(engine)
    with sessions(engine)() as db, db.begin():
        issued = issue(db, students, "student") + issue(db, args.staff, "staff")
    engine.dispose()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["login", "role", "token"])
    writer.writerows([(i.login, i.role, i.token) for i in issued])
    if args.out:
        fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)   # secrets: owner only
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(buffer.getvalue())
        sys.stderr.write(f"{len(issued)} tokens written to {args.out} (earlier tokens of these logins no longer work)\n")
    else:
        sys.stdout.write(buffer.getvalue())
    return 0


def serve(args: argparse.Namespace, settings) -> int:
    import uvicorn
    from ..serve.app import create_app
    from ..serve.logs import setup_logging
    from ..serve.settings import read_policy
    setup_logging("warning" if args.quiet else "info")
    read_policy(settings.course_root)   # a broken course.toml is said before the server starts
    app = create_app(settings, course_of(args), options_of(args))
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, access_log=False,
                timeout_graceful_shutdown=int(settings.grace_s))
    return 0
