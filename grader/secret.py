"""The course secret: what makes hidden tests' random inputs unpredictable to students.

Public tests draw their inputs from the grading seed and the test's id, both of which students
know. Hidden tests draw theirs from a generator keyed by a secret that only course staff hold,
mixed with the grading seed and the test's id: the same secret and seed regrade identically,
another seed gives other inputs, and without the secret the inputs cannot be replayed.

Where the secret comes from (the first that exists):
1. the environment variable ``GRADER_COURSE_SECRET`` (Gradescope, CI);
2. the file ``solutions/.course-secret`` (64 hex digits), created with fresh OS randomness the
   first time hidden tests run if it is missing and ``solutions/`` is writable, or explicitly
   by ``create_secret``.

The secret stays in the grader process: generators handed to tests are derived from it with
HMAC-SHA256 (one-way), the sandbox child gets a scrubbed environment and, under bubblewrap,
no view of ``solutions/``; no report names it. ``read_secret`` is the one place that reads it.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import numpy as np

from .course import CourseError

ENV_VAR = "GRADER_COURSE_SECRET"
FILENAME = ".course-secret"
MIN_HEX_DIGITS = 32   # 128 bits at least; create_secret writes 256


def secret_file(solutions: Path) -> Path:
    return Path(solutions) / FILENAME


def _parse(text: str, where: str) -> bytes:
    text = text.strip()
    try:
        value = bytes.fromhex(text)
    except ValueError:
        value = b""
    if len(text) < MIN_HEX_DIGITS or not value:
        raise CourseError(f"{where} must hold a course secret of at least {MIN_HEX_DIGITS} hex digits "
                          f"(make one with: python -c 'import secrets; print(secrets.token_hex(32))')")
    return value


def create_secret(solutions: Path) -> Path:
    """Write a fresh 256-bit secret to ``solutions/.course-secret`` (owner-only) unless one exists.

    Atomic: the file is written under a temporary name and linked into place, so concurrent
    graders (a batch's workers) all end up reading the same complete secret. Returns the path.
    """
    path = secret_file(solutions)
    if path.exists():
        return path
    tmp = path.with_name(f"{FILENAME}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another grader won the race: its secret is the course's
    finally:
        tmp.unlink(missing_ok=True)
    return path


def read_secret(solutions: Path, *, create: bool = True) -> bytes:
    """The course secret: ``$GRADER_COURSE_SECRET``, else ``solutions/.course-secret``
    (created first when missing, `create` is true and ``solutions/`` is writable).

    Raises CourseError when there is none (hidden inputs must never fall back to the public seed).
    """
    if os.environ.get(ENV_VAR):
        return _parse(os.environ[ENV_VAR], f"${ENV_VAR}")
    path = secret_file(solutions)
    if not path.is_file() and create:
        try:
            create_secret(solutions)
        except OSError as exc:
            raise CourseError(f"no course secret: cannot create {path} ({exc.strerror}); "
                              f"set ${ENV_VAR} or make solutions/ writable") from None
    if not path.is_file():
        raise CourseError(f"no course secret: {path} is missing; set ${ENV_VAR}")
    return _parse(path.read_text(), str(path))


def _mac(secret: bytes, label: str) -> bytes:
    return hmac.new(secret, label.encode(), hashlib.sha256).digest()


def hidden_rng(secret: bytes, seed: int, test_id: str) -> np.random.Generator:
    """The generator of one hidden test: HMAC-SHA256(secret, seed and test id) as 256 bits of entropy."""
    digest = _mac(secret, f"rng\0{seed}\0{test_id}")
    return np.random.default_rng(np.frombuffer(digest, dtype="<u4"))


def fingerprint(secret: bytes) -> str:
    """A one-way digest of the secret, to tell whether results were graded with the same one."""
    return _mac(secret, "fingerprint").hex()[:16]


__all__ = ["ENV_VAR", "FILENAME", "create_secret", "fingerprint", "hidden_rng", "read_secret", "secret_file"]
