"""Cut the demo's arXiv snapshot out of ../shared/data/arxiv_daily_cs (CC0 metadata).

    python scripts/make_demo_snapshot.py [--first 2026-06-23] [--last 2026-07-01]

Writes questlog/replay/data/arxiv_cs_snapshot.jsonl.gz: every cs.* paper listed
on those days (id, title, authors, categories, summary, listing_date).
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT.parent / "shared" / "data" / "arxiv_daily_cs" / "arxiv_daily_cs_2025-03_2026-07.jsonl.gz"
TARGET = ROOT / "questlog" / "replay" / "data" / "arxiv_cs_snapshot.jsonl.gz"
KEEP = ("id", "title", "authors", "categories", "summary", "listing_date")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--first", default="2026-06-23")
    ap.add_argument("--last", default="2026-07-01")
    args = ap.parse_args()
    n = 0
    with gzip.open(SOURCE, "rt") as src, gzip.GzipFile(TARGET, "wb", mtime=0) as raw:
        for line in src:
            paper = json.loads(line)
            if args.first <= paper["listing_date"] <= args.last:
                raw.write((json.dumps({k: paper[k] for k in KEEP}, sort_keys=True) + "\n").encode())
                n += 1
    print(f"{n} papers -> {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
