"""The reader's graph: load papers -> split into passages -> store -> ask for embeddings.

Idempotent: passage ids are uuid5(paper, index, content hash), so reading a
paper twice stores nothing new; only passages not yet indexed are sent on.
"""

from __future__ import annotations

from typing import TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import RunnableConfig

from agents.deps import Deps
from agents.reader.splitters import AbstractSplitter
from shared.ids import passage_id
from shared.messages import EmbedRequested, Message, PapersFound


class ReaderState(TypedDict, total=False):
    paper_ids: list[str]
    pending: list[str]
    missing: list[str]


def read_papers(state: ReaderState, config: RunnableConfig) -> dict:
    deps: Deps = config["configurable"]["deps"]
    splitter = config["configurable"].get("splitter") or AbstractSplitter()
    papers = {p.id: p for p in deps.ledger.papers(state["paper_ids"])}
    pending: list[str] = []
    for pid in state["paper_ids"]:
        paper = papers.get(pid)
        if paper is None:
            continue
        drafts = splitter.split(paper)
        ids = [passage_id(pid, d.index, d.text) for d in drafts]
        pending += deps.ledger.replace_passages(pid, drafts, ids)
    return {"pending": pending, "missing": [p for p in state["paper_ids"] if p not in papers]}


def build_graph():
    g = StateGraph(ReaderState)
    g.add_node("read_papers", read_papers)
    g.add_edge(START, "read_papers")
    g.add_edge("read_papers", END)
    return g.compile()


GRAPH = build_graph()


def run(msg: PapersFound, deps: Deps) -> list[Message]:
    """Store the papers' passages; returns EmbedRequested batches for those not yet indexed."""
    state = GRAPH.invoke({"paper_ids": list(msg.paper_ids)}, config={"configurable": {"deps": deps}})
    size = deps.settings.embed.batch_size
    pending = state["pending"]
    return [EmbedRequested(target="passages", ids=tuple(pending[i:i + size])) for i in range(0, len(pending), size)]
