"""arXiv through its public Atom API, newest submissions first.

Feeds: 'category' (the firehose: `cat:cs.CL`) and 'search' (a query string in
arXiv's syntax, built by the scout from a question). One request every
`min_interval_s` seconds across all workers (arXiv asks for 3 s). Both feeds
stop at the watermark: the first paper at or below the last crawl's newest.
A question's first search (no watermark yet) asks for arXiv's relevance order
instead (`first_search`): its `search_results` best matches of any date, where
the newest would be whatever matched a broad query last week.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from shared.ids import split_arxiv_id
from shared.records import PaperRecord
from shared.sources.arxiv_atom import parse_feed
from shared.sources.base import Feed, HttpSource, Page, PagedSourceSettings

if TYPE_CHECKING:
    from shared.settings import Settings

log = logging.getLogger(__name__)


class ArxivSettings(PagedSourceSettings):
    base_url: str = Field("https://export.arxiv.org/api/query", description="arXiv Atom API endpoint.")
    categories: list[str] = Field(
        default_factory=lambda: ["cs.CL", "cs.LG", "cs.IR"], description="Firehose categories crawled for new papers."
    )
    min_interval_s: float = Field(3.0, description="Seconds between requests to arXiv (its published rule).")
    max_pages: int = Field(20, description="Pages per crawl of one feed before it stops.")
    search_results: int = Field(50, description="Results per question search.")
    first_search: Literal["relevance", "newest"] = Field(
        "relevance", description="Order of a question's first search: arXiv's relevance (the best matches "
                                 "of any date) or newest first; later searches always take the newest since the last.")
    first_search_results: int = Field(
        100, ge=1, description="Results of a question's first search in relevance order (its backfill from arXiv).")


class ArxivSource(HttpSource):
    name = group = "arxiv"
    order = 10
    label = "arXiv"
    settings_class = ArxivSettings
    settings: ArxivSettings
    feeds = {"category": "watermark", "search": "watermark"}
    every_s = 0.0
    query_dialect = "arxiv"

    @classmethod
    def firehose(cls, settings: Settings) -> list[str]:
        """Its categories, newest first every tick, unless QUESTLOG_SCOUT__ATOM_FIREHOSE is off."""
        return list(cls.settings_of(settings).categories) if settings.scout.atom_firehose else []

    @classmethod
    def budget(cls, settings: Settings) -> tuple[int, int | None]:
        group = cls.settings_of(settings)
        return group.max_pages, group.search_results

    @classmethod
    def record_ids(cls, source_id: str) -> dict[str, str]:
        return {"arxiv": split_arxiv_id(source_id)[0]}  # the paper, whichever version the record is

    @classmethod
    def paper_ref(cls, ids: Mapping[str, str]) -> str | None:
        return ids.get("arxiv")

    def query_for(self, feed: Feed) -> str:
        self.check(feed)
        return f"cat:{feed.value}" if feed.kind == "category" else feed.value

    def pages(self, feed: Feed, cursor: dict) -> Iterator[Page]:
        """Pages from cursor['start'] (default 0); each page's next_cursor resumes after it."""
        query = self.query_for(feed)
        start = int(cursor.get("start", 0))
        size = self.settings.page_size
        while True:
            params = {"search_query": query, "start": start, "max_results": size,
                      "sortBy": "relevance" if feed.order == "relevance" else "submittedDate",
                      "sortOrder": "descending"}
            response = self.http.get(self.settings.base_url, params=params)
            parsed = parse_feed(response.content, feed.found_via, where=f"arXiv {feed.key} start={start}")
            for problem in parsed.skipped:
                log.warning(problem)
            start += len(parsed.records) + len(parsed.skipped)
            done = not parsed.records or start >= parsed.total
            yield Page(records=tuple(parsed.records), next_cursor=None if done else {"start": start},
                       total=parsed.total)
            if done:
                return

    def lookup(self, arxiv_id: str, found_via: str = "added") -> PaperRecord | None:
        """The record of one paper by its arXiv id (with or without version), or None when arXiv has none."""
        response = self.http.get(self.settings.base_url, params={"id_list": arxiv_id, "max_results": 1})
        parsed = parse_feed(response.content, found_via, where=f"arXiv id {arxiv_id}")
        return parsed.records[0] if parsed.records else None
