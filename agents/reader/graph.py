"""The reader's graph: load papers -> split into passages -> store -> ask for embeddings.

Idempotent: passage ids are uuid5(paper, index, content hash), so reading a
paper twice stores nothing new; only passages not yet indexed are sent on.
"""

from __future__ import annotations

from typing import TypedDict

from langgraph.runtime import Runtime

from agents.context import AgentContext, straight_line
from agents.deps import Deps
from agents.reader.splitters import FullTextSplitter
from shared.ids import passage_id
from shared.messages import EmbedRequested, FullTextRequested, Message, PapersFound


class ReaderState(TypedDict, total=False):
    paper_ids: list[str]
    pending: list[str]
    missing: list[str]


def read_papers(state: ReaderState, runtime: Runtime[AgentContext]) -> dict:
    deps = runtime.context.deps
    splitter = FullTextSplitter(deps.ledger, deps.readings)
    papers = {p.id: p for p in deps.ledger.papers(state["paper_ids"])}
    found = [papers[pid] for pid in state["paper_ids"] if pid in papers]
    batch = [(p.id, drafts, [passage_id(p.id, d.index, d.text) for d in drafts])
             for p, drafts in zip(found, splitter.split_many(found), strict=True)]
    pending = deps.ledger.replace_many_passages(batch)  # one commit for the batch, not one per paper
    return {"pending": pending, "missing": [p for p in state["paper_ids"] if p not in papers]}


GRAPH = straight_line(ReaderState, read_papers)


def run(msg: PapersFound, deps: Deps) -> list[Message]:
    """Store the papers' passages; returns EmbedRequested batches for those not yet indexed."""
    state = GRAPH.invoke({"paper_ids": list(msg.paper_ids)}, context=AgentContext(deps))
    size = deps.settings.embed.batch_size
    pending = state["pending"]
    out: list[Message] = [EmbedRequested(target="passages", ids=tuple(pending[i:i + size]))
                          for i in range(0, len(pending), size)]
    if deps.settings.fulltext.fetch == "all":  # a GPU embed worker can afford every paper's body
        known = deps.ledger.fulltexts(list(msg.paper_ids))
        unread = tuple(p for p in msg.paper_ids if p not in known and p not in state["missing"])
        out += [FullTextRequested(paper_ids=unread, reason="all")] if unread else []
    return out
