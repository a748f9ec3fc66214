"""arXiv through its public Atom API, newest submissions first.

Feeds: 'category' (the firehose: `cat:cs.CL`) and 'search' (a query string in
arXiv's syntax, built by the scout from a question, asked within the categories the
user follows: `search_categories`). One request every
`min_interval_s` seconds across all workers (arXiv asks for 3 s). Both feeds
stop at the watermark: the first paper at or below the last crawl's newest.
A question's first search (no watermark yet) asks for arXiv's relevance order
instead (`first_search`): its `search_results` best matches of any date, where
the newest would be whatever matched a broad query last week.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator

from shared.ids import split_arxiv_id
from shared.records import PaperRecord
from shared.sources.arxiv_atom import parse_feed
from shared.sources.base import Feed, HttpSource, Page, PagedSourceSettings

if TYPE_CHECKING:
    from shared.settings import Settings

log = logging.getLogger(__name__)
CATEGORY = re.compile(r"[a-z][a-z\-]*(\.[A-Za-z][A-Za-z\-]*)?")  # cs, cs.CL, q-bio.NC, physics.comp-ph


def in_categories(query: str, categories: list[str]) -> str:
    """`query` limited to papers listed in any of `categories`, in arXiv's syntax; unchanged without any.
    A question's key phrases ("domain shift") are used across fields that the user does not follow
    (vision, robotics): within the user's categories, the first search's 100 best matches held 376
    papers judged related to rq-cs-train's 20 questions instead of 343 (docs/sources.md)."""
    if not categories:
        return query
    return f"({query}) AND ({' OR '.join(f'cat:{c}' for c in categories)})"


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
    search_categories: list[str] | None = Field(
        None, description="Categories a question's arXiv search looks in; unset: the firehose's "
                          "(QUESTLOG_ARXIV__CATEGORIES); []: all of arXiv.")

    @field_validator("categories", "search_categories")
    @classmethod
    def _arxiv_categories(cls, value: list[str] | None) -> list[str] | None:
        bad = [c for c in value or [] if not CATEGORY.fullmatch(c)]
        if bad:
            raise ValueError(f"not arXiv categories: {bad} (expected names such as cs.CL, stat.ML, q-bio.NC, hep-th)")
        return value

    def search_scope(self) -> list[str]:
        """The categories a question's search is limited to; empty: all of arXiv."""
        return list(self.categories if self.search_categories is None else self.search_categories)


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
        """The search_query sent: a category's listing, or a question's search within `search_scope()`."""
        self.check(feed)
        if feed.kind == "category":
            return f"cat:{feed.value}"
        return in_categories(feed.value, self.settings.search_scope())

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
