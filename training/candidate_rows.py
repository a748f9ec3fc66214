"""Candidates as the linker sees them, for the training questions: the data that calibrates the gate.

The gate weighs the model's reading of a pair with where the retrievers placed it for its
question (`shared.relevance.features`), and those places only exist inside a corpus. So the
training questions (rq-cs-train's and those judged for this project) are asked over a corpus
of their judged papers plus other arXiv cs.CL / cs.LG / cs.IR abstracts from the snapshot
(never a paper of the evaluation corpora), ingested through the production path, and every
question's candidates come from the linker's own candidate cut. A candidate nobody judged
counts as not relevant (as in TREC pooling).

    python -m training.candidate_rows DATA_DIR OUT.pkl [--others 7000]
"""

from __future__ import annotations

import argparse
import json
import pickle
import sqlite3
import sys
from pathlib import Path

from training.evidence_data import DATA, POOLS


def training_questions() -> tuple[list[dict], list[dict], dict[str, dict[str, int]]]:
    """(corpus documents, queries, graded qrels) of every training question and its judged papers."""
    corpus: dict[str, dict] = {}
    for line in (DATA / "train/rq-cs-train/corpus.jsonl").read_text().splitlines():
        if line.strip():
            r = json.loads(line)
            corpus[r["_id"]] = {"_id": r["_id"], "title": r.get("title", ""), "text": r["text"]}
    queries = [json.loads(x) for x in (DATA / "train/rq-cs-train/queries.jsonl").read_text().splitlines() if x]
    qrels: dict[str, dict[str, int]] = {}
    for line in (DATA / "train/rq-cs-train/qrels/test.tsv").read_text().splitlines()[1:]:
        q, d, g = line.split("\t")
        qrels.setdefault(q, {})[d] = int(g)
    for n, pool in enumerate(sorted(POOLS.glob("pool_*.jsonl")), 1):
        judged = pool.with_name(pool.name.replace("pool_", "judged_"))
        if not judged.exists():
            continue
        lines = pool.read_text().splitlines()
        qid = f"pool{n:02d}"
        queries.append({"_id": qid, "text": json.loads(lines[0])["question"]})
        for paper in map(json.loads, lines[1:]):
            corpus.setdefault(paper["id"], {"_id": paper["id"], "title": paper["title"], "text": paper["abstract"]})
        for j in map(json.loads, judged.read_text().splitlines()):
            if j["grade"] > 0:
                qrels.setdefault(qid, {})[j["id"]] = int(j["grade"])
    return list(corpus.values()), queries, qrels


def background(others: int, skip: set[str], seed: int = 11) -> list[dict]:
    """Other abstracts of the snapshot, as BEIR documents (never a judged or an evaluation paper)."""
    from training.pools import snapshot_papers

    return [{"_id": p["id"], "title": p["title"], "text": p["abstract"]} for p in snapshot_papers(others, seed, skip)]


def candidate_rows(data_dir: Path, others: int = 7000, judge_candidates: int = 40) -> list[dict]:
    """Every training question's candidates with their retrieval features and grade (module docstring)."""
    from agents.deps import Deps
    from agents.indexer import steps
    from agents.linker.candidates import backfill_candidates, scales
    from questlog.evals.retrieval import MemoryBlobs, ingest
    from shared.ids import question_point_id
    from shared.ledger import Ledger
    from shared.messages import EmbedRequested
    from shared.relevance.features import retrieval_features
    from shared.settings import Settings

    corpus, queries, qrels = training_questions()
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings(data_dir=data_dir)
    # placement as learned is placement in this library itself: no reference to scale it by
    settings = settings.model_copy(update={"link": settings.link.model_copy(
        update={"judge_candidates": judge_candidates, "placement_reference_passages": 0})})
    deps = Deps(settings=settings, ledger=Ledger(settings.ledger_url), overrides={"blobs": MemoryBlobs()})
    if not (data_dir / "ingested").exists():
        docs = corpus + background(others, {d["_id"] for d in corpus})
        ingest(deps, docs, lambda stage, done, total: print(stage, done, total, file=sys.stderr, flush=True))
        (data_dir / "ingested").write_text(str(len(docs)))
    db = sqlite3.connect(data_dir / "ledger.sqlite3")
    doc_of = dict(db.execute("select p.id, s.source_id from passages p join paper_sources s "
                             "on s.paper_id = p.paper_id where s.source = 'corpus'"))
    asked = {q.text: q.id for q in deps.ledger.questions()}
    rows = []
    for q in queries:
        qid = asked.get(q["text"])
        if qid is None:
            qid = deps.ledger.add_question(q["text"]).id
            for ready in steps.embed(EmbedRequested(target="question", ids=(str(qid),)), deps):
                steps.index(ready, deps)
        point = question_point_id(qid)
        vectors = {m.name: deps.store.vectors("questions", [point], m.name)[point] for m in settings.embed.models}
        cut = scales(deps, q["text"], vectors)
        cands = backfill_candidates(deps, q["text"], vectors)
        texts = {p.id: p.text for p in deps.ledger.passages([c.passage_id for c in cands])}
        for c in cands:
            doc = doc_of.get(c.passage_id)
            rows.append({"qid": q["_id"], "question": q["text"], "doc": doc, "grade": qrels.get(q["_id"], {}).get(doc, 0),
                         "scores": dict(c.scores), "features": retrieval_features(c.scores, cut),
                         "passage": texts[c.passage_id]})
    deps.close()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data_dir", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--others", type=int, default=7000)
    args = ap.parse_args()
    rows = candidate_rows(args.data_dir, args.others)
    args.out.write_bytes(pickle.dumps(rows))
    print(f"{len(rows)} candidate rows for {len({r['qid'] for r in rows})} questions", file=sys.stderr)


if __name__ == "__main__":
    main()
