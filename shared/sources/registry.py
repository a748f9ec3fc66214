"""Build the enabled sources from settings: name -> Source.

Every source has its own settings group (`QUESTLOG_<GROUP>__ENABLED`, base URL,
key, rate limit); the limiter is shared so each host is paced across all the
feeds and, with a `RedisRateLimiter`, across every worker process.
"""

from __future__ import annotations

from pydantic import BaseModel

from shared.http import RateLimiter
from shared.settings import Settings
from shared.sources.base import Source

# Source.name -> the Settings attribute holding its group, in the order sources are listed
GROUPS = {"arxiv": "arxiv", "arxiv_oai": "arxiv_oai", "semanticscholar": "semanticscholar",
          "openalex": "openalex", "crossref": "crossref"}


def source_settings(settings: Settings, name: str) -> BaseModel:
    return getattr(settings, GROUPS[name])


def enabled_names(settings: Settings) -> list[str]:
    """Names of the enabled sources, without building any client (for the CLI and reports)."""
    return [name for name in GROUPS if source_settings(settings, name).enabled]


def build_sources(settings: Settings, limiter: RateLimiter) -> dict[str, Source]:
    """One client per enabled source. Imports are lazy: a process pays only for what it uses."""
    sources: dict[str, Source] = {}
    for name in enabled_names(settings):
        group = source_settings(settings, name)
        if name == "arxiv":
            from shared.sources.arxiv import ArxivSource

            sources[name] = ArxivSource(group, limiter)
        elif name == "arxiv_oai":
            from shared.sources.arxiv_oai import ArxivOaiSource

            sources[name] = ArxivOaiSource(group, limiter)
        elif name == "semanticscholar":
            from shared.sources.semanticscholar import SemanticScholarSource

            sources[name] = SemanticScholarSource(group, limiter)
        elif name == "openalex":
            from shared.sources.openalex import OpenAlexSource

            sources[name] = OpenAlexSource(group, limiter)
        elif name == "crossref":
            from shared.sources.crossref import CrossrefSource

            sources[name] = CrossrefSource(group, limiter)
    return sources
