"""`/metrics`: questlog's own Prometheus metrics, read from the ledger and the broker at each scrape.

What an operator alerts on: queue depths, dead letters by task, evidence per question (by verdict),
papers and passages, each source's last successful crawl and its lag, the last digest sent. A
scraper authenticates with `Authorization: Bearer <token>` (the token is derived from the web
password, shown to a logged-in user at `/api/session` as `metrics_token`); a logged-in browser
needs no token. Built per scrape in its own registry (prometheus_client), so nothing is global.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timezone

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from questlog.webapp.auth import logged_in
from questlog.webapp.common import db


def metrics_token(password: str) -> str:
    return hmac.new(password.encode(), b"questlog metrics", hashlib.sha256).hexdigest()[:32]


def _authorised(request: Request) -> bool:
    if logged_in(request):
        return True
    sent = request.headers.get("authorization", "")
    scheme, _, token = sent.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(),
                                                              metrics_token(request.app.state.password).encode())


def _seconds(at: datetime | None) -> float | None:
    if at is None:
        return None
    return (at if at.tzinfo else at.replace(tzinfo=timezone.utc)).timestamp()


def collect(settings, ledger) -> bytes:
    """The exposition text of every questlog metric, now."""
    from prometheus_client import CollectorRegistry, Gauge, generate_latest
    from sqlalchemy import func, select

    from questlog.report import status_report
    from shared.ledger.models import DigestRow, EvidenceRow

    report = status_report(settings, ledger, workers_too=False)  # a scrape must not wait on a broadcast
    reg = CollectorRegistry()
    depth = Gauge("questlog_queue_depth", "Messages waiting in a broker queue", ["queue"], registry=reg)
    for queue, n in (report["queues"] or {}).items():
        if isinstance(n, int):
            depth.labels(queue).set(n)
    Gauge("questlog_broker_up", "1 when the broker answered this scrape", registry=reg).set(
        1 if isinstance(report["queues"], dict) and "error" not in report["queues"] else 0)
    dead = Gauge("questlog_dead_letters", "Work that kept failing, by task", ["task"], registry=reg)
    by_task: dict[str, int] = {}
    for d in report["dead_letters"]:
        by_task[d["task"]] = by_task.get(d["task"], 0) + 1
    for task, n in by_task.items():
        dead.labels(task).set(n)
    counts = Gauge("questlog_records", "Rows in the ledger, by kind", ["kind"], registry=reg)
    for kind, n in report["counts"].items():
        if isinstance(n, (int, float)):
            counts.labels(kind).set(n)
    evidence = Gauge("questlog_evidence", "Evidence links per question, by verdict", ["question", "verdict"],
                     registry=reg)
    with ledger.session() as s:
        rows = s.execute(select(EvidenceRow.question_id, EvidenceRow.verdict, func.count())
                         .group_by(EvidenceRow.question_id, EvidenceRow.verdict)).all()
        last_digest = s.execute(select(func.max(DigestRow.sent_at)).where(DigestRow.status == "sent")).scalar()
    for qid, verdict, n in rows:
        evidence.labels(str(qid), verdict or "none").set(n)
    now = datetime.now(timezone.utc).timestamp()
    last = Gauge("questlog_source_last_success_timestamp_seconds", "When a source last crawled without error",
                 ["source"], registry=reg)
    lag = Gauge("questlog_crawl_lag_seconds", "Seconds since a source last crawled without error", ["source"],
                registry=reg)
    for source, info in report["sources"].items():
        at = _seconds(info["last_success"])
        if at is not None:
            last.labels(source).set(at)
            lag.labels(source).set(max(0.0, now - at))
    digest = Gauge("questlog_last_digest_timestamp_seconds", "When the last digest was sent (0: never)", registry=reg)
    digest.set(_seconds(last_digest) or 0)
    return generate_latest(reg)


async def metrics(request: Request) -> Response:
    if not _authorised(request):
        return PlainTextResponse("send Authorization: Bearer <metrics_token> (see /api/session)\n", 401,
                                 headers={"WWW-Authenticate": 'Bearer realm="questlog metrics"'})
    body = await db(collect, request.app.state.settings, request.app.state.ledger)
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")


routes = [Route("/metrics", metrics, methods=["GET"])]
