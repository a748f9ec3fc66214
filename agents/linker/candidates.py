"""Which passages the evidence judge reads for a question: the candidate cut.

Every retriever — each dense model the question uses, and BM25 — ranks the corpus on
its own, and the judge reads the union of their top `link.judge_candidates` passages.
So a passage that only BM25, or only a second embedding, ranks well is read, not lost
to the other retrievers' opinion.

Backfill (a new question): the union over the whole corpus. New passages (`passages`
mode): a new passage is read when some retriever scores it at least as high as that
retriever's `judge_candidates`-th passage of the corpus now (its "bar"), i.e. exactly
when it is among the candidates the question would have if it were asked now. The bars
cost one top-N search per retriever; a retriever with fewer than N hits has no bar, so
whatever it scores at all is read.
"""

from __future__ import annotations

from agents.linker.retrieval import Candidate, retrieve_for
from shared.relevance.features import Scale, placement_rank, scale_of
from shared.vectors import SPARSE
from shared.vectors.lexical import query_vector


def backfill_candidates(deps, text: str, vectors: dict[str, list[float]], n: int | None = None) -> list[Candidate]:
    """Fused candidates, best first: the union of every retriever's top N over the corpus, each scored
    by every retriever (a passage BM25 found also gets its cosine, and the other way round). `n`:
    N, unset: `link.judge_candidates` (evals widen it to have more to re-rank)."""
    n = n or deps.settings.link.judge_candidates
    cands = retrieve_for(deps, text, vectors, limit=n * (len(vectors) + 1), per_retriever=n)
    queries = {**vectors}
    q = query_vector(text)
    if q.indices:
        queries[SPARSE] = q
    for name, query in queries.items():
        missing = [c for c in cands if name not in c.scores]
        if missing:
            found = {h.id: h.score for h in deps.store.search("passages", name, query, len(missing),
                                                              ids=[c.passage_id for c in missing])}
            for c in missing:
                if c.passage_id in found:
                    c.scores[name] = round(found[c.passage_id], 6)
    return cands


def reference_passages(deps) -> int:
    """The library size the judge learned placement on (0: unknown, or placement is not the judge's)."""
    ref = deps.settings.link.placement_reference_passages
    if ref is None:
        ref = getattr(deps.judge, "library_passages", 0) if deps.settings.link.gate == "judge" else 0
    return ref or 0


def scales(deps, text: str, vectors: dict[str, list[float]]) -> dict[str, Scale]:
    """Each retriever's best and N-th best score over the corpus now (none: it found nothing); in a
    library smaller than the judge's reference, placement 0 sits at a higher rank (`placement_rank`)."""
    n = deps.settings.link.judge_candidates
    ref = reference_passages(deps)
    at = placement_rank(n, deps.store.count("passages"), ref) if ref else None
    found = {name: deps.store.search("passages", name, vec, n) for name, vec in vectors.items()}
    q = query_vector(text)
    if q.indices:
        found[SPARSE] = deps.store.search("passages", SPARSE, q, n)
    return {name: scale for name, hits in found.items() if (scale := scale_of([h.score for h in hits], n, at))}


def new_passage_candidates(deps, text: str, vectors: dict[str, list[float]], ids: list[str],
                           cut: dict[str, Scale]) -> list[Candidate]:
    """The passages among `ids` that reach some retriever's bar (with fewer than N hits, any score it gives)."""
    cands = retrieve_for(deps, text, vectors, limit=len(ids), ids=ids, rerank_stage=False)
    return [c for c in cands if any(name in cut and cut[name].admits(c.scores.get(name)) for name in c.scores)]
