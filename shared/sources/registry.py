"""Build the enabled sources from settings: name -> Source."""

from __future__ import annotations

from shared.http import RateLimiter
from shared.settings import Settings
from shared.sources.base import Source


def build_sources(settings: Settings, limiter: RateLimiter) -> dict[str, Source]:
    sources: dict[str, Source] = {}
    if settings.arxiv.enabled:
        from shared.sources.arxiv import ArxivSource

        sources["arxiv"] = ArxivSource(settings.arxiv, limiter)
    return sources
