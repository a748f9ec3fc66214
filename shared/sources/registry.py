"""Every source questlog knows, as a tuple of classes, and the clients built from settings.

A new source is a module with its `Source` class and settings group, one entry in
`SOURCES`, and its group on `shared.settings.Settings`; the scout asks the class
what it serves (`base.Source`), never its name. The limiter is shared so each host
is paced across all the feeds and, with a `RedisRateLimiter`, across every worker
process.

Functions here read `SOURCES` when called, so a test may register a source of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.errors import PermanentError
from shared.sources.arxiv import ArxivSource
from shared.sources.arxiv_oai import ArxivOaiSource
from shared.sources.base import HttpSourceSettings, Source
from shared.sources.crossref import CrossrefSource
from shared.sources.openalex import OpenAlexSource
from shared.sources.semanticscholar import SemanticScholarSource

if TYPE_CHECKING:
    from shared.http import RateLimiter
    from shared.settings import Settings

# in the order sources are listed (`questlog sources`) and planned
SOURCES: tuple[type[Source], ...] = (ArxivSource, ArxivOaiSource, SemanticScholarSource, OpenAlexSource,
                                     CrossrefSource)


def source_class(name: str) -> type[Source]:
    """The class of the source named `name`. Raises PermanentError for a name no source has."""
    for cls in SOURCES:
        if cls.name == name:
            return cls
    raise PermanentError(f"unknown source {name!r}; one of {', '.join(cls.name for cls in SOURCES)}")


def source_settings(settings: Settings, name: str) -> HttpSourceSettings:
    return source_class(name).settings_of(settings)


def enabled_names(settings: Settings) -> list[str]:
    """Names of the enabled sources, without building any client (for the CLI and reports)."""
    return [cls.name for cls in SOURCES if cls.settings_of(settings).enabled]


def build_sources(settings: Settings, limiter: RateLimiter) -> dict[str, Source]:
    """One client per enabled source."""
    return {cls.name: cls(cls.settings_of(settings), limiter) for cls in SOURCES if cls.settings_of(settings).enabled}
