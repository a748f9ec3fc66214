"""One evidence link's page, with its paper: every id and source the paper is known by, how it was
found, whether it was read in full, and every question it bears on. Digests link here (`?do=accept`
or `?do=reject` from a mail or Slack message): a GET never changes anything, the page asks for the
click that does."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from questlog.webapp.cards import card
from questlog.webapp.common import db, ledger, page

ASKED = {"accept": "accept", "reject": "reject"}


def _paper_view(led, eid: str) -> dict:
    e = led.link(eid)
    paper = led.paper(e.paper_id)
    fulltext = led.fulltext(e.paper_id)
    others = [x for x in led.paper_links(e.paper_id) if x.id != e.id]
    questions = {q.id: q.text for q in led.questions()}
    return {"c": card(e, None, marks=False), "paper": paper, "keys": led.paper_keys([paper.id])[paper.id],
            "sources": led.paper_sources(paper.id), "fulltext": fulltext,
            "others": [(x, questions.get(x.question_id, "")) for x in others],
            "question_text": questions.get(e.question_id, "")}


async def evidence_page(request: Request) -> Response:
    view = await db(_paper_view, ledger(request), request.path_params["eid"])
    asked = ASKED.get(request.query_params.get("do", ""))
    return page(request, "evidence.html", **view, asked=asked, readonly=False,
                back=f"/evidence/{view['c'].e.id}")


routes = [Route("/evidence/{eid:str}", evidence_page, methods=["GET"])]
