"""A question's conclusion: saving a new version (refused whole, text kept in the form, when it cites
evidence the question does not have), the list of versions, and one version rendered."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from questlog.webapp.citations import render_conclusion
from questlog.webapp.common import db, flash, ledger, page, posted_form
from questlog.webapp.triage import render_question
from shared.errors import NotFound, PermanentError


async def save(request: Request) -> Response:
    qid = request.path_params["qid"]
    form = await posted_form(request)
    text = str(form.get("text") or "")
    led = ledger(request)
    before = await db(led.conclusion, qid)
    try:
        row = await db(led.save_conclusion, qid, text)
    except NotFound:
        raise
    except PermanentError as e:
        return await render_question(request, qid, status=400, conclusion_text=text, conclusion_error=str(e))
    same = before is not None and before.version == row.version
    flash(request, f"No change: the conclusion is still version {row.version}." if same
          else f"Conclusion version {row.version} saved.")
    return RedirectResponse(f"/questions/{qid}#conclusion", 303)


async def history(request: Request) -> Response:
    qid = request.path_params["qid"]
    led = ledger(request)
    q = await db(led.question, qid)
    return page(request, "conclusions.html", q=q, versions=await db(led.conclusions, qid))


async def version(request: Request) -> Response:
    qid, number = request.path_params["qid"], request.path_params["version"]
    led = ledger(request)
    q = await db(led.question, qid)
    row = await db(led.conclusion, qid, number)
    if row is None:
        raise NotFound(f"question {qid} has no conclusion version {number}")
    links = await db(led.evidence, qid)
    return page(request, "conclusion.html", q=q, row=row,
                html=render_conclusion(row.text, links, f"/questions/{qid}"))


routes = [
    Route("/questions/{qid:qid}/conclusion", save, methods=["POST"]),
    Route("/questions/{qid:qid}/conclusions", history, methods=["GET"]),
    Route("/questions/{qid:qid}/conclusions/{version:qid}", version, methods=["GET"]),
]
