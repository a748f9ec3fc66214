"""`questlog web`: the research workbench (the app itself is the package `questlog.webapp`; its routes
are listed in docs/web.md).

This module keeps the shapes the CLI shares with the JSON API (`question_json`, `evidence_json`:
`questlog evidence --json` prints the same keys) and the entry points `make_server` and `serve`,
imported lazily so the CLI does not load Starlette until it serves. Nothing here imports torch or
sentence-transformers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from questlog.report import mask_password
from shared.ledger import EvidenceView, as_utc
from shared.settings import Settings

if TYPE_CHECKING:
    from questlog.webapp.server import WebServer

__all__ = ["evidence_json", "make_server", "mask_password", "question_json", "serve"]


def question_json(q) -> dict:
    return {"id": q.id, "text": q.text, "status": q.status, "notes": q.notes, "models": q.models,
            "created_at": as_utc(q.created_at).isoformat()}


def evidence_json(e: EvidenceView) -> dict:
    return {"id": e.id, "paper": e.paper_key, "paper_id": e.paper_id, "title": e.title, "url": e.url,
            "score": e.score, "scores": e.scores, "stance": e.stance, "answer": e.answer,
            "relevance": e.relevance, "rationale": e.rationale, "rationale_sentences": e.rationale_sentences,
            "passage": e.passage, "retrieval": e.retrieval, "model": e.model,
            "found_at": as_utc(e.found_at).isoformat(), "verdict": e.verdict, "note": e.note,
            "kind": e.kind, "page": e.page, "section": e.section, "where": e.where, "pdf_url": e.pdf_url}


def make_server(settings: Settings, host: str, port: int, allow_remote: bool = False,
                login_pause_s: float = 1.0) -> WebServer:
    """A bound, not yet serving server: see `questlog.webapp.server.make_server`."""
    from questlog.webapp.server import make_server as make

    return make(settings, host, port, allow_remote=allow_remote, login_pause_s=login_pause_s)


def serve(settings: Settings, host: str, port: int, allow_remote: bool = False) -> None:
    """Serve until Ctrl-C or SIGTERM: see `questlog.webapp.server.serve`."""
    from questlog.webapp.server import serve as run

    run(settings, host, port, allow_remote=allow_remote)


def _evidence_card(e: EvidenceView) -> str:
    """One link's card as the question page shows it, without its forms (read-only)."""
    from questlog.webapp.cards import card
    from questlog.webapp.common import templates

    return templates.get_template("_card.html").render(c=card(e, None, marks=False), readonly=True, csrf="",
                                                      back="/")
