"""The one interface every scholarly source implements.

A source turns a `Feed` (what to look for) and a cursor (where the last crawl
stopped) into pages of `PaperRecord`s. It owns its HTTP client (injected, so
tests point it at a replay server on 127.0.0.1), its rate limit and its retries;
it raises only `shared.errors` exceptions. The scout agent decides when to stop.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Literal

from pydantic import BaseModel, ConfigDict

from shared.records import PaperRecord

log = logging.getLogger(__name__)


class Feed(BaseModel):
    """What to crawl: a category firehose, a search, or the citations of a paper."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["category", "search", "citations", "references", "recommendations"]
    value: str  # category name, query text, or a source's paper id
    question_id: int | None = None

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


class Source(ABC):
    name: str
    skipped: int = 0  # malformed records left out of otherwise good pages

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
