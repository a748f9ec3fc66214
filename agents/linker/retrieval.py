"""Hybrid retrieval: every configured dense model plus BM25, fused by reciprocal rank.

Each retriever ranks candidates on its own; RRF (score = sum 1/(k + rank))
fuses them, so a passage that any one retriever ranks well is not missed. Every
stage's score is kept on the candidate for provenance.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agents.indexer.lexical import query_vector
from shared.vectors import SPARSE, VectorStore

RRF_K = 60


@dataclass
class Candidate:
    passage_id: str
    paper_id: str
    scores: dict[str, float] = field(default_factory=dict)
    fused: float = 0.0


def retrieve(store: VectorStore, question_text: str, question_vectors: dict[str, list[float]], *, limit: int,
             ids: list[str] | None = None, lexical: bool = True, weights: dict[str, float] | None = None
             ) -> list[Candidate]:
    """Fused candidates, best first, at most `limit`; restricted to passage `ids` when given.

    `question_vectors` maps dense model name -> the question's vector in that model;
    only those models take part (the question's own choice of models).
    """
    per_retriever = limit if ids is None else max(len(ids), 1)
    rankings: dict[str, list] = {}
    for model, vec in question_vectors.items():
        rankings[model] = store.search("passages", model, vec, per_retriever, ids=ids)
    if lexical:
        q = query_vector(question_text)
        rankings[SPARSE] = store.search("passages", SPARSE, q, per_retriever, ids=ids) if q.indices else []
    fused: dict[str, Candidate] = {}
    for name, hits in rankings.items():
        w = (weights or {}).get(name, 1.0)
        for rank, hit in enumerate(hits):
            cand = fused.setdefault(hit.id, Candidate(hit.id, hit.payload.get("paper_id", "")))
            cand.scores[name] = round(hit.score, 6)
            cand.fused += w / (RRF_K + rank + 1)
    ranked = sorted(fused.values(), key=lambda c: (-c.fused, c.passage_id))[:limit]
    for c in ranked:
        c.scores["rrf"] = round(c.fused, 6)
    return ranked
