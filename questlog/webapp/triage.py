"""A question's page: its evidence as cards to triage (filters, sort, search, what is new since the
last visit), its conclusion, and the verdict and note writes on each card.

A verdict or note posted by the page's script (`HX-Request: true`) is answered with the card's new
HTML; a plain form post is redirected back to where it came from (the `back` field), at the card.
"""

from __future__ import annotations

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from questlog import writes
from questlog.webapp.cards import SAYS_FILTERS, SORTS, VERDICT_FILTERS, Filters, card, parse_filters
from questlog.webapp.citations import render_conclusion
from questlog.webapp.common import BadRequest, db, fragment, is_script, ledger, local_path, page, posted_form
from questlog.webapp.feeds import feed_path
from shared.ledger import Ledger
from shared.ledger.store import QUESTION_STATUSES

DECISIONS = {"accept": "accepted", "reject": "rejected", "clear": None}


async def question_page(request: Request) -> Response:
    qid = request.path_params["qid"]
    led = ledger(request)
    await db(led.visit_question, qid)
    return await render_question(request, qid)


async def render_question(request: Request, qid: int, status: int = 200, edit_text: str | None = None,
                          edit_error: str = "", conclusion_text: str | None = None,
                          conclusion_error: str = "") -> Response:
    """The page, also re-shown (with `status` 400) with a refused edit or conclusion still filled in."""
    view = await db(_question_view, ledger(request), qid, parse_filters(request.query_params))
    latest = view["conclusion"]
    # a page re-shown by a POST sends its forms back to the plain question page
    back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return page(request, "question.html", status=status, **view, readonly=False,
                back=back if request.method == "GET" else f"/questions/{qid}",
                statuses=QUESTION_STATUSES, verdict_filters=list(VERDICT_FILTERS), says_filters=SAYS_FILTERS,
                sorts=SORTS, edit_text=view["q"].text if edit_text is None else edit_text, edit_error=edit_error,
                conclusion_text=(latest.text if latest else "") if conclusion_text is None else conclusion_text,
                conclusion_error=conclusion_error, feed_url=feed_path(request.app.state.password, qid))


def _question_view(led: Ledger, qid: int, filters: Filters) -> dict:
    q = led.question(qid)
    links = led.evidence(qid)
    shown = led.triage(qid, verdicts=filters.verdicts, says=filters.says, found_from=filters.found_from,
                       search=filters.q, sort=filters.sort, limit=filters.limit)
    new_after = led.new_after(qid)
    cards = [card(e, new_after) for e in shown]
    latest = led.conclusion(qid)
    return {"q": q, "filters": filters, "cards": cards, "links": len(links), "new": sum(c.new for c in cards),
            "accepted": sum(e.verdict == "accepted" for e in links),
            "rejected": sum(e.verdict == "rejected" for e in links), "conclusion": latest,
            "conclusion_html": render_conclusion(latest.text, links, f"/questions/{qid}") if latest else ""}


async def verdict(request: Request) -> Response:
    form = await posted_form(request)
    decision = str(form.get("decision") or "")
    if decision not in DECISIONS:
        raise BadRequest(f"decision must be accept, reject or clear; got {decision!r}")
    led = ledger(request)
    full = await db(led.set_verdict, request.path_params["eid"], DECISIONS[decision])
    task = BackgroundTask(writes.verdict_set, request.app.state.settings, led, full)
    return await _answer(request, form, full, task)


async def note(request: Request) -> Response:
    form = await posted_form(request)
    full = await db(ledger(request).set_note, request.path_params["eid"], str(form.get("note") or ""))
    return await _answer(request, form, full)


async def _answer(request: Request, form, link_id: str, task: BackgroundTask | None = None) -> Response:
    if is_script(request):
        e = await db(ledger(request).link, link_id)
        response = fragment(request, "_card.html", c=card(e, None, marks=form.get("new") == "1"),
                            back=local_path(str(form.get("back") or "")), readonly=False)
        response.background = task
        return response
    back = local_path(str(form.get("back") or ""), default="/")
    return RedirectResponse(f"{back}#e-{link_id}", 303, background=task)


routes = [
    Route("/questions/{qid:qid}", question_page, methods=["GET"]),
    Route("/evidence/{eid:str}/verdict", verdict, methods=["POST"]),
    Route("/evidence/{eid:str}/note", note, methods=["POST"]),
]
