"""A Qdrant server through qdrant-client: any number of worker processes may share it.

Collections are named '<prefix>_passages' and '<prefix>_questions' and created
on first use. (qdrant-client's local mode also fits this class, for unit tests
only: it is a brute-force scan.)
"""

from __future__ import annotations

from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from shared.errors import PermanentError, TransientError
from shared.vectors.base import COLLECTIONS, SPARSE, Hit, Sparse, VectorPoint, VectorSchema, VectorStore


class ServerStore(VectorStore):
    def __init__(self, client: QdrantClient, schema: VectorSchema, prefix: str = "questlog") -> None:
        self.client = client
        self.schema = schema
        self.prefix = prefix
        for name in COLLECTIONS:
            self._ensure(name)

    def _name(self, collection: str) -> str:
        return f"{self.prefix}_{collection}"

    def _ensure(self, collection: str) -> None:
        name = self._name(collection)
        try:
            if self.client.collection_exists(name):
                return
            dense = {n: models.VectorParams(size=d, distance=models.Distance.COSINE) for n, d in self.schema.dense.items()}
            sparse = ({SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)}
                      if collection == "passages" else None)
            self.client.create_collection(name, vectors_config=dense, sparse_vectors_config=sparse)
        except (ResponseHandlingException, ConnectionError) as err:
            raise TransientError(f"Qdrant server unreachable: {err}") from err

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ResponseHandlingException as err:
            raise TransientError(f"Qdrant server unreachable: {err}") from err
        except UnexpectedResponse as err:
            if err.status_code and err.status_code >= 500:
                raise TransientError(f"Qdrant server error: {err}") from err
            raise PermanentError(f"Qdrant refused the request: {err}") from err

    def upsert(self, collection: str, points: list[VectorPoint]) -> None:
        if not points:
            return
        structs = []
        for p in points:
            self.schema.check(p)
            vector: dict = dict(p.dense)
            for n, sv in p.sparse.items():
                vector[n] = models.SparseVector(indices=sv.indices, values=sv.values)
            structs.append(models.PointStruct(id=p.id, vector=vector, payload=p.payload))
        self._call(self.client.upsert, self._name(collection), points=structs, wait=True)

    def search(self, collection: str, using: str, query: list[float] | Sparse, limit: int,
               ids: list[str] | None = None) -> list[Hit]:
        if ids is not None and not ids:
            return []
        q = models.SparseVector(indices=query.indices, values=query.values) if isinstance(query, Sparse) else query
        flt = models.Filter(must=[models.HasIdCondition(has_id=list(ids))]) if ids is not None else None
        res = self._call(self.client.query_points, self._name(collection), query=q, using=using, limit=limit,
                         query_filter=flt, with_payload=True)
        return [Hit(str(p.id), float(p.score), dict(p.payload or {})) for p in res.points]

    def vectors(self, collection: str, ids: list[str], using: str) -> dict[str, list[float]]:
        if not ids:
            return {}
        recs = self._call(self.client.retrieve, self._name(collection), ids=ids, with_payload=False,
                          with_vectors=[using])
        return {str(r.id): list(r.vector[using]) for r in recs if isinstance(r.vector, dict) and using in r.vector}

    def count(self, collection: str) -> int:
        return int(self._call(self.client.count, self._name(collection), exact=True).count)

    def close(self) -> None:
        self.client.close()
