"""The ASGI application: pages, login, health, and the middleware every answer passes through.

``create_app`` builds it for a course; the lifespan upgrades the database schema (Alembic)
before the first request and starts the worker processes, and on shutdown (SIGTERM or Ctrl-C
to uvicorn) stops them gracefully (``supervisor``). Every answer carries a strict
Content-Security-Policy (no script runs, nothing is fetched from elsewhere), ``nosniff``, no
referrer and no caching; every request is logged as one JSON line (method, path without its
query, status, milliseconds, account). An unexpected error answers a plain 500 page, with the
same headers, and is logged as that one line (level error, the exception's type and message):
never a traceback.
"""
from __future__ import annotations

import contextlib
import logging
import time

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import text

from ..course import Course
from ..options import GradeOptions
from . import staff, student
from .accounts import MAX_TOKEN_CHARS, authenticate, close_session, open_session
from .db import open_engine, sessions, upgrade
from .queue import alive_workers
from .security import Signer, cookie_options, new_session, server_secret
from .settings import ServeSettings
from .storage import UploadError
from .supervisor import Supervisor
from .web import (CSP, LoginRequired, PageError, Service, current_account, read_form, render, service,
                  session_of, templates_env)

log = logging.getLogger("grader.serve.access")
TOKEN_TOO_LONG = "that is far too long for a login token: paste the token from your tokens file (43 characters)"
INTERNAL_ERROR = ("<!doctype html><title>Server error</title><p>Something went wrong on the server; it has been "
                  "logged. Try again in a moment.</p>")


def create_app(settings: ServeSettings, course: Course, options: GradeOptions = GradeOptions()) -> FastAPI:
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    for sub in ("blobs", "reports", "tmp"):
        (settings.data_dir / sub).mkdir(exist_ok=True)
    engine = open_engine(settings.database_url)
    state = Service(settings, course, engine, sessions(engine), Signer(server_secret(settings.data_dir)),
                    templates_env(), options)
    supervisor = Supervisor(settings, options)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        upgrade(engine)
        supervisor.start()
        logging.getLogger("grader.serve").info("serving", extra={"course": str(course.root),
                                                                  "workers": settings.workers})
        try:
            yield
        finally:
            supervisor.stop()
            engine.dispose()

    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.service, app.state.supervisor = state, supervisor
    app.include_router(student.router)
    app.include_router(staff.router)
    _add_core_routes(app)
    _add_handlers(app)
    return app


def _add_core_routes(app: FastAPI) -> None:
    @app.get("/", response_class=HTMLResponse)
    def index(request: Request):
        account = current_account(request)
        if account is None:
            return RedirectResponse("/login", 303)
        return RedirectResponse("/staff" if account.role == "staff" else "/home", 303)

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request):
        return render(request, "login.html.j2")

    @app.post("/login")
    async def login(request: Request):
        try:
            form = await read_form(request)
        except UploadError:   # a form over 16 KiB: no token is that long
            return render(request, "login.html.j2", 413, error=TOKEN_TOO_LONG)
        token = form.get("token")
        if isinstance(token, str) and len(token.strip()) > MAX_TOKEN_CHARS:
            return render(request, "login.html.j2", 400, error=TOKEN_TOO_LONG)
        with service(request).sessions() as db, db.begin():
            account = authenticate(db, token if isinstance(token, str) else "")
            opened = open_session(db, account) if account is not None else None
        if opened is None:
            log.info("login refused", extra={"client": request.client.host if request.client else ""})
            return render(request, "login.html.j2", 401, error="unknown or replaced token")
        request.state.set_cookie = opened
        return RedirectResponse("/", 303)

    @app.post("/logout")
    async def logout(request: Request):
        await read_form(request)
        with service(request).sessions() as db, db.begin():
            close_session(db, session_of(request))   # the cookie, copied or not, no longer logs in
        request.state.set_cookie = new_session()
        return RedirectResponse("/login", 303)

    @app.get("/health")
    def health(request: Request):
        state = service(request)
        try:
            with state.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001
            return JSONResponse({"status": "down", "database": f"unreachable: {type(exc).__name__}"}, 503)
        workers = alive_workers(state.engine, 3 * state.settings.heartbeat_s, *request.app.state.supervisor.alive())
        ok = state.settings.workers == 0 or bool(workers)
        return JSONResponse({"status": "ok" if ok else "degraded", "database": "ok", "workers": len(workers),
                             "expected_workers": state.settings.workers}, 200 if ok else 503)


def _add_handlers(app: FastAPI) -> None:
    @app.exception_handler(PageError)
    async def page_error(request: Request, exc: PageError):
        return render(request, "error.html.j2", exc.status, message=exc.message, account=current_account(request))

    @app.exception_handler(UploadError)
    async def upload_error(request: Request, exc: UploadError):
        return render(request, "error.html.j2", exc.status, message=str(exc), account=current_account(request))

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired):
        if request.method == "GET":
            return RedirectResponse("/login", 303)
        return render(request, "error.html.j2", 401, message="log in first", account=None)

    @app.exception_handler(404)
    async def not_found(request: Request, exc):
        return render(request, "error.html.j2", 404, message="no such page", account=current_account(request))

    @app.exception_handler(RequestValidationError)
    async def unusable(request: Request, exc: RequestValidationError):   # /submissions/abc: no such page
        status = 404 if any(e.get("loc", ("",))[0] == "path" for e in exc.errors()) else 400
        return render(request, "error.html.j2", status, message="no such page" if status == 404 else "bad request",
                      account=None)

    @app.middleware("http")
    async def headers_and_log(request: Request, call_next):
        started, failure = time.perf_counter(), None
        try:
            response: Response = await call_next(request)
        except Exception as exc:  # noqa: BLE001  (one JSON line, a plain 500 page, never a traceback)
            failure = f"{type(exc).__name__}: {str(exc)[:300]}"
            response = HTMLResponse(INTERNAL_ERROR, 500)
        new = getattr(request.state, "set_cookie", None)
        if new is not None:
            response.set_cookie(value=request.app.state.service.signer.dump(new),
                                **cookie_options(request.app.state.service.settings.secure_cookies))
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers.setdefault("Cache-Control", "no-store")
        session = getattr(request.state, "session", None)
        fields = {"method": request.method, "path": request.url.path[:300], "status": response.status_code,
                  "ms": round(1000 * (time.perf_counter() - started), 1), "account": getattr(session, "account_id", None)}
        if failure is None:
            log.info("request", extra=fields)
        else:
            log.error("request failed", extra={**fields, "error": failure})
        return response


__all__ = ["create_app"]
