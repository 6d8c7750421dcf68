"""The session cookie and CSRF protection.

The cookie holds ``{"a": account id, "t": a prefix of the account's token hash, "s": the session
id, "c": the CSRF token}``, signed and timestamped with the server's secret (itsdangerous): a student can read
their cookie but not forge another's. It is HttpOnly (no script reads it), SameSite=Strict (no
other site's page sends it), Secure behind HTTPS (``--secure-cookies``), and expires after
``SESSION_S``. A logged-in session is also a row of ``login_sessions`` (the SHA-256 of its
session id), checked on every request: logging out deletes the row, so a copied cookie stops
working at once, and issuing a token again deletes the account's rows. A visitor who is not logged in gets a cookie with only a CSRF token, so the
login form is protected too. Every POST must carry the cookie's CSRF token in its ``csrf``
field (compared in constant time); a form without it is refused with 403.

The secret is ``GRADER_SERVE_SECRET`` (at least 32 characters) or a file ``secret`` in the data
folder, created at first start (32 random bytes, owner-readable only).
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "grader_session"
SESSION_S = 12 * 3600
SECRET_ENV = "GRADER_SERVE_SECRET"
MAX_COOKIE_CHARS = 4096
HASH_PREFIX = 16


@dataclass(frozen=True)
class SessionData:
    account_id: int | None
    token_prefix: str
    csrf: str
    sid: str = ""        # the session id (logged-in sessions): its hash is a row of login_sessions


def server_secret(data_dir: Path) -> str:
    """The signing secret (see the module docstring)."""
    given = os.environ.get(SECRET_ENV, "")
    if given:
        if len(given) < 32:
            raise ValueError(f"{SECRET_ENV} must be at least 32 characters")
        return given
    path = data_dir / "secret"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    return path.read_text(encoding="ascii").strip()


class Signer:
    def __init__(self, secret: str):
        self._serializer = URLSafeTimedSerializer(secret, salt="grader-serve-session")

    def dump(self, data: SessionData) -> str:
        return self._serializer.dumps({"a": data.account_id, "t": data.token_prefix, "c": data.csrf,
                                       "s": data.sid})

    def load(self, cookie: str | None) -> SessionData | None:
        """The session in `cookie`, or None when it is absent, forged, malformed or expired."""
        if not cookie or len(cookie) > MAX_COOKIE_CHARS:
            return None
        try:
            raw = self._serializer.loads(cookie, max_age=SESSION_S)
            account, prefix, csrf, sid = raw["a"], raw["t"], raw["c"], raw.get("s", "")
        except (BadSignature, KeyError, TypeError, AttributeError):
            return None
        if not (account is None or isinstance(account, int)) or not isinstance(prefix, str) \
                or not isinstance(csrf, str) or len(csrf) < 20 or not isinstance(sid, str):
            return None
        return SessionData(account, prefix, csrf, sid)


def new_session(account_id: int | None = None, token_hash: str = "") -> SessionData:
    """A fresh session (new CSRF token); a logged-in one gets a new session id too."""
    sid = secrets.token_urlsafe(32) if account_id is not None else ""
    return SessionData(account_id, token_hash[:HASH_PREFIX], secrets.token_urlsafe(24), sid)


def sid_hash(sid: str) -> str:
    return hashlib.sha256(sid.encode("ascii", "replace")).hexdigest()


def csrf_ok(session: SessionData | None, given: object) -> bool:
    return (session is not None and isinstance(given, str) and 0 < len(given) <= 200
            and hmac.compare_digest(session.csrf.encode(), given.encode()))


def cookie_options(secure: bool) -> dict:
    return {"key": COOKIE, "max_age": SESSION_S, "httponly": True, "samesite": "strict", "secure": secure,
            "path": "/"}
