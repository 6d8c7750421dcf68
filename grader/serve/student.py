"""A student's pages: their assignments, an upload page per assignment, each submission's
status (queued with its place in the queue, grading, done) and report, and their history.

A student reaches only their own submissions: every submission page looks the submission up
by its id *and* the account (staff: any), and answers 404 otherwise, the same as for an id that
does not exist, so ids reveal nothing.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, timezone

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, RedirectResponse
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from ..course import CourseError
from .db import Account, Refusal, Submission
from .queue import QUEUED, position
from .results import attempts, counted
from .storage import (FORM_OVERHEAD, UploadError, check_intake, discard, keep, safe_name, single_file_name,
                      stage, upload_kind)
from .web import PageError, read_form, render, require_account, service

router = APIRouter()
log = logging.getLogger("grader.serve.upload")
HOUR_S = 3600.0
MAX_ID = 2**31 - 1     # ids are INTEGER columns (32 bits in PostgreSQL)


def when(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _spec(request: Request, name: str):
    try:
        return service(request).course.assignment(name)
    except CourseError:
        raise PageError(404, "no such assignment") from None


@router.get("/home")
def home(request: Request, account: Account = Depends(require_account)):
    state, policy = service(request), service(request).policy()
    with state.sessions() as db:
        mine = attempts(db, account.id)
    best = counted(mine, policy)
    rows = [{"spec": spec, "deadline": policy.deadline(spec.name), "counted": best.get((account.login, spec.name)),
             "tries": sum(a.submission.assignment == spec.name for a in mine)} for spec in state.course.assignments]
    return render(request, "home.html.j2", account=account, rows=rows, attempts=mine, when=when,
                  counts=policy.counts)


@router.get("/assignments/{name}")
def assignment_page(request: Request, name: str, account: Account = Depends(require_account)):
    spec, policy = _spec(request, name), service(request).policy()
    with service(request).sessions() as db:
        mine = attempts(db, account.id, name)
    due = policy.deadline(name)
    return render(request, "assignment.html.j2", account=account, spec=spec, attempts=mine, when=when,
                  deadline=due, late=policy.is_late(name, time.time()), policy=policy)


@router.post("/assignments/{name}/upload")
async def upload(request: Request, name: str, account: Account = Depends(require_account)):
    state, policy = service(request), service(request).policy()
    spec, now = _spec(request, name), time.time()
    late = policy.is_late(name, now)
    if late and policy.late == "refuse":   # decided before a byte of the upload is read
        raise UploadError(f"the deadline for {name} ({when(policy.deadline(name).timestamp())}) has passed; "
                          "late submissions are refused", 403)
    _check_rates(state, policy, account, name, now)
    try:
        submission_id = await _accept(request, policy, spec, account, late, now)
    except (UploadError, PageError) as exc:   # counted toward refused_limit
        _record_refusal(state, account, name, exc)
        raise
    return RedirectResponse(f"/submissions/{submission_id}", 303)


def _check_rates(state, policy, account: Account, name: str, now: float) -> None:
    """429 before a byte is read: too many accepted uploads (this assignment) or refused ones (any)."""
    with state.sessions() as db:
        recent = db.scalar(select(func.count()).select_from(Submission).where(
            Submission.account_id == account.id, Submission.assignment == name,
            Submission.created_at > now - HOUR_S))
        refused = db.scalar(select(func.count()).select_from(Refusal).where(
            Refusal.account_id == account.id, Refusal.created_at > now - HOUR_S))
    if recent >= policy.rate_limit:
        raise UploadError(f"at most {policy.rate_limit} uploads per hour for {name}; try again later", 429)
    if refused >= policy.refused_limit:
        raise UploadError(f"{refused} refused uploads in the last hour (at most {policy.refused_limit}); "
                          "check your file and try again later", 429)


def _record_refusal(state, account: Account, name: str, exc: Exception) -> None:
    status = getattr(exc, "status", 400)
    reason = str(getattr(exc, "message", exc))[:300]
    with state.sessions() as db, db.begin():
        db.add(Refusal(account_id=account.id, assignment=name, created_at=time.time(), status=status, reason=reason))
    log.info("upload refused", extra={"account": account.id, "assignment": name, "status": status})


async def _accept(request: Request, policy, spec, account: Account, late: bool, now: float) -> int:
    """Stage the upload, run the intake on it, keep it and queue it; the new submission's id.
    A refused upload leaves nothing on disk."""
    state, staged = service(request), None
    form = await read_form(request, policy.max_upload_bytes + FORM_OVERHEAD, files=1, shown=policy.max_upload_bytes)
    try:
        upload_file = form.get("file")
        if upload_file is None or isinstance(upload_file, str) or not upload_file.filename:
            raise UploadError("choose a file to upload")
        kind = upload_kind(upload_file.filename)
        staged = await run_in_threadpool(stage, state.settings.data_dir, upload_file.file, kind,
                                         policy.max_upload_bytes)
    finally:
        await form.close()
    filename = single_file_name(kind, spec) if kind in ("py", "ipynb") else safe_name(upload_file.filename)
    try:
        notes = await run_in_threadpool(check_intake, state.settings.data_dir, staged, filename, spec)
        blob = await run_in_threadpool(keep, state.settings.data_dir, staged)
    except BaseException:
        discard(staged)
        raise
    with state.sessions() as db, db.begin():
        submission = Submission(account_id=account.id, assignment=spec.name, blob=blob, filename=filename,
                                size=staged.size, created_at=now, late=late, notes="\n".join(notes), state=QUEUED,
                                queued_at=now, attempts=0)
        db.add(submission)
        db.flush()
        return submission.id


def own_submission(request: Request, submission_id: int, account: Account) -> Submission:
    if not 0 < submission_id <= MAX_ID:   # no such row; and the database would refuse the number
        raise PageError(404, "no such submission")
    with service(request).sessions() as db:
        query = select(Submission).where(Submission.id == submission_id)
        if account.role != "staff":
            query = query.where(Submission.account_id == account.id)
        found = db.scalar(query)
    if found is None:
        raise PageError(404, "no such submission")
    return found


@router.get("/submissions/{submission_id}")
def submission_page(request: Request, submission_id: int, account: Account = Depends(require_account)):
    state = service(request)
    sub = own_submission(request, submission_id, account)
    with state.sessions() as db:
        attempt = next(a for a in attempts(db, sub.account_id, sub.assignment) if a.submission.id == sub.id)
    return render(request, "submission.html.j2", account=account, attempt=attempt, when=when,
                  position=position(state.engine, sub), refresh=sub.state != "done")


def _report_file(request: Request, submission_id: int, account: Account, name: str):
    state = service(request)
    sub = own_submission(request, submission_id, account)
    with state.sessions() as db:
        attempt = next(a for a in attempts(db, sub.account_id, sub.assignment) if a.submission.id == sub.id)
    if not attempt.done or not attempt.grading.report_dir:
        raise PageError(404, "this submission has no report yet")
    return state.settings.data_dir / attempt.grading.report_dir / name


@router.get("/submissions/{submission_id}/report.html")
def report(request: Request, submission_id: int, account: Account = Depends(require_account)):
    return FileResponse(_report_file(request, submission_id, account, "report.html"), media_type="text/html")


@router.get("/submissions/{submission_id}/results.json")
def results_json(request: Request, submission_id: int, account: Account = Depends(require_account)):
    return FileResponse(_report_file(request, submission_id, account, "results.json"),
                        media_type="application/json")


__all__ = ["own_submission", "router", "when"]
