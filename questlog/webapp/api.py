"""The JSON API (routes and shapes: docs/web.md). Every write needs the session cookie and the
session's CSRF token in the `X-CSRF-Token` header (GET /api/session gives it)."""

from __future__ import annotations

import logging

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from questlog import writes
from questlog.report import status_report
from questlog.web import evidence_json, question_json
from questlog.webapp.cards import parse_filters
from questlog.webapp.citations import render_conclusion
from questlog.webapp.common import BadRequest, api_json, csrf_token, db, ledger, posted_json, text_field
from questlog.webapp.triage import DECISIONS

log = logging.getLogger("questlog.web")


async def session_info(request: Request) -> Response:
    from questlog.webapp.metrics import metrics_token

    return api_json({"user": request.session["user"], "csrf": csrf_token(request),
                     "metrics_token": metrics_token(request.app.state.password)})


async def list_questions(request: Request) -> Response:
    summaries = await db(ledger(request).question_summaries)
    return api_json([{**question_json(s.question), "evidence_count": s.links} for s in summaries])


async def add_question(request: Request) -> Response:
    body = await posted_json(request)
    q = await db(ledger(request).add_question, text_field(body, "text"))
    response = api_json(question_json(q), 201)
    response.background = BackgroundTask(writes.question_added, request.app.state.settings, q.id)
    return response


async def edit_question(request: Request) -> Response:
    body = await posted_json(request)
    qid = request.path_params["qid"]
    before = (await db(ledger(request).question, qid)).text
    q = await db(ledger(request).edit_question, qid, text_field(body, "text"))
    response = api_json(question_json(q))
    if q.text != before:
        response.background = BackgroundTask(writes.question_edited, request.app.state.settings, qid)
    return response


async def set_status(request: Request) -> Response:
    body = await posted_json(request)
    notes = text_field(body, "notes", required=False) if "notes" in body else None
    q = await db(ledger(request).set_question_status, request.path_params["qid"], text_field(body, "status"), notes)
    return api_json(question_json(q))


async def delete_question(request: Request) -> Response:
    await posted_json(request)
    qid = request.path_params["qid"]
    gone = await db(ledger(request).delete_question, qid)
    return api_json({"deleted": qid, **gone})


async def evidence(request: Request) -> Response:
    qid = request.path_params["qid"]
    led = ledger(request)
    q = await db(led.question, qid)
    f = parse_filters(request.query_params, default_verdict="any")
    items = await db(led.triage, qid, verdicts=f.verdicts, says=f.says, found_from=f.found_from, search=f.q,
                     sort=f.sort, limit=f.limit)
    return api_json({"question": question_json(q), "evidence": [evidence_json(e) for e in items]})


async def set_verdict(request: Request) -> Response:
    body = await posted_json(request)
    decision = text_field(body, "verdict")
    if decision not in DECISIONS:
        raise BadRequest(f"verdict must be accept, reject or clear; got {decision!r}")
    led = ledger(request)
    full = await db(led.set_verdict, request.path_params["eid"], DECISIONS[decision])
    response = api_json(evidence_json(await db(led.link, full)))
    response.background = BackgroundTask(writes.verdict_set, request.app.state.settings, led, full)
    return response


async def set_note(request: Request) -> Response:
    body = await posted_json(request)
    led = ledger(request)
    full = await db(led.set_note, request.path_params["eid"], text_field(body, "note"))
    return api_json(evidence_json(await db(led.link, full)))


def conclusion_json(row, html: str) -> dict:
    return {"question_id": row.question_id, "version": row.version, "text": row.text, "html": html,
            "saved_at": row.saved_at, "author": row.author}


async def conclusions(request: Request) -> Response:
    qid = request.path_params["qid"]
    led = ledger(request)
    await db(led.question, qid)
    links = await db(led.evidence, qid)
    return api_json([conclusion_json(r, render_conclusion(r.text, links, f"/questions/{qid}"))
                     for r in await db(led.conclusions, qid)])


async def save_conclusion(request: Request) -> Response:
    body = await posted_json(request)
    qid = request.path_params["qid"]
    led = ledger(request)
    before = await db(led.conclusion, qid)
    row = await db(led.save_conclusion, qid, text_field(body, "text"))
    created = before is None or before.version != row.version
    html = render_conclusion(row.text, await db(led.evidence, qid), f"/questions/{qid}")
    return api_json(conclusion_json(row, html), 201 if created else 200)


async def status(request: Request) -> Response:
    return api_json(await db(status_report, request.app.state.settings, ledger(request)))


async def healthz(request: Request) -> Response:
    try:
        await db(ledger(request).ping)
    except Exception as e:  # any failure to reach the ledger means "not healthy", never a crash
        log.warning("health check: ledger unreachable: %s", e)
        return PlainTextResponse("ledger unreachable\n", 503)
    return PlainTextResponse("ok\n")


routes = [
    Route("/api/session", session_info, methods=["GET"]),
    Route("/api/questions", list_questions, methods=["GET"]),
    Route("/api/questions", add_question, methods=["POST"]),
    Route("/api/questions/{qid:qid}", edit_question, methods=["PUT"]),
    Route("/api/questions/{qid:qid}", delete_question, methods=["DELETE"]),
    Route("/api/questions/{qid:qid}/status", set_status, methods=["PUT"]),
    Route("/api/questions/{qid:qid}/evidence", evidence, methods=["GET"]),
    Route("/api/questions/{qid:qid}/conclusions", conclusions, methods=["GET"]),
    Route("/api/questions/{qid:qid}/conclusions", save_conclusion, methods=["POST"]),
    Route("/api/evidence/{eid:str}/verdict", set_verdict, methods=["PUT"]),
    Route("/api/evidence/{eid:str}/note", set_note, methods=["PUT"]),
    Route("/api/status", status, methods=["GET"]),
    Route("/healthz", healthz, methods=["GET"]),
]
