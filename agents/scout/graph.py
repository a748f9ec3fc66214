"""The scout's graph: crawl one page of a feed from its cursor.

    load_cursor -> fetch_page -> store_page -(done?)-> finish
                                          \\-(more)-> END (the task sends the crawl on for the next page)

One page per task lets the reader and the embedder start on page 1 while page 2
is fetched, and keeps each task short. A crawl stops when a page brings
nothing new, the feed ends, or max_pages is reached.

The cursor keeps a watermark (the newest (published, id) seen by the last
finished crawl) and, while a crawl runs, where it has got to; a crawl that
dies resumes from there, so a restart neither re-fetches the feed nor misses
the papers below the watermark. Papers whose passages are missing are sent on
to the reader, so a re-run repairs a crash between storing and sending.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Literal, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import RunnableConfig

from agents.deps import Deps
from agents.scout.queries import arxiv_query
from shared.errors import PermanentError, TransientError
from shared.messages import CrawlRequested, Message, PapersFound
from shared.records import PaperRecord
from shared.sources.base import Feed, Page

log = logging.getLogger(__name__)
BATCH = 64


class ScoutState(TypedDict, total=False):
    feed: Feed
    cursor_key: str
    cursor: dict
    pages_done: int
    seen: int
    top: list | None
    stop: bool
    paper_ids: list[str]
    new_papers: int


def _deps(config: RunnableConfig) -> Deps:
    return config["configurable"]["deps"]


def _pages(config: RunnableConfig) -> dict[str, Iterator[Page]]:
    return config["configurable"]["pages"]


def _mark(rec: PaperRecord) -> list:
    return [rec.published.isoformat() if rec.published else "", rec.source_id]


def load_cursor(state: ScoutState, config: RunnableConfig) -> dict:
    cursor = _deps(config).ledger.cursor(state["cursor_key"])
    resume = (cursor.get("resume") or {}) if state["pages_done"] else {}
    if not state["pages_done"]:  # a new crawl starts from the top, whatever an abandoned one left
        cursor.pop("resume", None)
    return {"cursor": cursor, "seen": resume.get("seen", 0), "top": resume.get("top"), "stop": False,
            "paper_ids": [], "new_papers": 0}


def fetch_page(state: ScoutState, config: RunnableConfig) -> dict:
    deps = _deps(config)
    pages = _pages(config)
    if "it" not in pages:
        source = deps.sources[config["configurable"]["source"]]
        start = (state["cursor"].get("resume") or {}).get("start", 0)
        pages["it"] = iter(source.pages(state["feed"], {"start": start}))
    page = next(pages["it"], None)
    pages["page"] = page
    return {"pages_done": state["pages_done"] + 1}


def store_page(state: ScoutState, config: RunnableConfig) -> dict:
    deps = _deps(config)
    page: Page | None = _pages(config).get("page")
    if page is None:
        return {"stop": True}
    watermark = state["cursor"].get("newest")
    ids, new, reached_known = list(state["paper_ids"]), state["new_papers"], False
    top = state.get("top")
    for rec in page.records:
        mark = _mark(rec)
        if watermark and mark <= watermark:
            reached_known = True
            continue
        top = max(top, mark) if top else mark
        result = deps.ledger.upsert_paper(rec)
        new += result.status != "unchanged"
        if result.status == "updated":
            deps.ledger.retire_passages(result.paper_id)
        ids.append(result.paper_id)
    seen = state["seen"] + len(page.records)
    limit = deps.settings.arxiv.search_results if state["feed"].kind == "search" else None
    stop = (reached_known or page.next_cursor is None or state["pages_done"] >= deps.settings.arxiv.max_pages
            or (limit is not None and seen >= limit))
    cursor = dict(state["cursor"])
    if not stop:
        cursor["resume"] = {"start": page.next_cursor["start"], "top": top, "seen": seen}
        deps.ledger.save_cursor(state["cursor_key"], cursor, papers_found=0)
    return {"paper_ids": ids, "new_papers": new, "seen": seen, "top": top, "stop": stop, "cursor": cursor}


def finish(state: ScoutState, config: RunnableConfig) -> dict:
    deps = _deps(config)
    cursor = {k: v for k, v in state["cursor"].items() if k != "resume"}
    if state.get("top"):
        cursor["newest"] = max(cursor.get("newest") or state["top"], state["top"])
    deps.ledger.save_cursor(state["cursor_key"], cursor, papers_found=state["new_papers"])
    return {"cursor": cursor}


def route_after_store(state: ScoutState) -> Literal["finish", "__end__"]:
    return "finish" if state["stop"] else END


def build_graph():
    g = StateGraph(ScoutState)
    g.add_node("load_cursor", load_cursor)
    g.add_node("fetch_page", fetch_page)
    g.add_node("store_page", store_page)
    g.add_node("finish", finish)
    g.add_edge(START, "load_cursor")
    g.add_edge("load_cursor", "fetch_page")
    g.add_edge("fetch_page", "store_page")
    g.add_conditional_edges("store_page", route_after_store)
    g.add_edge("finish", END)
    return g.compile()


GRAPH = build_graph()


def feed_for(msg: CrawlRequested, deps: Deps) -> Feed:
    kind, _, value = msg.feed.partition(":")
    if kind == "category":
        return Feed(kind="category", value=value)
    if kind == "question":
        q = deps.ledger.question(int(value))
        return Feed(kind="search", value=arxiv_query(q.text), question_id=q.id)
    raise PermanentError(f"unknown feed {msg.feed!r}; expected 'category:<name>' or 'question:<id>'")


def run(msg: CrawlRequested, deps: Deps) -> list[Message]:
    """Crawl one page of a feed; returns PapersFound batches for papers that still need reading,
    and the crawl of the next page unless the feed is done.

    Raises TransientError / PermanentError from the source after recording the
    error on the feed's cursor (shown by `questlog status`).
    """
    source = deps.sources.get(msg.source)
    if source is None:
        raise PermanentError(f"source {msg.source!r} is not enabled")
    feed = feed_for(msg, deps)
    key = f"{msg.source}:{feed.key}"
    try:
        state = GRAPH.invoke({"feed": feed, "cursor_key": key, "pages_done": msg.page},
                             config={"configurable": {"deps": deps, "source": msg.source, "pages": {}},
                                     "recursion_limit": 20})
    except (TransientError, PermanentError) as err:
        deps.ledger.record_source_error(key, str(err))
        raise
    unread = deps.ledger.papers_without_passages(state["paper_ids"])
    log.info("crawl %s: %d papers seen, %d new or updated, %d to read", key, state["seen"], state["new_papers"],
             len(unread))
    out: list[Message] = [PapersFound(paper_ids=tuple(unread[i:i + BATCH])) for i in range(0, len(unread), BATCH)]
    if not state["stop"]:
        out.append(msg.model_copy(update={"page": msg.page + 1}))
    return out


def plan(deps: Deps, now) -> list[CrawlRequested]:
    """The crawls of one beat tick: every firehose category and every open question's search."""
    msgs = []
    for name, _source in deps.sources.items():
        if name == "arxiv":
            msgs += [CrawlRequested(source=name, feed=f"category:{c}", requested_at=now)
                     for c in deps.settings.arxiv.categories]
            msgs += [CrawlRequested(source=name, feed=f"question:{q.id}", requested_at=now)
                     for q in deps.ledger.questions(status="open")]
    return msgs
