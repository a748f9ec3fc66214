"""Compare fusion rules on an ingested BEIR corpus (the data dir an eval run left behind).

    python scripts/tune_fusion.py DATA_DIR BEIR_FOLDER

Tunes on the queries whose id hashes to the first half and reports both halves,
so a chosen rule is judged on queries it was not tuned on.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from shared.vectors.lexical import query_vector
from questlog.evals.retrieval import ndcg_at, read_beir
from shared.embedder import build_embedders
from shared.ledger import Ledger
from shared.settings import Settings
from shared.vectors import SPARSE, open_store


def main(data_dir: str, folder: str) -> None:
    settings = Settings(data_dir=Path(data_dir))
    ledger = Ledger(settings.ledger_url)
    store = open_store(settings)
    _corpus, queries, qrels = read_beir(Path(folder))
    queries = [q for q in queries if qrels.get(q["_id"])]
    doc_of = {}
    for row in ledger.passages(ledger.current_passage_ids()):
        doc_of[row.id] = ledger.paper(row.paper_id).canonical_id.rsplit(":", 1)[-1]
    emb = build_embedders(settings.embed)[0]
    qv = emb.encode([q["text"] for q in queries])
    runs = []
    for i, q in enumerate(queries):
        dense = store.search("passages", emb.name, qv[i].tolist(), 200)
        sparse = store.search("passages", SPARSE, query_vector(q["text"]), 200)
        runs.append(({h.id: h.score for h in dense}, {h.id: h.score for h in sparse}))

    def rrf(d, s, w, k=60):
        out = {}
        for run, weight in ((d, 1.0), (s, w)):
            for rank, pid in enumerate(sorted(run, key=run.get, reverse=True)):
                out[pid] = out.get(pid, 0) + weight / (k + rank + 1)
        return out

    def convex(d, s, alpha):
        def norm(run):
            if not run:
                return {}
            lo, hi = min(run.values()), max(run.values())
            return {p: (v - lo) / (hi - lo or 1) for p, v in run.items()}
        nd, ns = norm(d), norm(s)
        return {p: alpha * nd.get(p, 0) + (1 - alpha) * ns.get(p, 0) for p in set(nd) | set(ns)}

    rules = {"dense": lambda d, s: d, "bm25": lambda d, s: s}
    for w in (0.3, 0.5, 0.7, 1.0):
        rules[f"rrf w={w}"] = lambda d, s, w=w: rrf(d, s, w)
    for a in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        rules[f"convex a={a}"] = lambda d, s, a=a: convex(d, s, a)
    half = [int(hashlib.sha1(q["_id"].encode()).hexdigest(), 16) % 2 for q in queries]
    for name, rule in rules.items():
        scores = [[], []]
        for i, q in enumerate(queries):
            fused = rule(*runs[i])
            ranked = [doc_of[p] for p in sorted(fused, key=fused.get, reverse=True)[:100]]
            scores[half[i]].append(ndcg_at(ranked, qrels[q["_id"]]))
        print(json.dumps({"rule": name, "tune_ndcg@10": round(float(np.mean(scores[0])), 4),
                          "held_out_ndcg@10": round(float(np.mean(scores[1])), 4),
                          "all": round(float(np.mean(scores[0] + scores[1])), 4)}))


if __name__ == "__main__":
    main(*sys.argv[1:3])
