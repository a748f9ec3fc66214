"""`questlog bench backfill`: a library of N real ML papers (the ML Anthology, local benchmarking only)
through the running pipeline, then what a user feels at that size.

1. N papers (title + abstract) are written to the ledger, then sent to the stack as PapersFound:
   reader -> embed -> index -> linker, with one question open (asked during the warm-up, which also
   loads the models: the clock starts warm). `papers_per_s` is N over the time until every queue is
   empty; `peak_rss_mb` is the whole process tree's peak.
2. A second question is asked (embedded, then backfilled over the N papers by the production linker,
   the evidence judge included): `question_backfill_s` is from the ask until the pipeline is idle.
3. With the stack stopped, this process opens the vector store and times searches the linker makes
   (each dense model and BM25, top 40) for `SEARCH_QUERIES` questions: `search_p50_ms`, `search_p95_ms`.
   The embedded engine searches new points at once (plain segments) and builds its HNSW index only
   when asked (`optimize`): `searchable_after_s` is the time from the last upsert until a search
   finds the last paper; `optimize_s` and the searches after it say what an index build buys.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from questlog.bench import PeakRss

SEARCH_QUERIES = (
    "How many embedding dimensions does it take to represent a given amount of text?",
    "Can downstream task performance be predicted before training?",
    "Do larger batch sizes hurt generalization in deep networks?",
    "How robust are image classifiers to distribution shift?",
    "Does data augmentation help in low-resource settings?",
    "What limits the sample efficiency of reinforcement learning?",
    "Are graph neural networks more expressive than the Weisfeiler-Lehman test?",
    "How well do diffusion models generalize beyond their training data?",
)
QUESTION = "Can downstream task performance be predicted before training, from the task's data distribution?"


def load_anthology(folder: Path, n: int) -> list[dict]:
    """The first N papers with an abstract, venue files in name order (a fixed, reproducible choice)."""
    papers: list[dict] = []
    for path in sorted(folder.glob("*.json.gz")):
        with gzip.open(path, "rt") as f:
            for p in json.load(f)["papers"]:
                if (p.get("abstract") or "").strip() and (p.get("title") or "").strip():
                    papers.append(p)
                    if len(papers) == n:
                        return papers
    raise ValueError(f"{folder} holds only {len(papers)} papers with an abstract; asked for {n}")


def _record(p: dict):
    from shared.records import PaperRecord

    authors = tuple(" ".join(filter(None, (a.get("given"), a.get("family")))) for a in p.get("authors") or [])
    return PaperRecord(source="mlanthology", source_id=p["bibtex_key"], doi=p.get("doi") or None,
                       title=" ".join(p["title"].split()), authors=authors, abstract=" ".join(p["abstract"].split()),
                       url=p.get("venue_url") or None, found_via="bench:mlanthology")


def _disk_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def bench_backfill(folder: Path, n: int, ledger_url: str | None = None,
                   progress: Callable[[str], None] = print) -> dict:
    from questlog.client import Pipeline
    from questlog.stack import Stack
    from shared.ledger import Ledger
    from shared.messages import EmbedRequested, PapersFound
    from shared.settings import Settings

    papers = load_anthology(folder, n)
    work = Path(tempfile.mkdtemp(prefix="questlog-backfill-"))
    env = {"QUESTLOG_DATA_DIR": str(work), "QUESTLOG_SCHEDULE__CRAWL_EVERY_S": "86400",
           "QUESTLOG_SCHEDULE__DIGEST_EVERY_S": "86400", "QUESTLOG_DIGEST__CONSOLE": "false",
           "QUESTLOG_FULLTEXT__FETCH": "off",
           # the papers come from the anthology: no source is asked for anything
           **{f"QUESTLOG_{g}__ENABLED": "false" for g in ("ARXIV", "ARXIV_OAI", "SEMANTICSCHOLAR", "OPENALEX",
                                                          "CROSSREF")}}
    if ledger_url:
        env["QUESTLOG_LEDGER__URL"] = ledger_url
    os.environ.update(env)
    settings = Settings()
    ledger = Ledger(settings.ledger_url)
    progress(f"writing {n} papers to the ledger ({'PostgreSQL' if ledger_url else 'SQLite'})")
    t0 = time.perf_counter()
    ids = [r.paper_id for r in ledger.upsert_papers([_record(p) for p in papers])]  # as the scout stores pages
    insert_s = time.perf_counter() - t0
    with Stack(settings, beat=False, flower=False, extra_env=env) as stack, PeakRss(os.getpid()) as rss:
        pipe = Pipeline(settings, stack.broker_url)
        progress("warming up: a first batch and a first question load the models and open the vector store")
        pipe.send([PapersFound(paper_ids=tuple(ids[:64]))])
        pipe.wait_idle(timeout_s=900, poll_s=0.2)
        first = ledger.add_question(SEARCH_QUERIES[0])  # open during the ingest, as a user's would be
        pipe.send([EmbedRequested(target="question", ids=(str(first.id),))])
        pipe.wait_idle(timeout_s=900, poll_s=0.2)
        progress(f"ingesting {n - 64} more papers through reader, embed, index and linker")
        t0 = time.perf_counter()
        pipe.send([PapersFound(paper_ids=tuple(ids[i:i + 64])) for i in range(64, n, 64)])
        pipe.wait_idle(timeout_s=7200, settle_checks=2, poll_s=0.2)
        ingest_s = time.perf_counter() - t0
        progress(f"asking a question and backfilling it over {n} papers")
        q = ledger.add_question(QUESTION)
        t0 = time.perf_counter()
        pipe.send([EmbedRequested(target="question", ids=(str(q.id),))])
        pipe.wait_idle(timeout_s=1800, settle_checks=2, poll_s=0.1)
        backfill_s = time.perf_counter() - t0
        pipe.close()
    counts = ledger.counts()  # two anthology records of one paper (same title and authors) are one paper
    if counts["passages_indexed"] != counts["passages"] or counts["papers"] < 0.99 * n:
        raise RuntimeError(f"the pipeline indexed {counts['passages_indexed']} of {counts['passages']} passages "
                           f"({counts['papers']} papers of {n}); see {work}/logs")
    searches = _time_searches(settings, ledger, ids[-1], progress)
    result = {"papers": counts["papers"], "ledger": "postgresql" if ledger_url else "sqlite",
              "embed_processes": settings.embed.processes, "embed_threads": settings.embed.threads,
              "io_processes": settings.tasks.io_processes,
              "ledger_insert_s": round(insert_s, 1), "pipeline_s": round(ingest_s, 1),
              "papers_per_s": round((n - 64) / ingest_s, 2), "peak_rss_mb": round(rss.peak, 1),
              "question_backfill_s": round(backfill_s, 2), "links": counts["evidence"],
              **searches, "disk_mb": round(_disk_mb(work / "qdrant"), 1),
              "ledger_disk_mb": round(_disk_mb(work) - _disk_mb(work / "qdrant"), 1) if not ledger_url else None}
    ledger.close()
    shutil.rmtree(work, ignore_errors=True)
    return result


def _time_searches(settings, ledger, last_paper: str, progress) -> dict:
    """Search latencies as the linker searches (each dense model and BM25, top 40), before and after
    the engine's index build; and how soon the last paper written is found."""
    from shared.embedder import build_embedders
    from shared.vectors import SPARSE, open_store
    from shared.vectors.lexical import query_vector

    embedders = build_embedders(settings.embed)
    queries = [({e.name: e.encode([q])[0].tolist() for e in embedders}, query_vector(q)) for q in SEARCH_QUERIES]
    store = open_store(settings)
    point = ledger.paper_passages(last_paper)[0].id  # a passage's point id is its own id
    t0 = time.perf_counter()
    own = store.vectors("passages", [point], embedders[0].name).get(point)
    found = bool(own) and store.search("passages", embedders[0].name, own, 1)[0].id == point
    searchable_after_s = round(time.perf_counter() - t0, 3) if found else None

    def timed() -> list[float]:
        out = []
        for _ in range(3):
            for dense, sparse in queries:
                for name, vec in dense.items():
                    t = time.perf_counter()
                    store.search("passages", name, vec, settings.link.judge_candidates)
                    out.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                store.search("passages", SPARSE, sparse, settings.link.judge_candidates)
                out.append((time.perf_counter() - t) * 1000)
        return sorted(out)

    progress("timing searches as the linker makes them")
    before = timed()
    optimize_s = None
    if hasattr(store, "optimize"):
        progress("building the engine's index (optimize) and timing again")
        t0 = time.perf_counter()
        store.optimize()
        optimize_s = round(time.perf_counter() - t0, 1)
    after = timed() if optimize_s is not None else before
    store.close()

    def pct(xs: list[float], p: float) -> float:
        return round(xs[min(len(xs) - 1, int(p * len(xs)))], 2)

    return {"searchable_after_s": searchable_after_s, "search_p50_ms": pct(before, 0.5),
            "search_p95_ms": pct(before, 0.95), "optimize_s": optimize_s,
            "search_p50_ms_optimized": pct(after, 0.5), "search_p95_ms_optimized": pct(after, 0.95),
            "search_mean_ms": round(statistics.mean(before), 2)}
