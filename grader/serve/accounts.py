"""Accounts without passwords: one secret login token per person, stored hashed.

A token is 32 random bytes (``secrets.token_urlsafe``): guessing one is hopeless, so a plain
SHA-256 is enough to store it (a leaked database gives no usable token). Issuing a token again
replaces the old one, which stops working at once, and ends the sessions opened with it (their
rows in ``login_sessions`` are deleted, and the session cookie carries a prefix of the token's
hash). ``open_session`` and ``close_session`` record a login and a logout.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .db import Account, LoginSession
from .security import SESSION_S, SessionData, new_session, sid_hash

ROLES = ("student", "staff")
MAX_TOKEN_CHARS = 200
MAX_LOGIN_CHARS = 200


@dataclass(frozen=True)
class Issued:
    login: str
    role: str
    token: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def issue(session: Session, logins: list[str], role: str) -> list[Issued]:
    """A fresh token for each login (new accounts created); the caller commits."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    issued = []
    for login in logins:
        if not login or len(login) > MAX_LOGIN_CHARS or not login.isprintable():
            raise ValueError(f"unusable login {login[:40]!r}: 1 to {MAX_LOGIN_CHARS} printable characters")
        token = secrets.token_urlsafe(32)
        account = session.scalar(select(Account).where(Account.login == login))
        if account is None:
            account = Account(login=login, role=role, token_hash=token_hash(token), created_at=time.time())
            session.add(account)
        else:
            account.role, account.token_hash = role, token_hash(token)
            session.execute(delete(LoginSession).where(LoginSession.account_id == account.id))
        issued.append(Issued(login, role, token))
    return issued


def authenticate(session: Session, token: str) -> Account | None:
    """The account whose token is `token`, or None."""
    token = token.strip()
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    wanted = token_hash(token)
    account = session.scalar(select(Account).where(Account.token_hash == wanted))
    if account is None or not hmac.compare_digest(account.token_hash, wanted):
        return None
    return account


def open_session(session: Session, account: Account) -> SessionData:
    """A new logged-in session for `account`, recorded (expired ones are swept); the caller commits."""
    now = time.time()
    session.execute(delete(LoginSession).where(LoginSession.created_at < now - SESSION_S))
    data = new_session(account.id, account.token_hash)
    session.add(LoginSession(id=sid_hash(data.sid), account_id=account.id, created_at=now))
    return data


def close_session(session: Session, data: SessionData | None) -> None:
    """End the session `data` (logout): its row goes, so its cookie no longer logs anyone in."""
    if data is not None and data.sid:
        session.execute(delete(LoginSession).where(LoginSession.id == sid_hash(data.sid)))


def session_account(session: Session, data: SessionData) -> Account | None:
    """The account of an open session `data`, or None (logged out, expired, or the token issued again)."""
    if data.account_id is None or not data.sid or not data.token_prefix:
        return None
    account = session.scalar(select(Account).join(LoginSession, LoginSession.account_id == Account.id).where(
        LoginSession.id == sid_hash(data.sid), Account.id == data.account_id,
        LoginSession.created_at > time.time() - SESSION_S))
    if account is None or account.token_hash[:len(data.token_prefix)] != data.token_prefix:
        return None
    return account
