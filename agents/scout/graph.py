"""The scout's graph: crawl one page of a feed, from any source, from its cursor.

    load_cursor -(fetch)-> fetch_page -> store_page -(done?)-> finish
              \\-(nothing to ask)-> finish          \\-(more)-> END (the task sends the crawl on for the next page)
              \\-(duplicate, superseded)-> END

One page per task lets the reader and the embedder start on page 1 while page 2
is fetched, and keeps each task short. How a crawl stops is the source's stop rule
for the feed kind (`Source.feeds`, `feeds.py`): at the watermark for arXiv's
newest-first Atom feeds, at the end of the window for an OAI-PMH harvest, at a page
that brings nothing new for the other searches; always at the end of the feed or
the page/result budget.

The feed's cursor row (ledger `cursors`, key '<source>:<feed>') keeps, between
crawls: `newest` (the Atom watermark), `next` (the source cursor the next crawl
starts from: an OAI `from` day, a search's date window, a harvest's resumption
token), `last_request` and `finished_at`; while a crawl runs, `resume`: the
source's own `next_cursor` (opaque here), the page count and the crawl's
request time. A crawl that dies resumes from there, so a restart neither
re-fetches the feed nor misses papers; a second delivery of a page already
taken only passes the crawl on. Papers whose passages are missing are sent on
to the reader, so a re-run repairs a crash between storing and sending.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Literal, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from agents.context import AgentContext
from agents.deps import Deps
from agents.scout.feeds import Crawl, NotServed, resolve
from agents.scout.plan import plan
from shared.errors import PermanentError, TransientError
from shared.messages import CrawlRequested, Message, PapersFound
from shared.records import PaperRecord
from shared.sources.base import Page

__all__ = ["GRAPH", "build_graph", "plan", "run"]  # plan: the beat tick calls scout.plan
log = logging.getLogger(__name__)


class ScoutState(TypedDict, total=False):
    crawl: Crawl
    request: str  # the crawl's requested_at: which crawl a page belongs to
    page: int  # pages of this crawl taken before this task
    action: Literal["fetch", "nothing", "skip", "forward"]
    forward_to: int
    cursor: dict
    start: dict
    seen: int
    top: list | None
    latest: str | None
    stop: bool
    cut: dict | None
    paper_ids: list[str]
    new_papers: int
    fetched: Page | None  # the page just fetched (state is never serialised: no checkpointer)


def _mark(rec: PaperRecord) -> list:
    return [rec.published.isoformat() if rec.published else "", rec.source_id]


def _day(rec: PaperRecord) -> str | None:
    when = rec.updated or rec.published
    return when.date().isoformat() if when else None


def load_cursor(state: ScoutState, runtime: Runtime[AgentContext]) -> dict:
    crawl, page, request = state["crawl"], state["page"], state["request"]
    cursor = runtime.context.deps.ledger.cursor(crawl.key)
    resume = cursor.get("resume") or {}
    mine = resume.get("request") == request
    base = {"cursor": cursor, "seen": 0, "top": None, "latest": None, "stop": False, "cut": None, "paper_ids": [],
            "new_papers": 0}
    if crawl.feed is None:
        return {**base, "action": "nothing", "stop": True}
    if page == 0:
        if cursor.get("last_request") == request:
            return {**base, "action": "skip"}  # this very crawl has finished: a second delivery
        if mine and resume.get("pages", 0) > 0:
            return {**base, "action": "forward", "forward_to": resume["pages"]}
        return {**base, "action": "fetch", "start": _start(crawl, cursor)}
    if not mine or resume.get("pages", 0) < page:
        log.info("crawl %s page %d: superseded or finished; nothing to do", crawl.key, page)
        return {**base, "action": "skip"}
    if resume["pages"] > page:  # a twin took this page already; pass the crawl on in case it could not
        return {**base, "action": "forward", "forward_to": resume["pages"]}
    return {**base, "action": "fetch", "start": resume["cursor"], "seen": resume.get("seen", 0),
            "top": resume.get("top"), "latest": resume.get("latest")}


def _start(crawl: Crawl, cursor: dict) -> dict:
    """Where a new crawl starts: the top, or what the last one left in `next` (OAI day, search window)."""
    if crawl.policy in ("harvest", "caught_up"):
        return dict(cursor.get("next") or {})
    return {}


def fetch_page(state: ScoutState, runtime: Runtime[AgentContext]) -> dict:
    crawl = state["crawl"]
    source = runtime.context.deps.sources[crawl.source]
    return {"fetched": next(iter(source.pages(crawl.feed, state["start"])), None)}


def store_page(state: ScoutState, runtime: Runtime[AgentContext]) -> dict:
    deps, crawl = runtime.context.deps, state["crawl"]
    page: Page | None = state.get("fetched")
    if page is None:
        return {"stop": True}
    watermark = state["cursor"].get("newest") if crawl.policy == "watermark" else None
    records, reached_known = [], False
    top, latest = state.get("top"), state.get("latest")
    for rec in page.records:
        if crawl.found_via:
            rec = rec.model_copy(update={"found_via": crawl.found_via})
        mark = _mark(rec)
        if watermark and mark <= watermark:
            reached_known = True
            continue
        top = max(top, mark) if top else mark
        latest = max(filter(None, (latest, _day(rec))), default=None)
        records.append(rec)
    results = deps.ledger.upsert_papers(records)  # the page in one commit
    for result in results:
        if result.status == "updated":
            deps.ledger.retire_passages(result.paper_id)
    ids, new = [r.paper_id for r in results], sum(r.status != "unchanged" for r in results)
    seen = state["seen"] + len(page.records)
    pages = state["page"] + 1
    budget = pages >= crawl.max_pages or (crawl.max_results is not None and seen >= crawl.max_results)
    stop = (page.next_cursor is None or budget or reached_known
            or (crawl.policy == "caught_up" and bool(page.records) and new == 0))
    if not stop:
        cursor = dict(state["cursor"])
        cursor["resume"] = {"cursor": page.next_cursor, "pages": pages, "request": state["request"], "seen": seen,
                            "top": top, "latest": latest}
        deps.ledger.save_cursor(crawl.key, cursor, papers_found=new)
    cut = page.next_cursor if stop and budget and crawl.policy == "harvest" else None
    return {"paper_ids": ids, "new_papers": new, "seen": seen, "top": top, "latest": latest, "stop": stop,
            "cut": cut}


def finish(state: ScoutState, runtime: Runtime[AgentContext]) -> dict:
    deps, crawl = runtime.context.deps, state["crawl"]
    cursor = {k: v for k, v in state["cursor"].items() if k not in ("resume", "note")}
    if crawl.policy == "watermark" and state.get("top"):
        cursor["newest"] = max(cursor.get("newest") or state["top"], state["top"])
    requested = datetime.fromisoformat(state["request"])
    if crawl.policy == "harvest":
        if state.get("cut"):
            cursor["next"] = state["cut"]  # stopped at the page budget: go on from the token next time
            log.warning("harvest %s stopped at its page budget; it goes on at the next tick", crawl.key)
        elif state.get("latest"):
            # The next harvest starts from the newest day this one saw, never later than today: arXiv
            # stamps a record with the day it changed, which is on or after its newest version's date,
            # so nothing changed since is missed, whatever the two clocks say; the overlap is 'unchanged'.
            cursor["next"] = {"from": min(state["latest"], requested.date().isoformat())}
        else:
            cursor["next"] = {k: v for k, v in (cursor.get("next") or {}).items() if k != "token"}
    elif crawl.policy == "caught_up" and crawl.feed is not None and crawl.feed.kind == "search":
        window = deps.settings.scout.search_window_days
        if window:
            cursor["next"] = {"from_date": (requested - timedelta(days=window)).date().isoformat()}
    if crawl.feed is not None and crawl.feed.kind == "recommendations":
        cursor["seeds"] = crawl.feed.value  # asked again only when they change
    if crawl.note:
        cursor["note"] = crawl.note
    cursor["last_request"] = state["request"]
    cursor["finished_at"] = datetime.now(timezone.utc).isoformat()
    deps.ledger.save_cursor(crawl.key, cursor, papers_found=state.get("new_papers", 0))
    return {"cursor": cursor}


def route_after_load(state: ScoutState) -> Literal["fetch_page", "finish", "__end__"]:
    if state["action"] == "fetch":
        return "fetch_page"
    return "finish" if state["action"] == "nothing" else END


def route_after_store(state: ScoutState) -> Literal["finish", "__end__"]:
    return "finish" if state["stop"] else END


def build_graph():
    g = StateGraph(ScoutState, context_schema=AgentContext)
    g.add_node("load_cursor", load_cursor)
    g.add_node("fetch_page", fetch_page)
    g.add_node("store_page", store_page)
    g.add_node("finish", finish)
    g.add_edge(START, "load_cursor")
    g.add_conditional_edges("load_cursor", route_after_load)
    g.add_edge("fetch_page", "store_page")
    g.add_conditional_edges("store_page", route_after_store)
    g.add_edge("finish", END)
    return g.compile()


GRAPH = build_graph()


def request_of(msg: CrawlRequested) -> str:
    at = msg.requested_at
    return (at.astimezone(timezone.utc) if at.tzinfo else at).isoformat()


def run(msg: CrawlRequested, deps: Deps) -> list[Message]:
    """Crawl one page of a feed; returns PapersFound batches for papers that still need reading,
    and the crawl of the next page unless the feed is done.

    Raises TransientError / PermanentError from the source after recording the
    error on the feed's cursor (shown by `questlog status` and `questlog sources`);
    the other feeds, each its own task, go on. Idempotent: a second delivery of a
    page changes nothing and only passes the crawl on.
    """
    if msg.source not in deps.sources:
        raise PermanentError(f"source {msg.source!r} is not enabled")
    try:
        crawl = resolve(msg, deps)
    except TransientError as err:  # a lookup of the paper's id at the source failed
        deps.ledger.record_source_error(f"{msg.source}:{msg.feed}", str(err))
        raise
    except NotServed as err:
        deps.ledger.record_source_error(err.key, str(err))
        raise
    try:
        state = GRAPH.invoke({"crawl": crawl, "request": request_of(msg), "page": msg.page},
                             context=AgentContext(deps), config={"recursion_limit": 20})
    except (TransientError, PermanentError) as err:
        _forget_dead_token(deps, crawl, err)
        deps.ledger.record_source_error(crawl.key, str(err))
        raise
    unread = deps.ledger.papers_without_passages(state["paper_ids"])
    if state["action"] == "fetch":
        log.info("crawl %s page %d: %d papers seen, %d new or updated, %d to read", crawl.key, msg.page,
                 len(state["paper_ids"]), state["new_papers"], len(unread))
    size = deps.settings.embed.batch_size  # one reading task feeds one embedding task
    out: list[Message] = [PapersFound(paper_ids=tuple(unread[i:i + size])) for i in range(0, len(unread), size)]
    if state["action"] == "forward":
        out.append(msg.model_copy(update={"page": state["forward_to"]}))
    elif state["action"] == "fetch" and not state["stop"]:
        out.append(msg.model_copy(update={"page": msg.page + 1}))
    return out


def _forget_dead_token(deps: Deps, crawl: Crawl, err: Exception) -> None:
    """An OAI resumption token kept past a page budget expires: start that harvest's window over."""
    if crawl.policy != "harvest" or "badResumptionToken" not in str(err):
        return
    cursor = deps.ledger.cursor(crawl.key)
    if (cursor.get("next") or {}).get("token"):
        cursor["next"] = {k: v for k, v in cursor["next"].items() if k != "token"}
        cursor.pop("resume", None)
        deps.ledger.save_cursor(crawl.key, cursor)
