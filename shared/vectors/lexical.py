"""BM25 sparse vectors (Qdrant's own tokenizer and stemmer; IDF is applied by the store)."""

from __future__ import annotations

from functools import lru_cache

from shared.vectors import Sparse


@lru_cache(maxsize=1)
def _bm25():
    import qdrant_edge

    return qdrant_edge.Bm25()


def document_vector(text: str) -> Sparse:
    v = _bm25().embed_document(text)
    return Sparse(list(v.indices), list(v.values))


def query_vector(text: str) -> Sparse:
    v = _bm25().embed_query(text)
    return Sparse(list(v.indices), list(v.values))
