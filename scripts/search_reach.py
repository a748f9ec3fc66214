"""What a question's first arXiv search reaches: newest first against relevance order.

Four ways of asking, each taking the first `--results` papers: `newest` (the key phrases, newest
first: the old first search), `relevance_phrases_only` (the same query in relevance order),
`relevance` (relevance order, the key single words OR-ed in) and `relevance_in_categories` (what the
scout asks now: the same within the followed categories, `--categories`, arXiv's default cs.CL cs.LG cs.IR).

    python scripts/search_reach.py ../shared/data/eval/rq-cs-dev [more BEIR folders] [--results 100]

Each query of a BEIR folder becomes the arXiv query the scout sends for it (`arxiv_query`); the
74k-paper arXiv cs.* snapshot in ../shared (2025-03 .. 2026-07) plays arXiv, answered by the
loopback replay's own matching and ranking (`questlog.replay.arxiv`: BM25 over the query's phrases
stands in for arXiv's Lucene ranking, so the figures are the replay's, not arXiv's). Counts, per
folder and summed over its queries, the documents graded >= 1 (`related`) and 2 (`evidence`) among
the first `--results` papers in each order. Prints one JSON object per folder.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARCHIVE = ROOT.parent / "shared" / "data" / "arxiv_daily_cs" / "arxiv_daily_cs_2025-03_2026-07.jsonl.gz"


def reach(folder: Path, pool: list, results: int, categories: list[str]) -> dict:
    from agents.scout.queries import arxiv_query
    from questlog.replay.arxiv import compile_query, relevance
    from shared.sources.arxiv import in_categories

    grades: dict[str, dict[str, int]] = defaultdict(dict)
    for line in (folder / "qrels" / "test.tsv").read_text().splitlines()[1:]:
        query_id, doc, grade = line.split("\t")
        grades[query_id][doc] = int(grade)
    in_archive = {p.arxiv_id for p in pool}
    total: dict[str, int] = defaultdict(int)
    for line in (folder / "queries.jsonl").read_text().splitlines():
        q = json.loads(line)
        query, ranked = arxiv_query(q["text"]), arxiv_query(q["text"], ranked=True)
        scoped = in_categories(ranked, categories)
        phrases, widened, within = compile_query(query), compile_query(ranked), compile_query(scoped)
        matched = [p for p in pool if phrases(p)]  # the pool is newest first
        orders = {"newest": matched[:results],
                  "relevance": relevance(ranked, [p for p in pool if widened(p)], pool)[:results],
                  "relevance_in_categories": relevance(scoped, [p for p in pool if within(p)], pool)[:results],
                  "relevance_phrases_only": relevance(query, matched, pool)[:results]}
        for grade, name in ((1, "related"), (2, "evidence")):
            wanted = {d for d, g in grades[q["_id"]].items() if g >= grade} & in_archive
            total[f"{name}_in_archive"] += len(wanted)
            for order, papers in orders.items():
                total[f"{name}_{order}"] += len(wanted & {p.arxiv_id for p in papers})
    return {"folder": str(folder), "queries": len(grades), "results": results, **total}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folders", nargs="+", type=Path)
    ap.add_argument("--results", type=int, default=100)
    ap.add_argument("--categories", nargs="*", default=None,
                    help="Categories of the scoped search (default: QUESTLOG_ARXIV__CATEGORIES' default).")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from questlog.replay.arxiv import papers_of
    from shared.sources.arxiv import ArxivSettings

    categories = ArxivSettings().categories if args.categories is None else args.categories

    with gzip.open(ARCHIVE, "rt") as f:
        pool = papers_of([json.loads(line) for line in f])
    for folder in args.folders:
        print(json.dumps(reach(folder, pool, args.results, categories)))


if __name__ == "__main__":
    main()
