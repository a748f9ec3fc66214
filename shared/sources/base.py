"""The one interface every scholarly source implements, and what each source says about itself.

A source turns a `Feed` (what to look for) and a cursor (where the last crawl
stopped) into pages of `PaperRecord`s. It owns its HTTP client (injected, so
tests point it at a replay server on 127.0.0.1), its rate limit and its retries;
it raises only `shared.errors` exceptions. The scout agent decides when to stop.

A source class also describes itself, so the scout and the registry ask the class
and never branch on its name (a new source is one module and one line in
`registry.SOURCES`, plus its group on `Settings`):

    name, label       its name in messages and cursor keys ('<name>:<feed>'); how people call it
    settings_class    its settings group, on `HttpSourceSettings`; `group`: the Settings attribute
                      holding it (QUESTLOG_<GROUP>__*)
    feeds             the feed kinds it serves, each with the rule its crawl stops by:
                        watermark  newest first: stop at the first paper the last crawl had seen
                        harvest    the whole window, from where the last harvest reached
                        caught_up  stop at a page that brings nothing new
                        one_shot   taken once, up to the budget (citations, references, recommendations)
    every_s           its default least seconds between two crawls of one feed (QUESTLOG_SCOUT__EVERY_S)
    query_dialect     how a question becomes its search text ('arxiv' field syntax or 'plain' key phrases);
                      `search_by_default`: among QUESTLOG_SCOUT__SEARCH_SOURCES' defaults
    firehose(), budget()              the categories it crawls every tick; pages and results per crawl
    record_ids(), paper_ref(), find_paper()
                      a paper's ids from one of its ledger records; its own id for a paper from the ids
                      the ledger knows (for citations, references, recommendations)

httpx and `shared.http` are imported when a client is built: every process reads
`Settings`, which imports each source module for its settings class, and the CLI
should not pay for an HTTP stack it may never use.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.errors import PermanentError
from shared.records import PaperRecord
from shared.settings_group import SettingsGroup

if TYPE_CHECKING:
    import httpx

    from shared.http import RateLimiter
    from shared.settings import Settings

log = logging.getLogger(__name__)
FeedKind = Literal["category", "search", "citations", "references", "recommendations"]
StopRule = Literal["watermark", "harvest", "caught_up", "one_shot"]
QueryDialect = Literal["arxiv", "plain"]
USER_AGENT = "questlog/0.1 (self-hosted research assistant)"


class Feed(BaseModel):
    """What to crawl: a category firehose, a search, or the citations of a paper."""

    model_config = ConfigDict(frozen=True)
    kind: FeedKind
    value: str  # category name, query text, or a source's paper id
    question_id: int | None = None
    # a search's order: "newest" first (watching for new papers), or the source's "relevance" (a
    # question's first search, which reaches the best matches of any date; `agents.scout.feeds`)
    order: Literal["newest", "relevance"] = "newest"

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.question_id if self.kind == 'search' else self.value}"

    @property
    def found_via(self) -> str:
        if self.kind == "category":
            return f"firehose:{self.value}"
        if self.kind == "search":
            return f"search:question:{self.question_id}"
        return f"{self.kind}:{self.value}"


class Page(BaseModel):
    """One page of results and the cursor to resume after it (None: the feed is exhausted)."""

    model_config = ConfigDict(frozen=True)
    records: tuple[PaperRecord, ...]
    next_cursor: dict | None
    total: int | None = None


class HttpSourceSettings(SettingsGroup):
    """What every HTTP source is configured by. A source's group re-declares a field to give it its own
    default (its endpoint and pace always) or to say more about it."""

    enabled: bool = Field(True, description="Crawl this source (false: none of its feeds is planned or run).")
    base_url: str = Field(description="API root (tests point it at a replay).")
    min_interval_s: float = Field(description="Seconds between requests, across every worker.")
    timeout_s: float = Field(30.0, description="HTTP timeout per request.")
    max_attempts: int = Field(4, description="Attempts per request on transient errors (429, 5xx, network).")
    max_body_mb: float = Field(20.0, description="Largest response body accepted.")


class PagedSourceSettings(HttpSourceSettings):
    """A source whose requests say how many results a page holds (OAI-PMH pages are the server's to size)."""

    page_size: int = Field(100, description="Results per request, capped at what the API allows.")


class Source(ABC):
    """A scholarly source; the class attributes and class methods describe it (module docstring).
    Built by the registry as `cls(its settings group, limiter)`."""

    name: ClassVar[str]
    label: ClassVar[str]
    settings_class: ClassVar[type[HttpSourceSettings]]
    group: ClassVar[str]
    feeds: ClassVar[Mapping[FeedKind, StopRule]]
    every_s: ClassVar[float] = 0.0
    order: ClassVar[int] = 100  # where it is listed (`questlog sources`) and planned, lowest first
    query_dialect: ClassVar[QueryDialect] = "plain"
    search_by_default: ClassVar[bool] = True
    settings: HttpSourceSettings
    skipped: int = 0  # malformed records left out of otherwise good pages

    # -- what the class says about itself ------------------------------------------------------
    @classmethod
    def serves(cls, kind: str) -> bool:
        return kind in cls.feeds

    @classmethod
    def settings_of(cls, settings: Settings) -> HttpSourceSettings:
        """Its group in `settings`. Raises LookupError naming the field `Settings` lacks."""
        group = getattr(settings, cls.group, None)
        if not isinstance(group, cls.settings_class):
            raise LookupError(f"source {cls.name!r}: Settings has no {cls.group!r} group (Settings gets one for "
                              "every source in shared/sources/ when it is defined; a source registered later "
                              "needs a Settings with its group)")
        return group

    @classmethod
    def firehose(cls, settings: Settings) -> list[str]:
        """The categories it crawls every tick (for a source serving 'category' feeds)."""
        return []

    @classmethod
    def budget(cls, settings: Settings) -> tuple[int, int | None]:
        """(pages per crawl of one of its category or search feeds, results per question search)."""
        return settings.scout.max_pages, settings.scout.search_results

    @classmethod
    def record_ids(cls, source_id: str) -> dict[str, str]:
        """The ids that one of its records in the ledger (source `name`, `source_id`) gives the paper,
        by namespace ('arxiv', 'doi', or a source's name for its own ids)."""
        return {cls.name: source_id}

    @classmethod
    def paper_ref(cls, ids: Mapping[str, str]) -> str | None:
        """Its id for a paper the ledger knows by `ids` (see `record_ids`), without asking it; None: none."""
        return ids.get(cls.name)

    def find_paper(self, ids: Mapping[str, str]) -> tuple[str | None, str]:
        """(its id for the paper, or None and why not); a source may ask its API (OpenAlex by DOI)."""
        ref = self.paper_ref(ids)
        return ref, "" if ref else f"no id {self.label} accepts"

    # -- crawling ------------------------------------------------------------------------------
    def check(self, feed: Feed) -> None:
        """Raises PermanentError when the source is disabled or does not serve the feed's kind."""
        if not self.settings.enabled:
            raise PermanentError(f"{self.name} is disabled (QUESTLOG_{self.group.upper()}__ENABLED)")
        if not self.serves(feed.kind):
            raise PermanentError(f"{self.name} cannot serve a {feed.kind!r} feed")

    def parse_or_skip(self, parse, item: object, found_via: str, where: str, index: int) -> PaperRecord | None:
        """`parse(item, found_via)`, or None for a malformed record (ValueError): counted in `skipped`
        and logged with the source, the URL and its position, so the rest of the page goes on."""
        try:
            return parse(item, found_via)
        except ValueError as err:
            self.skipped += 1
            log.warning("%s: %s: skipped record %d: %s", self.name, where, index, err)
            return None

    @abstractmethod
    def pages(self, feed: Feed, cursor: dict) -> Iterator[Page]:
        """Pages of the feed from `cursor` on, newest first where the source can sort.

        Raises TransientError (retry later) or PermanentError (bad request or
        unparseable response, naming the item) once its own retries are spent.
        """

    def close(self) -> None:  # noqa: B027 - optional
        """Release the HTTP client."""


class HttpSource(Source):
    """A source over HTTP: its httpx client (unless one is injected) and its `PoliteClient` (pace, retries,
    size cap, error mapping) are built here from its settings group, the same way for every source."""

    def __init__(self, settings: HttpSourceSettings, limiter: RateLimiter, client: httpx.Client | None = None,
                 *, sleep: Callable[[float], None] = time.sleep) -> None:
        import httpx

        from shared.http import PoliteClient

        self.settings = settings
        self.client = client or httpx.Client(timeout=settings.timeout_s, follow_redirects=True,
                                             headers={"User-Agent": USER_AGENT}, **self.client_options())
        self.http = PoliteClient(self.client, limiter=limiter, interval_s=self.interval_s(),
                                 max_attempts=settings.max_attempts, max_bytes=int(settings.max_body_mb * 1e6),
                                 sleep=sleep)
        self.skipped = 0

    def client_options(self) -> dict[str, Any]:
        """More arguments for the httpx client this source builds (event hooks, say)."""
        return {}

    def interval_s(self) -> float:
        """Seconds between two of its requests."""
        return self.settings.min_interval_s

    def close(self) -> None:
        self.client.close()
