"""The embedded Qdrant engine (qdrant-edge): real HNSW and sparse indexes, in-process.

One shard directory per collection under <data_dir>/qdrant. The engine takes a
lock on its files, so exactly one process may own it: in the running system
that is the worker serving the `index` and `link` queues with concurrency 1.
"""

from __future__ import annotations

import threading
from pathlib import Path

import qdrant_edge as qe

from shared.errors import TransientError
from shared.vectors.base import COLLECTIONS, SPARSE, Hit, Sparse, VectorPoint, VectorSchema, VectorStore


class EdgeStore(VectorStore):
    def __init__(self, root: Path, schema: VectorSchema) -> None:
        self.root = Path(root)
        self.schema = schema
        self._lock = threading.Lock()
        self._shards: dict[str, qe.EdgeShard] = {}
        for name in COLLECTIONS:
            self._shards[name] = self._open(name)

    def _config(self, collection: str) -> qe.EdgeConfig:
        dense = {n: qe.EdgeVectorParams(size=d, distance=qe.Distance.Cosine) for n, d in self.schema.dense.items()}
        sparse = {SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)} if collection == "passages" else None
        return qe.EdgeConfig(vectors=dense, sparse_vectors=sparse)

    def _open(self, collection: str) -> qe.EdgeShard:
        path = self.root / collection
        try:
            if path.exists() and any(path.iterdir()):
                return qe.EdgeShard.load(str(path), self._config(collection))
            path.mkdir(parents=True, exist_ok=True)
            return qe.EdgeShard.create(str(path), self._config(collection))
        except Exception as err:  # the engine raises plain exceptions; a held lock is the usual cause
            raise TransientError(f"cannot open the embedded vector store at {path}: {err} "
                                 "(only one process may own it; is another questlog worker running?)") from err

    def upsert(self, collection: str, points: list[VectorPoint]) -> None:
        if not points:
            return
        converted = []
        for p in points:
            self.schema.check(p)
            vector: dict = dict(p.dense)
            for name, sv in p.sparse.items():
                vector[name] = qe.SparseVector(indices=sv.indices, values=sv.values)
            converted.append(qe.Point(id=p.id, vector=vector, payload=p.payload))
        with self._lock:
            self._shards[collection].update(qe.UpdateOperation.upsert_points(converted))

    def search(self, collection: str, using: str, query: list[float] | Sparse, limit: int,
               ids: list[str] | None = None) -> list[Hit]:
        vec = qe.SparseVector(indices=query.indices, values=query.values) if isinstance(query, Sparse) else query
        flt = qe.Filter(must=[qe.HasIdCondition(set(ids))]) if ids is not None else None
        if ids is not None and not ids:
            return []
        req = qe.QueryRequest(limit=limit, query=qe.Query.Nearest(vec, using=using), filter=flt, with_payload=True)
        with self._lock:
            points = self._shards[collection].query(req)
        return [Hit(str(p.id), float(p.score), dict(p.payload or {})) for p in points]

    def vectors(self, collection: str, ids: list[str], using: str) -> dict[str, list[float]]:
        if not ids:
            return {}
        with self._lock:
            records = self._shards[collection].retrieve(ids, with_payload=False, with_vector=[using])
        out = {}
        for r in records:
            vec = r.vector
            if isinstance(vec, dict) and using in vec:
                out[str(r.id)] = list(vec[using])
        return out

    def optimize(self) -> None:
        """Build the engine's indexes (HNSW) now. The embedded engine never optimises on its own: new
        points are searched in plain segments, exact and at once; `questlog bench backfill` measures
        what a build costs and buys."""
        with self._lock:
            for shard in self._shards.values():
                shard.optimize()

    def count(self, collection: str) -> int:
        with self._lock:
            return int(self._shards[collection].count(qe.CountRequest(exact=True)))

    def close(self) -> None:
        with self._lock:
            for shard in self._shards.values():
                shard.flush()
                shard.close()
            self._shards.clear()
