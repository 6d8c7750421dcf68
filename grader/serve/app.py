"""The ASGI application: pages, login, health, and the middleware every answer passes through.

``create_app`` builds it for a course; the lifespan upgrades the database schema (Alembic)
before the first request and starts the worker processes, and on shutdown (SIGTERM or Ctrl-C
to uvicorn) stops them gracefully (``supervisor``). Every answer carries a strict
Content-Security-Policy (no script runs, nothing is fetched from elsewhere), ``nosniff``, no
referrer and no caching; every request is logged as one JSON line (method, path without its
query, status, milliseconds, account).
"""
from __future__ import annotations

import contextlib
import logging
import time

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import text

from ..course import Course
from ..options import GradeOptions
from . import staff, student
from .accounts import authenticate
from .db import open_engine, sessions, upgrade
from .queue import live_workers
from .security import Signer, cookie_options, new_session, server_secret
from .settings import ServeSettings
from .storage import UploadError
from .supervisor import Supervisor
from .web import (CSP, LoginRequired, PageError, Service, current_account, read_form, render, service,
                  templates_env)

log = logging.getLogger("grader.serve.access")


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
        form = await read_form(request)
        token = form.get("token")
        with service(request).sessions() as db:
            account = authenticate(db, token if isinstance(token, str) else "")
        if account is None:
            log.info("login refused", extra={"client": request.client.host if request.client else ""})
            return render(request, "login.html.j2", 401, error="unknown or replaced token")
        request.state.set_cookie = new_session(account.id, account.token_hash)
        return RedirectResponse("/", 303)

    @app.post("/logout")
    async def logout(request: Request):
        await read_form(request)
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
        workers = live_workers(state.engine, 3 * state.settings.heartbeat_s)
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

    @app.middleware("http")
    async def headers_and_log(request: Request, call_next):
        started = time.perf_counter()
        response: Response = await call_next(request)
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
        log.info("request", extra={"method": request.method, "path": request.url.path, "status": response.status_code,
                                   "ms": round(1000 * (time.perf_counter() - started), 1),
                                   "account": getattr(session, "account_id", None)})
        return response


__all__ = ["create_app"]
