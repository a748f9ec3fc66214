"""`questlog bench ingest`: the whole distributed pipeline against the model's raw speed.

N real snapshot papers are served by the loopback arXiv replay; the stack (real
Redis, io/embed/vector workers) is started and warmed (model loaded, vector
store open, three questions embedded) before the clock starts. The clock runs
from the crawl request until every queue is empty and nothing is in flight:
scout -> reader -> embed -> index -> linker. Then, with the stack stopped, the
same model encodes the same passage texts in this process. Prints one JSON object.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from questlog.demo import QUESTIONS
from questlog.replay.arxiv import ArxivReplay, load_snapshot
from questlog.replay.server import ReplayServer


def _tree_rss_mb(root: int) -> float:
    """Resident memory of a process and all its descendants, from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/statm") as f:
                rss[int(entry)] = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            continue
    family, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        kids = [p for p, pp in parents.items() if pp == pid and p not in family]
        family.update(kids)
        frontier.extend(kids)
    return sum(rss.get(p, 0) for p in family) / 2**20


class PeakRss:
    def __init__(self, root: int) -> None:
        self.root, self.peak, self._stop = root, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _tree_rss_mb(self.root))
            self._stop.wait(0.5)

    def __enter__(self) -> "PeakRss":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def bench_ingest(n: int, progress: Callable[[str], None] = print) -> dict:
    from questlog.client import Pipeline
    from questlog.stack import Stack
    from shared.ledger import Ledger
    from shared.messages import CrawlRequested, EmbedRequested
    from shared.settings import Settings

    papers = load_snapshot()[:n]
    if len(papers) < n:
        raise ValueError(f"the snapshot has {len(papers)} papers; asked for {n}")
    work = Path(tempfile.mkdtemp(prefix="questlog-bench-"))
    replay = ArxivReplay(papers)
    with ReplayServer() as server:
        server.route("/api/query", replay)
        env = {"QUESTLOG_DATA_DIR": str(work), "QUESTLOG_ARXIV__BASE_URL": f"{server.url}/api/query",
               "QUESTLOG_ARXIV__MIN_INTERVAL_S": "0", "QUESTLOG_ARXIV__CATEGORIES": json.dumps(["cs"]),
               "QUESTLOG_ARXIV__MAX_PAGES": "1000", "QUESTLOG_SCHEDULE__CRAWL_EVERY_S": "86400",
               "QUESTLOG_SCHEDULE__DIGEST_EVERY_S": "86400", "QUESTLOG_DIGEST__CONSOLE": "false",
               "QUESTLOG_FULLTEXT__FETCH": "off"}  # abstracts only: `bench read` measures full text
        os.environ.update(env)
        settings = Settings()
        ledger = Ledger(settings.ledger_url)
        with Stack(settings, beat=False, flower=False, extra_env=env) as stack, PeakRss(os.getpid()) as rss:
            pipe = Pipeline(settings, stack.broker_url)
            ids = [str(ledger.add_question(q).id) for q in QUESTIONS]
            progress("warming up: loading the model, opening the vector store")
            pipe.send([EmbedRequested(target="question", ids=tuple(ids))])
            pipe.wait_idle(timeout_s=600, poll_s=0.2)
            progress(f"crawling {n} papers through the pipeline")
            t0 = time.perf_counter()
            pipe.send([CrawlRequested(feed="category:cs", requested_at=datetime.now(timezone.utc))])
            pipe.wait_idle(timeout_s=3600, settle_checks=2, poll_s=0.1)
            elapsed = time.perf_counter() - t0
            counts = ledger.counts()
            pipe.close()
        if counts["passages_indexed"] != n:
            raise RuntimeError(f"pipeline indexed {counts['passages_indexed']} of {n} passages; see {work}/logs")
    texts = [row.text for row in ledger.passages(ledger.current_passage_ids())]
    progress("timing the model's raw encode of the same texts")
    encode_s, precision = _raw_encode_seconds(settings, texts)
    progress("timing plain sentence-transformers fp32 encode at batch 32 (the reference)")
    reference_s = _reference_encode_seconds(settings, texts)
    result = {"papers": n, "pipeline_s": round(elapsed, 2), "pipeline_papers_per_s": round(n / elapsed, 2),
              "encode_s": round(encode_s, 2), "encode_papers_per_s": round(n / encode_s, 2),
              "ratio": round(encode_s / elapsed, 3),
              "reference_encode_papers_per_s": round(n / reference_s, 2),
              "speedup": round(reference_s / elapsed, 3), "precision": precision,
              "peak_rss_mb": round(rss.peak, 1), "embed_processes": settings.embed.processes,
              "embed_threads": settings.embed.threads,
              "evidence": counts["evidence"], "model": settings.embed.models[0].source}
    ledger.close()
    shutil.rmtree(work, ignore_errors=True)
    return result


def _raw_encode_seconds(settings, texts: list[str]) -> tuple[float, str]:
    """The pipeline's own encoder (its precision and batch) on the texts, in one process on every core
    (whatever `embed.threads` and `embed.processes` the pipeline ran with): seconds, and the precision used."""
    from shared.embedder import build_embedders, usable_cores

    total, precisions = 0.0, []
    one_process = settings.embed.model_copy(update={"threads": usable_cores()})
    for embedder in build_embedders(one_process):
        embedder.encode(texts[:8])  # load and warm up, outside the clock
        t0 = time.perf_counter()
        embedder.encode(texts)
        total += time.perf_counter() - t0
        precisions.append(embedder.precision or "fp32")
    return total, "+".join(precisions)


def _reference_encode_seconds(settings, texts: list[str]) -> float:
    """Plain sentence-transformers, fp32, batch 32, as a user would call it: what `speedup` compares with."""
    import torch
    from sentence_transformers import SentenceTransformer

    from shared.embedder import resolve_source, usable_cores

    torch.set_num_threads(usable_cores())  # as a user's process has it, whatever the pipeline's threads were
    total = 0.0
    for spec in settings.embed.models:
        model = SentenceTransformer(resolve_source(spec.source), device="cpu")
        model.max_seq_length = spec.max_seq_length
        model.encode(texts[:8], batch_size=32)
        t0 = time.perf_counter()
        model.encode(texts, batch_size=32, normalize_embeddings=True)
        total += time.perf_counter() - t0
    return total
