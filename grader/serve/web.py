"""What every page shares: the service's state, the logged-in account, CSRF, bounded forms,
rendering through the service's Jinja templates (autoescaped), one-line errors."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker
from starlette.datastructures import FormData
from starlette.formparsers import FormParser, MultiPartParser, MultiPartException

from ..course import Course
from .accounts import session_account
from .db import Account
from .security import COOKIE, SessionData, Signer, csrf_ok, new_session
from .settings import Policy, ServeSettings, read_policy
from .storage import too_large

TEMPLATES = Path(__file__).resolve().parent / "templates"
SMALL_FORM = 16 << 10       # bytes of a form without a file (login, regrade)
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")


class PageError(Exception):
    """Answer with `status` and a one-line message (shown on the error page)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


class LoginRequired(Exception):
    pass


@dataclass
class Service:
    settings: ServeSettings
    course: Course
    engine: Engine
    sessions: sessionmaker
    signer: Signer
    templates: jinja2.Environment
    options: object = None

    def policy(self) -> Policy:
        return read_policy(self.course.root)


def templates_env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["points"] = lambda x: "" if x is None else f"{x:g}"
    return env


def service(request: Request) -> Service:
    return request.app.state.service


def session_of(request: Request) -> SessionData | None:
    if not hasattr(request.state, "session"):
        request.state.session = service(request).signer.load(request.cookies.get(COOKIE))
    return request.state.session


def ensure_session(request: Request) -> SessionData:
    """The visitor's session, a fresh anonymous one (with a CSRF token) when there is none."""
    session = session_of(request)
    if session is None:
        session = request.state.session = new_session()
        request.state.set_cookie = session
    return session


def current_account(request: Request) -> Account | None:
    session = session_of(request)
    if session is None or session.account_id is None:
        return None
    with service(request).sessions() as db:
        return session_account(db, session)   # None once logged out or the token issued again


def require_account(request: Request) -> Account:
    account = current_account(request)
    if account is None:
        raise LoginRequired()
    return account


def require_staff(request: Request) -> Account:
    account = require_account(request)
    if account.role != "staff":
        raise PageError(403, "this page is for course staff")
    return account


async def _bounded(request: Request, limit: int, shown: int):
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise too_large(received, shown)
        yield chunk


async def read_form(request: Request, limit: int = SMALL_FORM, files: int = 0, shown: int | None = None) -> FormData:
    """The request's form, refused (413) when its declared size or the bytes sent pass `limit`
    (the message names `shown`: the file's cap), and refused (403) without the session's CSRF token."""
    shown = limit if shown is None else shown
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(int(declared), shown)
    kind = request.headers.get("content-type", "")
    try:
        if kind.startswith("multipart/form-data"):
            form = await MultiPartParser(request.headers, _bounded(request, limit, shown), max_files=files,
                                         max_fields=8, max_part_size=4096).parse()
        elif kind.startswith("application/x-www-form-urlencoded"):
            form = await FormParser(request.headers, _bounded(request, limit, shown), max_fields=8,
                                    max_part_size=4096).parse()
        elif not kind and declared in ("", "0"):
            form = FormData()   # an empty POST: refused below for want of a CSRF token
        else:
            raise PageError(415, "send the page's form (multipart or urlencoded)")
    except MultiPartException as exc:
        raise PageError(400, f"malformed form: {exc.message}") from None
    if not csrf_ok(session_of(request), form.get("csrf")):
        await form.close()
        raise PageError(403, "the form has expired or did not come from this site (CSRF check): reload the page")
    return form


def render(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
    session = ensure_session(request)
    account = context.pop("account", None)
    html = service(request).templates.get_template(name).render(
        csrf=session.csrf, account=account, course=service(request).course.root.name, **context)
    return HTMLResponse(html, status_code=status)


__all__ = ["CSP", "LoginRequired", "PageError", "Service", "current_account", "ensure_session",
           "read_form", "render", "require_account", "require_staff", "service", "session_of", "templates_env"]
