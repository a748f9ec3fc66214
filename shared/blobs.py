"""Short-lived vector blobs in Redis, so messages carry a key instead of the vectors.

The embed step writes one blob per batch; the index step reads it and deletes
it once the points are upserted. A blob that expired before indexing is a
PermanentError for that message (it is re-embedded by re-sending the request).
"""

from __future__ import annotations

import io

import numpy as np

from shared.errors import PermanentError

PREFIX = "questlog:vectors:"


class VectorBlobs:
    def __init__(self, redis_client, ttl_s: int = 86400) -> None:
        self.redis = redis_client
        self.ttl_s = ttl_s

    def put(self, key: str, vectors: dict[str, np.ndarray]) -> None:
        buf = io.BytesIO()
        np.savez(buf, **{name: v.astype(np.float32) for name, v in vectors.items()})
        self.redis.set(PREFIX + key, buf.getvalue(), ex=self.ttl_s)

    def get(self, key: str) -> dict[str, np.ndarray]:
        raw = self.redis.get(PREFIX + key)
        if raw is None:
            raise PermanentError(f"vector blob {key} is gone (expired before it was indexed)")
        with np.load(io.BytesIO(raw)) as data:
            return {name: data[name] for name in data.files}

    def delete(self, key: str) -> None:
        self.redis.delete(PREFIX + key)
