"""`grader serve`: the submission website; `grader serve tokens`: login tokens from a roster.

    grader serve [--db URL] [--host H] [--port P] [--workers N] [--data DIR]
    grader serve tokens --roster roster.csv | --students DIR [--staff LOGIN ...] [--db URL] [--out FILE]

At start, `grader serve` prints one line on stdout: the URL, the course, the workers and the
sandbox (as asked, and what it resolved to here); its logs are JSON lines on stderr.

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
    """The options of `grader serve`, and its `tokens` verb (a sub-command with only its own options)."""
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
    serve.set_defaults(serve_verb=None, roster=None, students=None, staff=[], out=None)
    verbs = serve.add_subparsers(dest="serve_verb", metavar="tokens", parser_class=type(serve))
    tokens_ = verbs.add_parser("tokens", help="issue login tokens", description="Issue one login token per "
                               "student (and staff login); issuing again replaces a token and ends its sessions.")
    # the options shared with `grader serve` are SUPPRESSed here: given before `tokens`, they are kept
    tokens_.add_argument("--course", type=Path, default=argparse.SUPPRESS, help="course folder (default: "
                         "$GRADER_COURSE, else the current folder or a parent)")
    tokens_.add_argument("--db", default=argparse.SUPPRESS, help="database URL (as for grader serve)")
    tokens_.add_argument("--data", type=Path, default=argparse.SUPPRESS, help="data folder (as for grader serve)")
    tokens_.add_argument("--roster", type=Path, help="CSV with a 'student' column")
    tokens_.add_argument("--students", type=Path, metavar="DIR", help="one student per entry of this "
                         "submissions folder (as grader batch reads it), e.g. build/examples")
    tokens_.add_argument("--staff", action="append", default=[], metavar="LOGIN", help="a staff login (repeatable)")
    tokens_.add_argument("--out", type=Path, help="write login,role,token to this CSV, owner-readable only "
                         "(default: standard output)")
    tokens_.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                         help="print only errors")


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
        noun = "token" if len(issued) == 1 else "tokens"
        sys.stderr.write(f"{len(issued)} {noun} written to {args.out} (earlier tokens of these logins no longer "
                         "work, and their sessions are over)\n")
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
    course, options = course_of(args), options_of(args)
    sandbox = sandbox_of(options)
    app = create_app(settings, course, options)
    print(f"grader serve: http://{settings.host}:{settings.port}/ · course {course.root} · "
          f"{settings.workers} worker{'' if settings.workers == 1 else 's'} · sandbox {sandbox}", flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, access_log=False,
                timeout_graceful_shutdown=int(settings.grace_s))
    return 0


def sandbox_of(options) -> str:
    """The sandbox the workers will use, as asked and as resolved here (refused at start when unusable)."""
    from ..device import DeviceError, resolve_device
    from ..sandbox.config import SandboxUnavailable, resolve_isolation
    try:
        isolation = resolve_isolation(options.sandbox, resolve_device(options.device)[0], probe=True)
    except (SandboxUnavailable, DeviceError) as exc:
        raise CommandError(str(exc)) from None
    return options.sandbox if options.sandbox == isolation.mode else f"{options.sandbox} ({isolation.mode})"
