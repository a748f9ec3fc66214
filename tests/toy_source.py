"""A toy scholarly source, written the way a new source is: this one module, nothing in the scout.

The toy library's API (served in the tests by `tests/test_source_plugin.py` on 127.0.0.1):

    GET /papers?shelf=<category>&offset=&limit=      a shelf's papers, newest first
    GET /papers?q=<words>[&since=YYYY-MM-DD]&...     papers with every word, newest first
    GET /papers/<id>/citations?offset=&limit=        papers citing <id>
    -> {"papers": [{"id", "title", "abstract", "authors", "date", "doi"}], "next": <offset> | null}
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

from pydantic import Field

from shared.errors import PermanentError
from shared.records import PaperRecord
from shared.sources.base import Feed, HttpSource, Page, PagedSourceSettings


class ToySettings(PagedSourceSettings):
    base_url: str = Field("http://127.0.0.1:9/toy", description="The toy library's API root.")
    min_interval_s: float = Field(0.0, description="Seconds between requests (the toy library does not mind).")
    shelves: list[str] = Field(default_factory=lambda: ["trains"], description="Shelves crawled every tick.")


class ToySource(HttpSource):
    name = group = "toy"
    label = "the toy library"
    settings_class = ToySettings
    settings: ToySettings
    feeds = {"category": "watermark", "search": "caught_up", "citations": "one_shot"}
    every_s = 3600.0

    @classmethod
    def firehose(cls, settings) -> list[str]:
        return list(cls.settings_of(settings).shelves)

    def pages(self, feed: Feed, cursor: dict) -> Iterator[Page]:
        self.check(feed)
        if feed.kind == "citations":
            path, params = f"/papers/{feed.value}/citations", {}
        elif feed.kind == "category":
            path, params = "/papers", {"shelf": feed.value}
        else:
            path, params = "/papers", {"q": feed.value, **({"since": cursor["from_date"]} if "from_date" in cursor
                                                           else {})}
        window = {k: cursor[k] for k in ("from_date",) if k in cursor}
        offset = int(cursor.get("offset", 0))
        while True:
            response = self.http.get(self.settings.base_url.rstrip("/") + path,
                                     params={**params, "offset": offset, "limit": self.settings.page_size})
            where = str(response.url)
            try:
                body = response.json()
                items, nxt = body["papers"], body["next"]
            except (ValueError, KeyError, TypeError) as err:
                raise PermanentError(f"{self.name}: {where}: not a page of papers ({err!r})") from None
            records = [r for i, item in enumerate(items) if (r := self.parse_or_skip(_record, item, feed.found_via,
                                                                                      where, i))]
            yield Page(records=tuple(records), next_cursor={"offset": nxt, **window} if nxt is not None else None)
            if nxt is None:
                return
            offset = nxt


def _record(item: object, found_via: str) -> PaperRecord:
    if not isinstance(item, dict) or not item.get("id") or not item.get("title"):
        raise ValueError(f"not a paper: {str(item)[:80]!r}")
    return PaperRecord(source=ToySource.name, source_id=item["id"], doi=item.get("doi"), title=item["title"],
                       authors=tuple(item.get("authors", ())), abstract=item.get("abstract", ""),
                       published=datetime.fromisoformat(item["date"]).replace(tzinfo=timezone.utc),
                       found_via=found_via)
