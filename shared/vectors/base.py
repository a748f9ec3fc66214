"""The one interface to the vector store.

Two collections: 'passages' (one named dense vector per configured model plus
the sparse 'bm25' vector) and 'questions' (dense vectors only). Point ids are
uuid5 strings (the passage id itself, or `question_point_id`). Upserts
overwrite, so indexing a batch twice leaves the same points.
Implementations: `EdgeStore` (embedded engine, one owner process) and
`ServerStore` (a Qdrant server, any number of processes). The rest of the code
cannot tell which it has.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

COLLECTIONS = ("passages", "questions")
SPARSE = "bm25"


@dataclass(frozen=True)
class Sparse:
    indices: list[int]
    values: list[float]


@dataclass(frozen=True)
class VectorPoint:
    id: str
    dense: dict[str, list[float]]
    sparse: dict[str, Sparse] = field(default_factory=dict)
    payload: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Hit:
    id: str
    score: float
    payload: dict


@dataclass(frozen=True)
class VectorSchema:
    dense: dict[str, int]  # model name -> dimension

    def check(self, point: VectorPoint) -> None:
        for name, vec in point.dense.items():
            if name not in self.dense:
                raise ValueError(f"point {point.id}: no dense vector named {name!r} is configured")
            if len(vec) != self.dense[name]:
                raise ValueError(f"point {point.id}: {name} has {len(vec)} dims, expected {self.dense[name]}")


class VectorStore(ABC):
    schema: VectorSchema

    @abstractmethod
    def upsert(self, collection: str, points: list[VectorPoint]) -> None:
        """Insert or overwrite points."""

    @abstractmethod
    def search(self, collection: str, using: str, query: list[float] | Sparse, limit: int,
               ids: list[str] | None = None) -> list[Hit]:
        """Nearest points by the named vector (cosine for dense, BM25 with IDF for sparse),
        best first; restricted to `ids` when given."""

    @abstractmethod
    def vectors(self, collection: str, ids: list[str], using: str) -> dict[str, list[float]]:
        """The named dense vector of each known id."""

    @abstractmethod
    def count(self, collection: str) -> int:
        """Points in the collection."""

    def close(self) -> None:  # noqa: B027
        """Flush and release."""
