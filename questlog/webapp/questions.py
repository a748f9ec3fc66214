"""Questions: the list (with what is new since the last look), adding, editing the text, parking,
answering, reopening and deleting (after a confirmation page). A refused text is shown inline with
the form still filled in."""

from __future__ import annotations

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from questlog import writes
from questlog.webapp.common import BadRequest, db, flash, ledger, page, posted_form
from questlog.webapp.triage import render_question
from shared.errors import NotFound, PermanentError
from shared.ledger.store import QUESTION_STATUSES

STATUS_FILTERS = ("", *QUESTION_STATUSES)


async def index(request: Request, add_text: str = "", add_error: str = "", status: int = 200) -> Response:
    shown = request.query_params.get("status", "")
    if shown not in STATUS_FILTERS:
        raise BadRequest(f"status must be one of {', '.join(QUESTION_STATUSES)}; got {shown!r}")
    summaries = await db(ledger(request).question_summaries)
    rows = [s for s in summaries if not shown or s.question.status == shown]
    return page(request, "questions.html", status=status, rows=rows, shown=shown, statuses=QUESTION_STATUSES,
                total=len(summaries), add_text=add_text, add_error=add_error)


async def add(request: Request) -> Response:
    form = await posted_form(request)
    text = str(form.get("text") or "")
    try:
        q = await db(ledger(request).add_question, text)
    except PermanentError as e:
        return await index(request, add_text=text, add_error=str(e), status=400)
    flash(request, f"Question {q.id} added.")
    return RedirectResponse(f"/questions/{q.id}", 303,
                            background=BackgroundTask(writes.question_added, request.app.state.settings, q.id))


async def edit(request: Request) -> Response:
    qid = request.path_params["qid"]
    form = await posted_form(request)
    text = str(form.get("text") or "")
    before = (await db(ledger(request).question, qid)).text
    try:
        q = await db(ledger(request).edit_question, qid, text)
    except NotFound:
        raise
    except PermanentError as e:
        return await render_question(request, qid, status=400, edit_text=text, edit_error=str(e))
    changed = q.text != before
    flash(request, f"Question {qid} {'now reads: ' + q.text if changed else 'unchanged'}.")
    task = BackgroundTask(writes.question_edited, request.app.state.settings, qid) if changed else None
    return RedirectResponse(f"/questions/{qid}", 303, background=task)


async def set_status(request: Request) -> Response:
    qid = request.path_params["qid"]
    form = await posted_form(request)
    q = await db(ledger(request).set_question_status, qid, str(form.get("status") or ""))
    flash(request, f"Question {qid} is {q.status}" + (" (not searched while so)." if q.status != "open" else "."))
    return RedirectResponse(f"/questions/{qid}", 303)


async def confirm_delete(request: Request) -> Response:
    qid = request.path_params["qid"]
    led = ledger(request)
    q = await db(led.question, qid)
    summary = next(s for s in await db(led.question_summaries) if s.question.id == qid)
    digests = len(await db(led.digests, qid))
    return page(request, "delete.html", q=q, summary=summary, digests=digests)


async def delete(request: Request) -> Response:
    qid = request.path_params["qid"]
    await posted_form(request)
    gone = await db(ledger(request).delete_question, qid)
    flash(request, f"Question {qid} deleted, with {gone['links']} link(s), {gone['conclusions']} conclusion "
                   f"version(s) and {gone['digests']} digest record(s).")
    return RedirectResponse("/", 303)


routes = [
    Route("/", index, methods=["GET"]),
    Route("/questions", add, methods=["POST"]),
    Route("/questions/{qid:qid}/edit", edit, methods=["POST"]),
    Route("/questions/{qid:qid}/status", set_status, methods=["POST"]),
    Route("/questions/{qid:qid}/delete", confirm_delete, methods=["GET"]),
    Route("/questions/{qid:qid}/delete", delete, methods=["POST"]),
]
