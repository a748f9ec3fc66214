"""Hybrid retrieval: every configured dense model plus BM25, fused.

Each retriever ranks candidates on its own; the rankings are fused so that a
passage any one retriever ranks well is not missed. Two fusion rules:
- 'convex' (default): each retriever's scores are min-max normalised over its
  own candidates (a candidate it did not return scores 0) and summed with
  weights: the dense models share `dense_weight`, BM25 gets the rest. Scores keep
  how sure each retriever is, not only its order.
- 'rrf': reciprocal rank fusion, sum of 1 / (60 + rank), equal weights.
On SciFact's training claims (tuned on half the claims, judged on the other
half) convex fusion at equal weight beat RRF by about two nDCG@10 points; see
README "Measured". Every stage's score is kept on the candidate for provenance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from shared.vectors import SPARSE, Hit, VectorStore
from shared.vectors.lexical import query_vector

RRF_K = 60
Fusion = Literal["convex", "rrf"]


@dataclass
class Candidate:
    passage_id: str
    paper_id: str
    scores: dict[str, float] = field(default_factory=dict)
    fused: float = 0.0


def options(link) -> dict:
    """The retrieval keywords from the `link` settings group."""
    return {"candidates": link.candidates, "fusion": link.fusion, "dense_weight": link.dense_weight}


def _normalised(hits: list[Hit]) -> dict[str, float]:
    if not hits:
        return {}
    lo, hi = min(h.score for h in hits), max(h.score for h in hits)
    return {h.id: (h.score - lo) / (hi - lo) if hi > lo else 1.0 for h in hits}


def retrieve(store: VectorStore, question_text: str, question_vectors: dict[str, list[float]], *, limit: int,
             ids: list[str] | None = None, lexical: bool = True, candidates: int = 200,
             fusion: Fusion = "convex", dense_weight: float = 0.5, per_retriever: int | None = None
             ) -> list[Candidate]:
    """Fused candidates, best first, at most `limit`; restricted to passage `ids` when given.

    `question_vectors` maps dense model name -> the question's vector in that model;
    only those models take part (the question's own choice of models). Each
    retriever contributes its best max(limit, candidates) passages, or exactly `per_retriever`
    when given (all of `ids` when restricted).
    """
    if ids is not None:
        per_retriever = max(len(ids), 1)
    elif per_retriever is None:
        per_retriever = max(limit, candidates)
    rankings: dict[str, list[Hit]] = {}
    for model, vec in question_vectors.items():
        rankings[model] = store.search("passages", model, vec, per_retriever, ids=ids)
    if lexical:
        q = query_vector(question_text)
        rankings[SPARSE] = store.search("passages", SPARSE, q, per_retriever, ids=ids) if q.indices else []
    dense_names = [n for n in rankings if n != SPARSE]
    weights = {n: (dense_weight / len(dense_names) if SPARSE in rankings else 1 / len(dense_names))
               for n in dense_names}
    if SPARSE in rankings:
        weights[SPARSE] = 1 - dense_weight if dense_names else 1.0
    fused: dict[str, Candidate] = {}
    for name, hits in rankings.items():
        norm = _normalised(hits) if fusion == "convex" else {}
        for rank, hit in enumerate(hits):
            cand = fused.setdefault(hit.id, Candidate(hit.id, hit.payload.get("paper_id", "")))
            cand.scores[name] = round(hit.score, 6)
            cand.fused += weights[name] * norm[hit.id] if fusion == "convex" else 1 / (RRF_K + rank + 1)
    ranked = sorted(fused.values(), key=lambda c: (-c.fused, c.passage_id))[:limit]
    for c in ranked:
        c.scores["fused"] = round(c.fused, 6)
    return ranked


def retrieve_for(deps, question_text: str, question_vectors: dict[str, list[float]], *, limit: int,
                 ids: list[str] | None = None, lexical: bool = True, rerank_stage: bool = True,
                 per_retriever: int | None = None) -> list[Candidate]:
    """`retrieve` with the settings' fusion (and exactly `per_retriever` passages from each retriever
    when given), then the reranking stage when one is configured."""
    cands = retrieve(deps.store, question_text, question_vectors, limit=limit, ids=ids, lexical=lexical,
                     per_retriever=per_retriever, **options(deps.settings.link))
    if not rerank_stage or deps.reranker is None or not cands:
        return cands
    from shared.rerank import rerank

    top = deps.settings.link.rerank_top
    texts = {p.id: p.text for p in deps.ledger.passages([c.passage_id for c in cands[:top]])}
    return rerank(deps.reranker, question_text, cands, texts, top)
