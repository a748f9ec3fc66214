"""What a run left behind, and what a chaos run lost or duplicated against a fault-free run.

`read_state` reads a stopped run's ledger, vector store and the digests its Slack webhook received;
`compare` sets two states side by side. Items are named by what makes them the same in both runs:
a paper by its canonical id, a passage and its vector point by the passage id (uuid5 of paper, index
and text), a link by (question text, passage id), a digest item by (question text, paper).

Lost (in the fault-free run, missing from the chaos run): papers, passages, points; links whose
passage the chaos run never judged against the questions (a passage's link depends on the library
at the moment it is judged — `agents/linker/candidates.py` — so a passage judged later, in a larger
library, may be judged otherwise: those are counted in `links.judged_differently`, not as lost);
digest items — (question, paper) of a link — that no digest of the chaos run sent, plus digests
opened and never finished (the fault-free run sends every one: `fault_free_undelivered` says so).
Duplicates (in the chaos run): a paper row twice, two current passages for one (paper, index),
vector points beyond one per passage, a link twice, a digest item posted more than once.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field

EVIDENCE_URL = re.compile(r"/evidence/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")


@dataclass
class RunState:
    papers: list[str] = field(default_factory=list)  # canonical id, one per paper row
    passages: list[tuple[str, str, int]] = field(default_factory=list)  # (passage id, paper, index), current
    points: set[str] = field(default_factory=set)  # passage ids with a vector point
    point_count: int = 0  # points in the store
    links: list[tuple[str, str]] = field(default_factory=list)  # (question text, passage id) per row
    judged: set[str] = field(default_factory=set)  # passages judged against every open question
    delivered: list[tuple[str, str]] = field(default_factory=list)  # (question text, paper) per item posted
    unfinished_digests: int = 0
    dead_letters: int = 0


def posted_evidence(bodies: list[bytes]) -> list[str]:
    """Evidence ids of the items in Slack webhook payloads, one per item per post."""
    out = []
    for body in bodies:
        for block in json.loads(body).get("blocks", []):
            text = (block.get("text") or {}).get("text", "")
            out += list(dict.fromkeys(EVIDENCE_URL.findall(text)))  # an item links its page twice
    return out


def read_state(settings, posts: list[bytes]) -> RunState:
    """The state of a stopped run (the embedded vector store has one owner: the stack must be down)."""
    from sqlalchemy import select

    from shared.ledger import Ledger
    from shared.ledger.models import DigestRow, EvidenceRow, PaperRow, PassageRow, QuestionRow
    from shared.vectors import open_store

    ledger = Ledger(settings.ledger_url)
    state = RunState()
    with ledger.session() as s:
        canon = dict(s.execute(select(PaperRow.id, PaperRow.canonical_id)).all())
        state.papers = list(canon.values())
        rows = s.execute(select(PassageRow.id, PassageRow.paper_id, PassageRow.index, PassageRow.linked_at)
                         .where(PassageRow.current.is_(True))).all()
        state.passages = [(pid, canon.get(paper, paper), index) for pid, paper, index, _ in rows]
        state.judged = {pid for pid, _, _, linked in rows if linked is not None}
        texts = dict(s.execute(select(QuestionRow.id, QuestionRow.text)).all())
        evidence = {eid: (texts[q], pid, canon.get(paper, paper)) for eid, q, pid, paper in s.execute(
            select(EvidenceRow.id, EvidenceRow.question_id, EvidenceRow.passage_id, EvidenceRow.paper_id)).all()}
        state.links = [(q, pid) for q, pid, _ in evidence.values()]
        state.unfinished_digests = len(s.scalars(select(DigestRow.id).where(
            DigestRow.status.not_in(("sent", "empty")))).all())
    state.delivered = [(evidence[eid][0], evidence[eid][2]) if eid in evidence else ("?", eid)
                       for eid in posted_evidence(posts)]
    state.dead_letters = len(ledger.dead_letters(limit=None))
    ledger.close()
    store = open_store(settings)
    try:
        model = settings.embed.models[0].name
        ids = [p[0] for p in state.passages]
        for i in range(0, len(ids), 256):
            state.points |= set(store.vectors("passages", ids[i:i + 256], model))
        state.point_count = store.count("passages")
    finally:
        store.close()
    return state


def _excess(items) -> int:
    return sum(n - 1 for n in Counter(items).values() if n > 1)


def _link_papers(state: RunState) -> set[tuple[str, str]]:
    """(question text, paper) of every link: what the digests must have sent (one item per paper)."""
    paper_of = {pid: paper for pid, paper, _ in state.passages}
    return {(q, paper_of.get(pid, pid)) for q, pid in state.links}


def compare(clean: RunState, chaos: RunState) -> dict:
    """{"lost": {...}, "duplicates": {...}, "links": {...}} of the chaos run against the fault-free one."""
    clean_passages = {p[0] for p in clean.passages}
    chaos_passages = {p[0] for p in chaos.passages}
    chaos_links = set(chaos.links)
    chaos_delivered = set(chaos.delivered)
    missing_links = set(clean.links) - chaos_links
    lost = {
        "papers": len(set(clean.papers) - set(chaos.papers)),
        "passages": len(clean_passages - chaos_passages),
        "points": len(clean.points - chaos.points),
        "links": sum(1 for q, p in missing_links if p not in chaos.judged),
        "digests": len(_link_papers(chaos) - chaos_delivered) + chaos.unfinished_digests,
    }
    duplicates = {
        "papers": _excess(chaos.papers),
        "passages": _excess((paper, index) for _, paper, index in chaos.passages),
        "points": chaos.point_count - len(chaos.points & chaos_passages),
        "links": _excess(chaos.links),
        "digests": _excess(chaos.delivered),
    }
    links = {"fault_free": len(clean.links), "chaos": len(chaos.links),
             "judged_differently": sum(1 for q, p in missing_links if p in chaos.judged)
             + len(chaos_links - set(clean.links))}
    links["fault_free_undelivered"] = len(_link_papers(clean) - set(clean.delivered)) + clean.unfinished_digests
    return {"lost": lost, "duplicates": duplicates, "links": links}
