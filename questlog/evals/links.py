"""`questlog eval links DIR`: what the production linker records, against graded qrels.

The corpus of a BEIR folder goes through the production ingest path (ledger,
reader, embed, index) into a throwaway data directory, except a held-back tenth
(by a hash of the document id). Every query is then asked as a question and
embedded and indexed as the stack does, which runs the linker's `backfill` mode;
then the held-back tenth is ingested and each of its index batches runs the
linker's `passages` mode, as new papers do in the running stack. What the ledger
recorded is compared with the qrels (graded; unjudged documents count as not
relevant):

- precision: share of links graded >= 1; precision_strict: graded 2;
- recall: share of grade-2 documents linked; recall_any: of documents graded >= 1
  (with binary qrels, as SciFact's, every relevant document counts as grade 2);
- f1 of precision and recall; ndcg@10 of the evidence list as the user sees it;
- candidate recall: of the grade-2 (and >= 1) documents, the share the judge reads for
  the question over the whole corpus (the retrieval cut), so a low recall can be told
  from a strict judge;
- answers: links per answer / stance; rationale_sentences: their mean count.
"""

from __future__ import annotations

import hashlib
import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from questlog.evals.retrieval import ingest, ndcg_at, read_beir, throwaway_deps
from shared.errors import PermanentError

Progress = Callable[[str, int, int], None]


def held_back(doc_id: str, share: int = 10) -> bool:
    """The documents ingested after the questions were asked: one in `share`, by hash."""
    return int(hashlib.sha1(doc_id.encode()).hexdigest(), 16) % share == 0


def _ask(deps, text: str) -> int:
    """Ask a question as `questlog ask` does, then embed and index it (its backfill link runs)."""
    from agents.indexer import steps
    from agents.linker import graph as linker
    from shared.messages import EmbedRequested, LinkRequested

    qid = deps.ledger.add_question(text).id
    for ready in steps.embed(EmbedRequested(target="question", ids=(str(qid),)), deps):
        for msg in steps.index(ready, deps):
            assert isinstance(msg, LinkRequested)
            linker.run(msg, deps)
    return qid


def _link_new(deps, corpus: list[dict], progress: Progress | None) -> dict[str, str]:
    """Ingest new documents; every index batch runs the linker's passages mode, and the relinks it sends on."""
    from agents.linker import graph as linker
    from shared.messages import LinkRequested

    def on_link(msg) -> None:
        for sent in linker.run(msg, deps):
            if isinstance(sent, LinkRequested):
                on_link(sent)

    return ingest(deps, corpus, progress, stage="ingest new papers", on_link=on_link)


def _prf(links: set[str], rel: dict[str, int]) -> dict:
    any_rel = {d for d, g in rel.items() if g >= 1}
    strict = {d for d, g in rel.items() if g >= 2}
    return {
        "links": len(links),
        "relevant_links": len(links & any_rel),
        "evidence_links": len(links & strict),
        "evidence_docs": len(strict),
        "relevant_docs": len(any_rel),
    }


def _rates(c: dict) -> dict:
    p = c["relevant_links"] / c["links"] if c["links"] else 0.0
    ps = c["evidence_links"] / c["links"] if c["links"] else 0.0
    r = c["evidence_links"] / c["evidence_docs"] if c["evidence_docs"] else 0.0
    ra = c["relevant_links"] / c["relevant_docs"] if c["relevant_docs"] else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "precision_strict": round(ps, 4), "recall": round(r, 4),
            "recall_any": round(ra, 4), "f1": round(f1, 4)}


def evaluate_links(folder: Path, settings=None, progress: Progress | None = None, split: str = "test",
                   keep: Path | None = None, query_split: str | None = None, sample: int | None = None,
                   new_library: bool = False) -> dict:
    """Run the production linker as the stack does and score what the ledger recorded (module docstring).

    `query_split` keeps only the queries of one split (train / tune / validation) as the trainers
    cut them (`shared.stance.evaluate.split_of`). `sample` keeps that many documents (a fixed choice by
    hash of their ids, graded or not) to measure the linker on a small library like a new user's; the
    qrels then count only the documents kept. `new_library`: the questions are asked of an empty library
    and every document is ingested after them, batch by batch, as a new user's library grows. Raises
    PermanentError for a malformed folder."""
    from shared.questions import question_kind
    from shared.stance.evaluate import split_of

    corpus, queries, qrels = read_beir(folder, split)
    graded = [q for q in queries if qrels.get(q["_id"])]
    if not graded:
        raise PermanentError(f"{folder}/qrels/{split}.tsv: no query has a document graded above 0")
    if query_split:
        graded = [q for q in graded if split_of(q["text"]) == query_split]
        if not graded:
            raise PermanentError(f"{folder}: no graded query falls in the {query_split!r} split")
    if sample is not None:
        if sample < 1:
            raise PermanentError(f"--sample must be at least 1; got {sample}")
        corpus = sorted(corpus, key=lambda d: hashlib.sha1(f"sample:{d['_id']}".encode()).hexdigest())[:sample]
        kept = {d["_id"] for d in corpus}
        qrels = {q: {d: g for d, g in rel.items() if d in kept} for q, rel in qrels.items()}
    if max((g for rel in qrels.values() for g in rel.values()), default=0) == 1:  # binary qrels: relevant = evidence
        qrels = {q: {d: 2 for d in rel} for q, rel in qrels.items()}
    work, deps = throwaway_deps(settings, keep)
    try:
        first = [] if new_library else [d for d in corpus if not held_back(d["_id"])]
        later = (sorted(corpus, key=lambda d: hashlib.sha1(f"order:{d['_id']}".encode()).hexdigest()) if new_library
                 else [d for d in corpus if held_back(d["_id"])])
        doc_of = {p: d for d, p in ingest(deps, first, progress, stage="ingest corpus").items()}
        asked: dict[int, dict] = {}
        for i, q in enumerate(graded):
            asked[_ask(deps, q["text"])] = q
            if progress:
                progress("ask questions (backfill)", i + 1, len(graded))
        doc_of |= {p: d for d, p in _link_new(deps, later, progress).items()}
        result = _score(deps, asked, doc_of, qrels, question_kind)
    finally:
        deps.close()
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    result["documents"] = len(corpus)
    result["held_back_documents"] = len(later)
    return result


def _candidates(deps, qid: int, text: str) -> list[str] | None:
    """The passages the judge would read for the question over the whole corpus now (the candidate cut)."""
    from agents.linker.candidates import backfill_candidates
    from agents.linker.graph import question_models
    from shared.ids import question_point_id

    point = question_point_id(qid)
    models = question_models(deps, deps.ledger.question(qid).models or [])
    vectors = {m: v for m in models if (v := deps.store.vectors("questions", [point], m).get(point)) is not None}
    if not vectors:
        return None
    cands = backfill_candidates(deps, text, vectors)
    return [c.passage_id for c in cands]


def _score(deps, asked: dict[int, dict], doc_of: dict[str, str], qrels: dict, kind_of) -> dict:
    per_question, totals, answers, rationale_counts, ndcgs = [], Counter(), Counter(), [], []
    cand_totals = Counter()
    for qid, q in asked.items():
        rel = qrels[q["_id"]]
        views = [v for v in deps.ledger.evidence(qid) if v.verdict != "rejected"]
        ranked = [doc_of.get(v.passage_id) for v in views]
        counts = _prf({d for d in ranked if d}, rel)
        totals.update(counts)
        kind = kind_of(q["text"])
        q_answers = Counter(v.answer or v.stance if kind != "open" else "n/a" for v in views)
        answers.update(q_answers)
        rationale_counts += [len(v.rationale_sentences) for v in views]
        ndcg = ndcg_at(ranked, rel)
        ndcgs.append(ndcg)
        row = {"id": q["_id"], "question": q["text"], "kind": kind, **counts, **_rates(counts),
               "ndcg@10": round(ndcg, 4), "answers": dict(q_answers)}
        judged = _candidates(deps, qid, q["text"])
        if judged is not None:
            c = _prf({doc_of.get(p) for p in judged} - {None}, rel)
            cand_totals.update(c)
            row["candidates"], row["candidate_recall"] = c["links"], _rates(c)["recall"]
        per_question.append(row)
    out = {
        "questions": len(asked),
        "links": totals["links"],
        **_rates(totals),
        "ndcg@10": round(sum(ndcgs) / len(ndcgs), 4),
        "answers": dict(answers),
        "rationale_sentences": round(sum(rationale_counts) / len(rationale_counts), 3) if rationale_counts else 0.0,
        "whole_passage_rationales": sum(1 for qid in asked for v in deps.ledger.evidence(qid)
                                        if v.rationale and v.rationale.strip() == v.passage.strip()),
    }
    if cand_totals:
        out["candidate_recall"] = _rates(cand_totals)["recall"]
        out["candidate_recall_any"] = _rates(cand_totals)["recall_any"]
        out["candidates"] = cand_totals["links"]
    out["per_question"] = per_question
    return out
