"""Per question, an Atom feed of its evidence for feed readers: `/questions/<id>/feed.atom?token=…`.

A feed reader cannot log in, so the feed takes a token instead: an HMAC of the question id under the
login password (a new password revokes every feed URL). The token is shown on the question page.
Entries: the question's links but rejected ones, newest first (at most FEED_ITEMS), each with what it
says, where in the paper (full text), the rationale and the passage. Built with ElementTree, so every
text from the ledger is escaped.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timezone
from xml.etree import ElementTree as ET

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from questlog.webapp.common import db, ledger
from shared.errors import NotFound
from shared.ledger import as_utc

ATOM = "http://www.w3.org/2005/Atom"
FEED_ITEMS = 50


def feed_token(password: str, question_id: int) -> str:
    return hmac.new(password.encode(), f"questlog feed {question_id}".encode(), hashlib.sha256).hexdigest()[:32]


def feed_path(password: str, question_id: int) -> str:
    return f"/questions/{question_id}/feed.atom?token={feed_token(password, question_id)}"


def _text(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    el.text = text
    return el


def render_feed(question, links: list, base_url: str) -> bytes:
    """The Atom document for `question` and its links (EvidenceView, best or newest first)."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _text(feed, "id", f"urn:questlog:question:{question.id}")
    _text(feed, "title", f"questlog Q{question.id}: {question.text}")
    newest = max((as_utc(e.found_at) for e in links), default=as_utc(question.created_at))
    _text(feed, "updated", (newest or datetime.now(timezone.utc)).isoformat())
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="alternate", href=f"{base_url}/questions/{question.id}")
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", "questlog")
    for e in links:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        _text(entry, "id", f"urn:questlog:evidence:{e.id}")
        said = e.answer or (e.stance if e.stance in ("supports", "contradicts") else "evidence")
        _text(entry, "title", f"[{said}] {e.title}")
        _text(entry, "updated", as_utc(e.found_at).isoformat())
        if e.url and e.url.startswith(("http://", "https://")):
            ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", href=e.url)
        where = f" ({e.where})" if e.where else ""
        _text(entry, "summary", f"{e.paper_key}{where}, score {e.score:.2f}: {e.rationale or e.passage[:300]}")
        _text(entry, "content", e.passage, type="text")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


async def question_feed(request: Request) -> Response:
    qid = request.path_params["qid"]
    password = request.app.state.password
    sent = request.query_params.get("token", "")
    if not hmac.compare_digest(sent.encode(), feed_token(password, qid).encode()) \
            and request.session.get("user") is None:
        return Response("this feed needs its token (shown on the question's page)\n", 403, media_type="text/plain")
    led = ledger(request)
    try:
        question = await db(led.question, qid)
    except NotFound as e:
        return Response(f"{e}\n", 404, media_type="text/plain")
    links = await db(led.evidence, qid, verdicts=("accepted", None))
    links = sorted(links, key=lambda e: as_utc(e.found_at), reverse=True)[:FEED_ITEMS]
    base = str(request.base_url).rstrip("/")
    return Response(render_feed(question, links, base), media_type="application/atom+xml")


routes = [Route("/questions/{qid:int}/feed.atom", question_feed, methods=["GET"])]
