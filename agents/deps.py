"""What agents run against: the settings and the stores and clients built from them.

Built once per process by the worker (or the CLI, the demo, the evals) and
passed into every agent call. Expensive members (the vector store, the
embedding models, the evidence judge) are created on first use, so a process only
pays for what it touches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from shared.blobs import VectorBlobs
from shared.http import LocalRateLimiter, RateLimiter, RedisRateLimiter
from shared.ledger import Ledger
from shared.settings import Settings
from shared.vectors import VectorStore, open_store


@dataclass
class Deps:
    settings: Settings
    ledger: Ledger
    redis: Any | None = None  # redis.Redis; None in single-process use (evals)
    overrides: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def store(self) -> VectorStore:
        return self.overrides.get("store") or open_store(self.settings)

    @cached_property
    def embedders(self) -> list:
        if "embedders" in self.overrides:
            return self.overrides["embedders"]
        from shared.embedder import build_embedders

        return build_embedders(self.settings.embed)

    @cached_property
    def limiter(self) -> RateLimiter:
        return RedisRateLimiter(self.redis) if self.redis is not None else LocalRateLimiter()

    @cached_property
    def blobs(self) -> VectorBlobs:
        if "blobs" in self.overrides:
            return self.overrides["blobs"]
        if self.redis is None:
            raise RuntimeError("vector blobs need Redis")
        return VectorBlobs(self.redis)

    @cached_property
    def sources(self) -> dict:
        if "sources" in self.overrides:
            return self.overrides["sources"]
        from shared.sources.registry import build_sources

        return build_sources(self.settings, self.limiter)

    @cached_property
    def fetcher(self):
        """The full-text fetcher (`shared.fulltext.fetch.PdfFetcher`)."""
        if "fetcher" in self.overrides:
            return self.overrides["fetcher"]
        from shared.fulltext.fetch import PdfFetcher

        return PdfFetcher(self.settings.fulltext, self.limiter)

    @cached_property
    def readings(self):
        """Full-text readings cached in the data directory by content hash (`shared.fulltext.ReadingCache`)."""
        from shared.fulltext import ReadingCache

        return ReadingCache(self.settings.data_dir / "readings")

    @cached_property
    def notifiers(self) -> list:
        if "notifiers" in self.overrides:
            return self.overrides["notifiers"]
        from shared.notify import build_notifiers

        return build_notifiers(self.settings)

    @cached_property
    def reranker(self):
        """The reranking stage, or None (the default: none ships offline)."""
        if "reranker" in self.overrides:
            return self.overrides["reranker"]
        if not self.settings.link.reranker:
            return None
        from shared.rerank import CrossEncoderReranker

        return CrossEncoderReranker(self.settings.link.reranker)

    @cached_property
    def judge(self):
        """The evidence judge (relevance, answer, rationale); loaded on first use of the linker and warmed,
        so the first link with candidates does not pay for it. Raises PermanentError naming the model
        folder when it is missing or broken."""
        if "judge" in self.overrides:
            return self.overrides["judge"]
        from shared.relevance import build_judge

        judge = build_judge(self.settings, cache=self.ledger)
        if hasattr(judge, "warm"):
            judge.warm()
        return judge

    @property
    def judge_threshold(self) -> float:
        """The calibrated probability a candidate needs to become a link."""
        return self.judge.bar_for(True)  # a bar of 0 (link every candidate) is a bar too

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.close()
        if "sources" in self.__dict__:
            for s in self.sources.values():
                s.close()
        if "fetcher" in self.__dict__ and "fetcher" not in self.overrides:
            self.fetcher.close()
        self.ledger.close()
