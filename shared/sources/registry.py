"""Every source questlog knows, as a tuple of classes, and the clients built from settings.

A new source is one module in this package with its `Source` class and its settings class:
`SOURCES` is every concrete `Source` subclass defined in the package's modules, in `order`, and
`shared.settings.Settings` gets a group for each (`QUESTLOG_<GROUP>__…`). The scout asks the class
what it serves (`base.Source`), never its name. The limiter is shared so each host
is paced across all the feeds and, with a `RedisRateLimiter`, across every worker
process.

Functions here read `SOURCES` when called, so a test may register a source of its own.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from typing import TYPE_CHECKING

from shared.errors import PermanentError
from shared.sources.base import HttpSourceSettings, Source

if TYPE_CHECKING:
    from shared.http import RateLimiter
    from shared.settings import Settings



def discover() -> tuple[type[Source], ...]:
    """Every concrete Source subclass defined in a module of this package, in `order` then name."""
    import shared.sources as package

    found: list[type[Source]] = []
    for info in pkgutil.iter_modules(package.__path__):
        if info.name in ("base", "registry"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        found += [obj for obj in vars(module).values()
                  if isinstance(obj, type) and issubclass(obj, Source) and obj.__module__ == module.__name__
                  and not inspect.isabstract(obj) and isinstance(obj.__dict__.get("name"), str)]
    return tuple(sorted(found, key=lambda cls: (cls.order, cls.name)))


# in the order sources are listed (`questlog sources`) and planned
SOURCES: tuple[type[Source], ...] = discover()


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
