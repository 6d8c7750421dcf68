"""Accounts without passwords: one secret login token per person, stored hashed.

A token is 32 random bytes (``secrets.token_urlsafe``): guessing one is hopeless, so a plain
SHA-256 is enough to store it (a leaked database gives no usable token). Issuing a token again
replaces the old one, which stops working at once, and ends the sessions opened with it (the
session cookie carries a prefix of the token's hash).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .db import Account

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
