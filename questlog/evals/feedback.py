"""`questlog eval feedback DIR`: does learning from the user's verdicts put evidence first sooner?

The corpus of a BEIR folder goes through the production ingest path into a throwaway data
directory (`questlog.evals.retrieval`). Each graded query is asked as a question and embedded;
its candidates are the linker's backfill candidates (the union of every retriever's top
`candidates`, wider than the linker's 40 so there is something left to re-rank after the
labels), each with the evidence judge's relevance as the prior, judged as the linker judges
(retrieval places on the production scale), and its passage embedding (primary model).

A simulated user then labels, per question, the top-ranked unlabelled candidate, `labels` times:
accepted when the qrels grade it >= 1, else rejected. Two arms on the same candidates (and a third below):

- without_learning: the judge's ranking throughout;
- with_learning: re-ranked after every label by `shared.relevance.feedback.rerank`.

Scores, averaged over questions: precision@10 of the remaining (unlabelled) list after the
labels, and recall = share of the question's relevant (graded >= 1) documents in the corpus that
the user has labelled (so met) by then.

The two arms' precision@10 is not of the same list: a learner that meets relevant documents
sooner leaves fewer for the next ten (a question with 14 relevant documents, all met in 20
verdicts, has none left). `same_verdicts` separates the two effects: the user labels in the
judge's order, as in without_learning, and the model learnt from those very verdicts ranks the
rest; its precision@10 against without_learning's is the re-ranking alone.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from questlog.evals.retrieval import ingest, read_beir, throwaway_deps
from shared.errors import PermanentError
from shared.relevance.feedback import logit, rerank

Progress = Callable[[str, int, int], None]


@dataclass
class Pool:
    """One question's candidates, best prior first: the judge's relevance, embeddings, whether relevant."""

    id: str
    question: str
    prior: list[float]
    vectors: np.ndarray
    relevant: list[bool]
    relevant_docs: int  # graded >= 1 in the corpus, found among the candidates or not


def _embed_question(deps, text: str) -> dict[str, list[float]]:
    """Add and embed a question as `questlog ask` does; its backfill link is not run (judged here)."""
    from agents.indexer import steps
    from agents.linker.graph import question_models
    from shared.ids import question_point_id
    from shared.messages import EmbedRequested

    qid = deps.ledger.add_question(text).id
    for ready in steps.embed(EmbedRequested(target="question", ids=(str(qid),)), deps):
        steps.index(ready, deps)
    point = question_point_id(qid)
    models = question_models(deps, deps.ledger.question(qid).models or [])
    return {m: v for m in models if (v := deps.store.vectors("questions", [point], m).get(point)) is not None}


def collect_pool(deps, query: dict, rel: dict[str, int], doc_of: dict[str, str], candidates: int) -> Pool:
    """The question's candidates as the linker would judge them, with prior, embedding and grade."""
    from agents.linker.candidates import backfill_candidates, scales
    from shared.relevance.features import retrieval_features

    text = query["text"]
    vectors = _embed_question(deps, text)
    cut = scales(deps, text, vectors)  # the production scale (top 40), as the judge was trained on
    cands = backfill_candidates(deps, text, vectors, n=candidates)
    passages = {p.id: p for p in deps.ledger.passages([c.passage_id for c in cands])}
    primary = next(iter(vectors))
    embedded = deps.store.vectors("passages", [c.passage_id for c in cands], primary)
    cands = [c for c in cands if c.passage_id in passages and c.passage_id in embedded]
    verdicts = deps.judge.assess_many(text, [passages[c.passage_id].text for c in cands],
                                      [retrieval_features(c.scores, cut) for c in cands],
                                      title_first=[passages[c.passage_id].kind == "abstract" for c in cands])
    rows = sorted(zip(cands, verdicts, strict=True), key=lambda cv: -cv[1].relevance)
    in_corpus = set(doc_of.values())
    return Pool(id=query["_id"], question=text, prior=[v.relevance for _, v in rows],
                vectors=np.array([embedded[c.passage_id] for c, _ in rows], dtype=float),
                relevant=[rel.get(doc_of.get(c.passage_id, ""), 0) >= 1 for c, _ in rows],
                relevant_docs=sum(1 for d, g in rel.items() if g >= 1 and d in in_corpus))


def _ranked(scores: list[float], labelled: dict[int, bool]) -> list[int]:
    """Unlabelled candidates, best score first; ties keep the prior's order."""
    return sorted((i for i in range(len(scores)) if i not in labelled), key=lambda i: (-scores[i], i))


def simulate(pool: Pool, labels: int, learn: bool, learn_after: bool = False, **model) -> dict:
    """Label the top unlabelled candidate `labels` times (re-ranking after each when `learn`); then
    precision@10 of what remains and recall of what was labelled. `learn_after`: label in the judge's
    order, then rank the rest by what those verdicts taught. `model`: keyword options of `rerank`."""
    labelled: dict[int, bool] = {}
    scores = logit(pool.prior).tolist()
    for _ in range(min(labels, len(pool.prior))):
        pick = _ranked(scores, labelled)[0]
        labelled[pick] = pool.relevant[pick]
        if learn:
            scores = rerank(pool.prior, pool.vectors, labelled, **model)
    if learn_after and labelled:
        scores = rerank(pool.prior, pool.vectors, labelled, **model)
    top = _ranked(scores, labelled)[:10]
    found = sum(labelled.values())
    return {"precision@10": sum(pool.relevant[i] for i in top) / 10,
            "recall": found / pool.relevant_docs if pool.relevant_docs else 0.0}


def score_pools(pools: list[Pool], labels: int, **model) -> dict:
    """Every arm on every pool, averaged over questions (module docstring)."""
    per_question, arms = [], {"with_learning": [], "without_learning": [], "same_verdicts": []}
    for pool in pools:
        row = {"id": pool.id, "question": pool.question, "candidates": len(pool.prior),
               "relevant_docs": pool.relevant_docs, "relevant_candidates": sum(pool.relevant),
               "initial_precision@10": sum(pool.relevant[:10]) / 10}
        for arm, learn, after in (("with_learning", True, False), ("without_learning", False, False),
                                  ("same_verdicts", False, True)):
            row[arm] = {k: round(v, 4) for k, v in simulate(pool, labels, learn, after, **model).items()}
            arms[arm].append(row[arm])
        per_question.append(row)
    mean = {arm: {k: round(float(np.mean([r[k] for r in rows])), 4) for k in ("precision@10", "recall")}
            for arm, rows in arms.items()}
    return {"labels": labels, "questions": len(pools), **mean, "per_question": per_question}


def evaluate_feedback(folder: Path, settings=None, progress: Progress | None = None, split: str = "test",
                      labels: int = 20, candidates: int = 100, keep: Path | None = None) -> dict:
    """Simulate a user's verdicts with and without learning from them (module docstring).

    Raises PermanentError for `labels` or `candidates` below 1 (naming the flag) and for a malformed
    folder or one whose qrels grade nothing. The throwaway data directory is removed unless `keep`."""
    if labels < 1:
        raise PermanentError(f"--labels must be at least 1; got {labels}")
    if candidates < 1:
        raise PermanentError(f"--candidates must be at least 1; got {candidates}")
    pools = collect_pools(folder, settings, progress, split, candidates, keep)
    result = score_pools(pools, labels)
    result["candidates_per_retriever"] = candidates
    return result


def collect_pools(folder: Path, settings=None, progress: Progress | None = None, split: str = "test",
                  candidates: int = 100, keep: Path | None = None) -> list[Pool]:
    """Ingest the folder's corpus and collect every graded query's pool (see `collect_pool`)."""
    corpus, queries, qrels = read_beir(folder, split)
    graded = [q for q in queries if qrels.get(q["_id"])]
    if not graded:
        raise PermanentError(f"{folder}/qrels/{split}.tsv: no query has a document graded above 0")
    work, deps = throwaway_deps(settings, keep)
    try:
        doc_of = {p: d for d, p in ingest(deps, corpus, progress, stage="ingest corpus").items()}
        pools = []
        for i, q in enumerate(graded):
            pools.append(collect_pool(deps, q, qrels[q["_id"]], doc_of, candidates))
            if progress:
                progress("judge candidates", i + 1, len(graded))
    finally:
        deps.close()
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    return pools
