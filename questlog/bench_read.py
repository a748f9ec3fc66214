"""`questlog bench read`: what reading a paper in full costs on this machine, against its abstract.

For each PDF in a folder: pages read per second (text extraction, layout, passages; no cache), and
passages per paper. Then papers per second through reader + embed (the pipeline's own embedder and
precision) for two paths: abstract only (snapshot abstracts, one passage each) and full text (read
the PDF, embed every passage). JSON on stdout; progress on stderr. The ratio of the two is what the
`fulltext.fetch` policy weighs: read in full only where it pays.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path


def bench_read(pdf_dir: Path, abstracts: int = 64, progress: Callable[[str], None] = print) -> dict:
    from questlog.replay.arxiv import load_snapshot
    from shared.embedder import build_embedders
    from shared.fulltext import read_pdf
    from shared.passages import abstract_passage
    from shared.settings import Settings

    pdfs = sorted(pdf_dir.glob("*.pdf"))
    if not pdfs:
        raise ValueError(f"no PDF files in {pdf_dir}")
    settings = Settings()
    papers = []
    for path in pdfs:
        data = path.read_bytes()
        read_pdf(data)  # warm (imports, first-use caches) outside the clock
        t0 = time.perf_counter()
        reading = read_pdf(data, max_pages=settings.fulltext.max_pages)
        read_s = time.perf_counter() - t0
        papers.append({"file": path.name, "pages": reading.pages, "passages": len(reading.passages),
                       "read_s": round(read_s, 3), "pages_per_s": round(reading.pages / read_s, 1),
                       "texts": [p.text for p in reading.passages]})
        progress(f"read {path.name}: {reading.pages} pages in {read_s:.2f} s, {len(reading.passages)} passages")
    embedders = build_embedders(settings.embed)
    snapshot = load_snapshot()[:abstracts]
    texts = [abstract_passage(p.title, p.summary) for p in snapshot]
    for e in embedders:
        e.encode(texts[:8])  # load and warm up outside the clock
    progress(f"embedding {len(texts)} abstracts")
    t0 = time.perf_counter()
    for e in embedders:
        e.encode(texts)
    abstract_s = (time.perf_counter() - t0) / len(texts)
    for paper in papers:
        progress(f"embedding {paper['passages']} passages of {paper['file']}")
        t0 = time.perf_counter()
        for e in embedders:
            if paper["texts"]:
                e.encode(paper["texts"])
        paper["embed_s"] = round(time.perf_counter() - t0, 3)
        paper["seconds_per_paper"] = round(paper["read_s"] + paper["embed_s"], 3)
        del paper["texts"]
    pages = sum(p["pages"] for p in papers)
    full_s = sum(p["seconds_per_paper"] for p in papers) / len(papers)
    return {
        "pdfs": len(papers),
        "pdf_pages_per_s": round(pages / sum(p["read_s"] for p in papers), 1),
        "passages_per_paper": round(sum(p["passages"] for p in papers) / len(papers), 1),
        "abstract_only_papers_per_s": round(1 / abstract_s, 2),
        "fulltext_papers_per_s": round(1 / full_s, 3),
        "fulltext_cost_vs_abstract": round(full_s / abstract_s, 1),
        "embed_precision": "+".join(e.precision or "fp32" for e in embedders),
        "papers": papers,
    }
