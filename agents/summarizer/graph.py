"""The summarizer's graph: open the window -> collect evidence -> compose -> deliver -> close.

A digest covers one question's evidence found in (window_start, window_end]:
window_start is where the last finished digest ended, fixed when the window is
first opened, so a re-delivered request composes the same digest. Each channel
is claimed before it is sent (see Ledger.claim_delivery): never twice while its worker lives;
a claim left by a worker that died mid-send goes stale and is taken over, so that digest is late,
not lost, and the window stays open until every channel is sent.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TypedDict

from langgraph.runtime import Runtime

from agents.context import AgentContext, straight_line
from agents.deps import Deps
from shared.errors import PermanentError, TransientError
from shared.ids import digest_id
from shared.ledger import as_utc
from shared.messages import DigestRequested, Message
from shared.notify import DeliveryError, Digest, DigestItem

log = logging.getLogger(__name__)


class DigestState(TypedDict, total=False):
    question_id: int
    window_end: datetime
    digest: Digest
    delivered: list[str]
    errors: list[DeliveryError]


def compose(state: DigestState, runtime: Runtime[AgentContext]) -> dict:
    deps = runtime.context.deps
    q = deps.ledger.question(state["question_id"])
    end = as_utc(state["window_end"])
    did = digest_id(q.id, end.isoformat())
    row = deps.ledger.open_digest(did, q.id, as_utc(q.digested_until), end)
    start = as_utc(row.window_start)
    best: dict[str, DigestItem] = {}
    site = (deps.settings.web.public_url or "").rstrip("/")
    judged = deps.settings.link.gate == "judge"  # the score is then the judge's calibrated probability
    for ev in deps.ledger.evidence(q.id, since=start, until=end):  # best first
        if ev.verdict == "rejected" or ev.paper_id in best:
            continue
        best[ev.paper_id] = DigestItem(paper_key=ev.paper_key, title=ev.title, url=ev.url, score=ev.score,
                                       stance=ev.stance, rationale=ev.rationale, passage=ev.passage,
                                       evidence_id=ev.id, answer=ev.answer or "", where=ev.where,
                                       pdf_url=ev.pdf_url, page_url=f"{site}/evidence/{ev.id}" if site else None,
                                       chance=ev.score if judged and ev.relevance is not None else None)
    items = tuple(list(best.values())[: deps.settings.digest.max_items])
    return {"digest": Digest(did, q.id, q.text, start, end, items)}


def deliver(state: DigestState, runtime: Runtime[AgentContext]) -> dict:
    deps = runtime.context.deps
    digest = state["digest"]
    delivered, errors = [], []
    if not digest.items:
        return {"delivered": [], "errors": []}
    for notifier in deps.notifiers:
        if not deps.ledger.claim_delivery(digest.id, notifier.name):
            if deps.ledger.deliveries(digest.id).get(notifier.name) != "sent":
                # another worker holds the claim (or died holding it, and the claim goes stale):
                # retry later; closing the window now would lose this channel's digest
                errors.append(DeliveryError(notifier.name, "being sent by another worker; retrying later"))
            continue
        try:
            notifier.send(digest)
        except DeliveryError as err:
            deps.ledger.finish_delivery(digest.id, notifier.name, error=str(err))
            errors.append(err)
            continue
        deps.ledger.finish_delivery(digest.id, notifier.name)
        delivered.append(notifier.name)
    return {"delivered": delivered, "errors": errors}


def close_window(state: DigestState, runtime: Runtime[AgentContext]) -> dict:
    deps = runtime.context.deps
    digest = state["digest"]
    if state["errors"]:
        return {}
    status = "sent" if digest.items else "empty"
    channels = sorted(c for c, s in deps.ledger.deliveries(digest.id).items() if s == "sent")
    deps.ledger.finish_digest(digest.id, status, len(digest.items), channels, digest.render_text())
    return {}


GRAPH = straight_line(DigestState, compose, deliver, close_window)


def run(msg: DigestRequested, deps: Deps) -> list[Message]:
    """Compose and deliver one digest. A failed channel raises TransientError (retry: the channels
    already sent are skipped) or PermanentError (dead webhook, refused address)."""
    state = GRAPH.invoke({"question_id": msg.question_id, "window_end": msg.window_end},
                         context=AgentContext(deps))
    errors = state["errors"]
    if errors:
        text = "; ".join(str(e) for e in errors)
        if all(e.permanent for e in errors):
            raise PermanentError(f"digest {state['digest'].id}: {text}")
        raise TransientError(f"digest {state['digest'].id}: {text}")
    return []


def plan(deps: Deps, now: datetime) -> list[DigestRequested]:
    """One digest request per open question for the window ending now."""
    end = now.replace(microsecond=0)
    return [DigestRequested(question_id=q.id, window_end=end) for q in deps.ledger.questions(status="open")]
