"""`questlog eval retrieval DIR`: the production linker's retrieval on a BEIR-layout folder.

The corpus goes through the production ingest path — ledger, reader, embed,
index — into a throwaway data directory (the same agent functions the workers
call, in this process); every query is then run through the linker's hybrid
retrieval (`agents.linker.retrieval.retrieve`). Reports nDCG@10, recall@10 and
recall@100 (BEIR/MTEB definitions: graded gain 2^rel - 1; queries with at least
one relevant document) for the default configuration and for each component alone.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from shared.errors import PermanentError

Progress = Callable[[str, int, int], None]


def _jsonl(path: Path, required: tuple[str, ...]) -> list[dict]:
    if not path.exists():
        raise PermanentError(f"{path}: missing (a BEIR folder has corpus.jsonl, queries.jsonl, qrels/test.tsv)")
    rows = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise PermanentError(f"{path}:{n}: not valid JSON ({err.msg})") from err
            if not isinstance(row, dict):
                raise PermanentError(f"{path}:{n}: expected a JSON object")
            for key in required:
                if not isinstance(row.get(key), str):
                    raise PermanentError(f"{path}:{n}: field {key!r} must be a string")
            rows.append(row)
    return rows


def read_beir(folder: Path, split: str = "test") -> tuple[list[dict], list[dict], dict[str, dict[str, int]]]:
    """(corpus, queries, qrels) of a BEIR folder. Raises PermanentError naming the file and line."""
    folder = Path(folder)
    if not folder.is_dir():
        raise PermanentError(f"{folder}: not a folder")
    corpus = _jsonl(folder / "corpus.jsonl", ("_id", "text"))
    queries = _jsonl(folder / "queries.jsonl", ("_id", "text"))
    qrels_path = folder / "qrels" / f"{split}.tsv"
    if not qrels_path.exists():
        raise PermanentError(f"{qrels_path}: missing")
    qrels: dict[str, dict[str, int]] = {}
    with qrels_path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            parts = line.rstrip("\n").split("\t")
            if n == 1 and parts[:2] == ["query-id", "corpus-id"]:
                continue
            if not line.strip():
                continue
            if len(parts) != 3:
                raise PermanentError(f"{qrels_path}:{n}: expected query-id<TAB>corpus-id<TAB>score")
            try:
                score = int(float(parts[2]))
            except ValueError as err:
                raise PermanentError(f"{qrels_path}:{n}: score {parts[2]!r} is not a number") from err
            if score > 0:
                qrels.setdefault(parts[0], {})[parts[1]] = score
    return corpus, queries, qrels


def ndcg_at(ranked: list[str], relevant: dict[str, int], k: int = 10) -> float:
    dcg = sum((2 ** relevant.get(d, 0) - 1) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum((2**r - 1) / math.log2(i + 2) for i, r in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: list[str], relevant: dict[str, int], k: int) -> float:
    return len(set(ranked[:k]) & set(relevant)) / len(relevant) if relevant else 0.0


class MemoryBlobs:
    """The vector blob store for single-process use: same contract as shared.blobs.VectorBlobs."""

    def __init__(self) -> None:
        self._data: dict[str, dict[str, np.ndarray]] = {}

    def put(self, key: str, vectors: dict[str, np.ndarray]) -> None:
        self._data[key] = vectors

    def get(self, key: str) -> dict[str, np.ndarray]:
        if key not in self._data:
            raise PermanentError(f"vector blob {key} is gone")
        return self._data[key]

    def delete(self, key: str) -> None:
        self._data.pop(key, None)


def ingest(deps, corpus: list[dict], progress: Progress | None = None, batch: int = 256, stage: str = "ingest",
           on_link: Callable | None = None) -> dict[str, str]:
    """Documents -> papers -> passages -> vectors, through the production agents. Returns doc id -> passage id.

    `on_link` receives each LinkRequested the index step sends on (the stack's linker would run it)."""
    from agents.indexer import steps
    from agents.reader import graph as reader
    from shared.messages import EmbedRequested, PapersFound, VectorsReady
    from shared.records import PaperRecord

    doc_paper: dict[str, str] = {}
    for start in range(0, len(corpus), batch):
        chunk = corpus[start:start + batch]
        ids = []
        for doc in chunk:
            rec = PaperRecord(source="corpus", source_id=doc["_id"], title=doc.get("title") or doc["text"][:80],
                              abstract=doc["text"], found_via="eval", extra={"local_corpus_id": doc["_id"]})
            pid = deps.ledger.upsert_paper(rec).paper_id
            doc_paper[doc["_id"]] = pid
            ids.append(pid)
        for msg in reader.run(PapersFound(paper_ids=tuple(ids)), deps):
            for ready in steps.embed(msg, deps):
                assert isinstance(ready, VectorsReady) and isinstance(msg, EmbedRequested)
                for link in steps.index(ready, deps):
                    if on_link is not None:
                        on_link(link)
        if progress:
            progress(stage, min(start + batch, len(corpus)), len(corpus))
    wanted = set(doc_paper.values())
    paper_passage = {}
    for row in deps.ledger.passages(deps.ledger.current_passage_ids()):
        if row.paper_id in wanted:
            paper_passage[row.paper_id] = row.id
    return {doc: paper_passage[p] for doc, p in doc_paper.items() if p in paper_passage}


def configurations(models: list[str], reranker: str | None = None) -> list[tuple[str, list[str], bool]]:
    """(name, dense models, lexical?) — the default (everything fused, then reranked when a reranker
    is set) first, then each component alone."""
    default = "hybrid:" + "+".join([*models, "bm25"]) + (f"+rerank:{reranker}" if reranker else "")
    return [(default, models, True), *[(f"dense:{m}", [m], False) for m in models], ("bm25", [], True)]


def throwaway_deps(settings=None, keep: Path | None = None) -> tuple[Path, object]:
    """(data directory, Deps) for an evaluation: `keep` or a new temporary folder, always the embedded
    ledger and vector store (never the user's servers), blobs in memory."""
    from agents.deps import Deps
    from shared.ledger import Ledger
    from shared.settings import Settings

    base = settings or Settings()
    work = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="questlog-eval-"))
    work.mkdir(parents=True, exist_ok=True)
    settings = base.model_copy(update={"data_dir": work, "ledger": base.ledger.model_copy(update={"url": None}),
                                       "vectors": base.vectors.model_copy(update={"url": None})})
    return work, Deps(settings=settings, ledger=Ledger(settings.ledger_url), overrides={"blobs": MemoryBlobs()})


def evaluate(folder: Path, settings=None, progress: Progress | None = None, split: str = "test",
             keep: Path | None = None) -> dict:
    """Metrics of every configuration. The throwaway data directory is removed unless `keep` names one."""
    from agents.linker.retrieval import retrieve_for

    corpus, queries, qrels = read_beir(folder, split)
    queries = [q for q in queries if qrels.get(q["_id"])]
    if not queries:
        raise PermanentError(f"{folder}: no query has a relevant document in qrels/{split}.tsv")
    work, deps = throwaway_deps(settings, keep)
    settings = deps.settings
    try:
        doc_of = {p: d for d, p in ingest(deps, corpus, progress).items()}
        texts = [q["text"] for q in queries]
        qvecs = {e.name: e.encode(texts) for e in deps.embedders}
        models = [m.name for m in settings.embed.models]
        results = {}
        for n, (name, dense, lexical) in enumerate(configurations(models, settings.link.reranker)):
            per = {"ndcg@10": [], "recall@10": [], "recall@100": []}
            for i, q in enumerate(queries):
                vectors = {m: qvecs[m][i].tolist() for m in dense}
                hits = retrieve_for(deps, q["text"], vectors, limit=100, lexical=lexical, rerank_stage=n == 0)
                ranked = [doc_of[c.passage_id] for c in hits if c.passage_id in doc_of]
                rel = qrels[q["_id"]]
                per["ndcg@10"].append(ndcg_at(ranked, rel))
                per["recall@10"].append(recall_at(ranked, rel, 10))
                per["recall@100"].append(recall_at(ranked, rel, 100))
            results[name] = {"retriever": name, **{k: round(float(np.mean(v)), 4) for k, v in per.items()}}
            if progress:
                progress(f"retrieve {name}", len(queries), len(queries))
    finally:
        deps.close()
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    names = list(results)
    return {"default": results[names[0]], "components": [results[n] for n in names[1:]],
            "queries": len(queries), "documents": len(corpus)}
