"""Staff pages: the class (the batch's summary, live from the database), every student's
history, the queue and its workers, regrades, and the exports (gradebook.csv and every
student's results in the results.json format)."""
from __future__ import annotations

import json
import time

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlalchemy import select

from ..batch.discovery import folder_name
from .db import Account, Submission
from .queue import QUEUED, RUNNING, counts, live_workers, requeue
from .results import attempts, class_rows, counted, gradebook_csv, results_export, summary_html
from .student import when
from .web import PageError, read_form, render, require_staff, service

router = APIRouter(prefix="/staff")


@router.get("")
def overview(request: Request, account: Account = Depends(require_staff)):
    state = service(request)
    with state.sessions() as db:
        rows = class_rows(db, state.settings.data_dir, state.course, state.policy())
    names = [s.name for s in state.course.assignments]
    return render(request, "staff.html.j2", account=account, rows=rows, names=names, queue=counts(state.engine),
                  assignments=state.course.assignments)


@router.get("/class/", response_class=HTMLResponse)
def class_summary(request: Request, account: Account = Depends(require_staff)):
    state = service(request)
    with state.sessions() as db:
        rows = class_rows(db, state.settings.data_dir, state.course, state.policy())
    return HTMLResponse(summary_html(rows, state.course, f"{state.course.root.name} (live)"))


@router.get("/class/{folder}/report.html")
def class_report(request: Request, folder: str, account: Account = Depends(require_staff)):
    """The report a summary's link names: the student's newest counted attempt."""
    state = service(request)
    with state.sessions() as db:
        found = [a for a in counted(attempts(db), state.policy()).values() if folder_name(a.login) == folder]
    if not found or not found[0].grading.report_dir:
        raise PageError(404, "no report for this student")
    newest = max(found, key=lambda a: a.grading.finished_at)
    return FileResponse(state.settings.data_dir / newest.grading.report_dir / "report.html", media_type="text/html")


@router.get("/students/{login}")
def student_history(request: Request, login: str, account: Account = Depends(require_staff)):
    state = service(request)
    with state.sessions() as db:
        student = db.scalar(select(Account).where(Account.login == login))
        if student is None:
            raise PageError(404, "no such student")
        found = attempts(db, student.id)
    return render(request, "history.html.j2", account=account, student=student, attempts=found, when=when,
                  counted_ids={a.submission.id for a in counted(found, state.policy()).values()})


@router.get("/queue")
def queue_page(request: Request, account: Account = Depends(require_staff)):
    state = service(request)
    with state.sessions() as db:
        waiting = db.execute(select(Submission, Account.login).join(Account, Account.id == Submission.account_id)
                             .where(Submission.state.in_([QUEUED, RUNNING]))
                             .order_by(Submission.state.desc(), Submission.queued_at, Submission.id).limit(500)).all()
    workers = live_workers(state.engine, 3 * state.settings.heartbeat_s)
    return render(request, "queue.html.j2", account=account, waiting=waiting, workers=workers, when=when,
                  queue=counts(state.engine), now=time.time())


@router.post("/regrade")
async def regrade(request: Request, account: Account = Depends(require_staff)):
    """Regrade the submissions that count for one student (``student``) or for everyone, of one
    assignment (``assignment``) or all."""
    state = service(request)
    form = await read_form(request)
    login, name = str(form.get("student") or ""), str(form.get("assignment") or "")
    if name and name not in {s.name for s in state.course.assignments}:
        raise PageError(400, f"unknown assignment {name[:60]!r}")
    with state.sessions() as db:
        chosen = counted(attempts(db), state.policy())
    ids = [a.submission.id for (who, what), a in chosen.items()
           if (not login or who == login) and (not name or what == name)]
    if login and not ids:
        raise PageError(400, "nothing to regrade for this student")
    requeue(state.engine, ids)
    return render(request, "regraded.html.j2", account=account, count=len(ids), student=login, assignment=name)


@router.get("/export/gradebook.csv")
def export_gradebook(request: Request, account: Account = Depends(require_staff)):
    state = service(request)
    with state.sessions() as db:
        rows = class_rows(db, state.settings.data_dir, state.course, state.policy())
    return Response(gradebook_csv(rows, state.course), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="gradebook.csv"'})


@router.get("/export/results.json")
def export_results(request: Request, account: Account = Depends(require_staff)):
    state = service(request)
    with state.sessions() as db:
        rows = class_rows(db, state.settings.data_dir, state.course, state.policy())
    return Response(json.dumps(results_export(rows), indent=1), media_type="application/json",
                    headers={"Content-Disposition": 'attachment; filename="results.json"'})


__all__ = ["router"]
