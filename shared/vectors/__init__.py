"""Vector storage behind one interface; `open_store` picks the implementation from settings."""

from __future__ import annotations

from shared.settings import Settings
from shared.vectors.base import COLLECTIONS, SPARSE, Hit, Sparse, VectorPoint, VectorSchema, VectorStore


def schema_from(settings: Settings) -> VectorSchema:
    return VectorSchema({m.name: m.dim for m in settings.embed.models})


def open_store(settings: Settings) -> VectorStore:
    """The embedded engine under <data_dir>/qdrant, or the Qdrant server at settings.vectors.url."""
    schema = schema_from(settings)
    if settings.vectors.url:
        from qdrant_client import QdrantClient

        from shared.vectors.server import ServerStore

        key = settings.vectors.api_key.get_secret_value() if settings.vectors.api_key else None
        return ServerStore(QdrantClient(url=settings.vectors.url, api_key=key), schema, settings.vectors.prefix)
    from shared.vectors.edge import EdgeStore

    return EdgeStore(settings.data_dir / "qdrant", schema)


__all__ = ["COLLECTIONS", "SPARSE", "Hit", "Sparse", "VectorPoint", "VectorSchema", "VectorStore", "open_store",
           "schema_from"]
