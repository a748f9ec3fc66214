"""arXiv through its public Atom API, newest submissions first.

Feeds: 'category' (the firehose: `cat:cs.CL`) and 'search' (a query string in
arXiv's syntax, built by the scout from a question). One request every
`min_interval_s` seconds across all workers (arXiv asks for 3 s).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx

from shared.errors import PermanentError
from shared.http import PoliteClient, RateLimiter
from shared.records import PaperRecord
from shared.settings import ArxivSettings
from shared.sources.arxiv_atom import parse_feed
from shared.sources.base import Feed, Page, Source

log = logging.getLogger(__name__)


class ArxivSource(Source):
    name = "arxiv"

    def __init__(self, settings: ArxivSettings, limiter: RateLimiter, client: httpx.Client | None = None) -> None:
        self.settings = settings
        self.client = client or httpx.Client(timeout=settings.timeout_s, follow_redirects=True,
                                             headers={"User-Agent": "questlog/0.1 (self-hosted research assistant)"})
        self.http = PoliteClient(self.client, limiter=limiter, interval_s=settings.min_interval_s,
                                 max_attempts=settings.max_attempts, max_bytes=int(settings.max_body_mb * 1e6))

    def query_for(self, feed: Feed) -> str:
        if feed.kind == "category":
            return f"cat:{feed.value}"
        if feed.kind == "search":
            return feed.value
        raise PermanentError(f"arXiv cannot serve a {feed.kind!r} feed")

    def pages(self, feed: Feed, cursor: dict) -> Iterator[Page]:
        """Pages from cursor['start'] (default 0); each page's next_cursor resumes after it."""
        query = self.query_for(feed)
        start = int(cursor.get("start", 0))
        size = self.settings.page_size
        while True:
            params = {"search_query": query, "start": start, "max_results": size,
                      "sortBy": "submittedDate", "sortOrder": "descending"}
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

    def close(self) -> None:
        self.client.close()
