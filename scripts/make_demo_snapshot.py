"""Cut the demo's arXiv snapshot out of ../shared/data/arxiv_daily_cs (CC0 metadata).

    python scripts/make_demo_snapshot.py [--first 2026-06-23] [--last 2026-07-01] [--archive 100]

Writes questlog/replay/data/arxiv_cs_snapshot.jsonl.gz: every cs.* paper listed
on those days (id, title, authors, categories, summary, listing_date); and
questlog/replay/data/arxiv_cs_archive.jsonl.gz: the history the demo's question
searches reach. Real arXiv holds every older paper; the replay cannot ship 74k, so
it ships, per demo question, the `--archive` best matches listed before `--first`
of the query the scout sends for it (within the demo's categories), in the replay's relevance order: what arXiv's
relevance search could answer, chosen by the query alone, not by reading.
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT.parent / "shared" / "data" / "arxiv_daily_cs" / "arxiv_daily_cs_2025-03_2026-07.jsonl.gz"
TARGET = ROOT / "questlog" / "replay" / "data" / "arxiv_cs_snapshot.jsonl.gz"
ARCHIVE = ROOT / "questlog" / "replay" / "data" / "arxiv_cs_archive.jsonl.gz"
KEEP = ("id", "title", "authors", "categories", "summary", "listing_date")


def _write(path: Path, rows: list[dict]) -> None:
    with gzip.GzipFile(path, "wb", mtime=0) as raw:
        for row in rows:
            raw.write((json.dumps({k: row[k] for k in KEEP}, sort_keys=True) + "\n").encode())


def archive(rows: list[dict], first: str, per_question: int) -> list[dict]:
    """Per demo question, the best `per_question` matches listed before `first` (module docstring)."""
    import sys

    sys.path.insert(0, str(ROOT))
    from agents.scout.queries import arxiv_query
    from questlog.demo import CATEGORIES, QUESTIONS
    from questlog.replay.arxiv import compile_query, papers_of, relevance
    from shared.sources.arxiv import in_categories

    older = [r for r in rows if r["listing_date"] < first]
    by_id = {r["id"]: r for r in older}
    pool = papers_of(older)
    picked: dict[str, dict] = {}
    for question in QUESTIONS:
        query = in_categories(arxiv_query(question, ranked=True), CATEGORIES)  # as the scout's first search asks
        matches = compile_query(query)
        matched = relevance(query, [p for p in pool if matches(p)], pool)
        for p in matched[:per_question]:
            picked[p.arxiv_id] = by_id[p.arxiv_id]
    return sorted(picked.values(), key=lambda r: (r["listing_date"], r["id"]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--first", default="2026-06-23")
    ap.add_argument("--last", default="2026-07-01")
    ap.add_argument("--archive", type=int, default=100, help="Older papers per demo question (0: none).")
    args = ap.parse_args()
    with gzip.open(SOURCE, "rt") as src:
        rows = [json.loads(line) for line in src]
    listed = [r for r in rows if args.first <= r["listing_date"] <= args.last]
    _write(TARGET, listed)
    print(f"{len(listed)} papers -> {TARGET.relative_to(ROOT)}")
    if args.archive:
        older = archive(rows, args.first, args.archive)
        _write(ARCHIVE, older)
        print(f"{len(older)} older papers -> {ARCHIVE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
