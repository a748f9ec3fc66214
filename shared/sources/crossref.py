"""Crossref works (https://api.crossref.org/swagger-ui/index.html): DOI metadata and search.

    work(doi)   /works/{doi}: title (with subtitle), authors, the abstract where the
                publisher deposited one (JATS markup stripped), dates. NotFound for an
                unknown DOI (arXiv's 10.48550 DOIs are DataCite's, not Crossref's).
Feeds:
    search      /works?query=<value>, newest first, deep-paged by cursor: {"cursor": "*"}
                to start (also the default for {}), then Crossref's next-cursor; it may
                carry "from_date"/"to_date" (YYYY-MM-DD), sent as from-pub-date/until-pub-date.
                Crossref cursors expire after five minutes unused: an expired one starts
                the feed again from the newest (upserts make the repeat harmless).
    citations, references, category, recommendations: not served, PermanentError.

`mailto` joins the polite pool; `api_key` is a Crossref Metadata Plus token, sent
as a header and never logged. A malformed item is skipped, logged and counted in `skipped`.
"""

from __future__ import annotations

import html
import logging
import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import TYPE_CHECKING
from urllib.parse import quote

from pydantic import Field, SecretStr

from shared.errors import NotFound, PermanentError
from shared.records import PaperRecord
from shared.sources.base import USER_AGENT, Feed, HttpSource, Page, PagedSourceSettings

if TYPE_CHECKING:
    import httpx

    from shared.http import RateLimiter

log = logging.getLogger(__name__)
NAME = "crossref"
SELECT = "DOI,title,subtitle,author,abstract,published-print,published-online,issued,created,URL,type"


class CrossrefSettings(PagedSourceSettings):
    base_url: str = Field("https://api.crossref.org", description="API root (tests point it at a replay).")
    mailto: str | None = Field(None, description="Contact address sent as mailto=: joins the polite pool.")
    api_key: SecretStr | None = Field(None, description="Metadata Plus token, sent as Crossref-Plus-API-Token; "
                                      "never logged.")
    min_interval_s: float = Field(0.2, description="Seconds between requests (Crossref's public pool allows 5/s).")
    select: str = Field(SELECT, description="Work fields requested in searches (select=).")


class CrossrefSource(HttpSource):
    name = group = NAME
    order = 50
    label = "Crossref"
    settings_class = CrossrefSettings
    settings: CrossrefSettings
    feeds = {"search": "caught_up"}
    every_s = 86400.0
    # its keyword search, newest first across every discipline, is mostly noise: it is here for DOI metadata
    search_by_default = False

    def __init__(self, settings: CrossrefSettings, limiter: RateLimiter, client: httpx.Client | None = None,
                 *, sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(settings, limiter, client, sleep=sleep)
        mailto = f"; mailto:{settings.mailto})" if settings.mailto else ")"
        self.headers = {"User-Agent": USER_AGENT.removesuffix(")") + mailto}
        if settings.api_key is not None:
            self.headers["Crossref-Plus-API-Token"] = f"Bearer {settings.api_key.get_secret_value()}"

    @classmethod
    def record_ids(cls, source_id: str) -> dict[str, str]:
        return {"doi": source_id}  # a Crossref work is its DOI

    def pages(self, feed: Feed, cursor: dict) -> Iterator[Page]:
        """Search pages from `cursor` on (see the module docstring). Raises PermanentError for
        another feed kind, a 4xx or a bad page; TransientError once retries are spent."""
        self.check(feed)
        dates = {k: cursor[k] for k in ("from_date", "to_date") if cursor.get(k)}
        rows = max(1, min(self.settings.page_size, 1000))
        params: dict = {"query": feed.value, "rows": rows, "sort": "published", "order": "desc",
                        "select": self.settings.select}
        filters = [f"{name}-pub-date:{dates[key]}" for key, name in (("from_date", "from"), ("to_date", "until"))
                   if key in dates]
        if filters:
            params["filter"] = ",".join(filters)
        position = cursor.get("cursor") or "*"
        while True:
            try:
                message, where = self._get("/works", {**params, "cursor": position})
            except PermanentError as err:
                if position == "*" or "cursor-invalid" not in str(err):
                    raise
                log.warning("%s: the saved cursor of %s expired; starting again from the newest", NAME, feed.key)
                position = "*"
                continue
            items = message.get("items")
            if not isinstance(items, list):
                raise PermanentError(f"{NAME}: {where}: expected message.items to be a list")
            records = [r for i, item in enumerate(items) if (r := self._one(item, feed.found_via, where, i))]
            nxt = message.get("next-cursor")
            done = not isinstance(nxt, str) or len(items) < rows
            total = message.get("total-results")
            yield Page(records=tuple(records), next_cursor=None if done else {"cursor": nxt, **dates},
                       total=total if isinstance(total, int) else None)
            if done:
                return
            position = nxt

    def work(self, doi: str, found_via: str = "lookup") -> PaperRecord:
        """One work by DOI (bare, 'doi:' or doi.org URL). Raises NotFound for a DOI Crossref does not have."""
        bare = doi.strip().lower().removeprefix("doi:").removeprefix("https://doi.org/")
        try:
            message, where = self._get(f"/works/{quote(bare, safe='')}", {})
        except PermanentError as err:
            if "HTTP 404" in str(err):
                raise NotFound(f"{NAME}: no work with DOI {bare!r}") from err
            raise
        try:
            return _record(message, found_via)
        except ValueError as err:
            raise PermanentError(f"{NAME}: {where}: unusable work: {err}") from err

    def _one(self, item: object, found_via: str, where: str, index: int) -> PaperRecord | None:
        return self.parse_or_skip(_record, item, found_via, where, index)

    def _get(self, path: str, params: dict) -> tuple[dict, str]:
        if self.settings.mailto:
            params = {**params, "mailto": self.settings.mailto}
        response = self.http.get(self.settings.base_url.rstrip("/") + path, params=params, headers=self.headers)
        where = str(response.url)
        try:
            body = response.json()
        except ValueError as err:
            raise PermanentError(f"{NAME}: {where}: response is not valid JSON ({err})") from None
        message = body.get("message") if isinstance(body, dict) else None
        if not isinstance(message, dict):
            raise PermanentError(f"{NAME}: {where}: expected a 'message' object")
        return message, where

def strip_jats(text: str) -> str:
    """A deposited JATS abstract as plain text: tags dropped, entities decoded, an 'Abstract' heading removed."""
    text = re.sub(r"<(jats:)?title>\s*(abstract|summary)\s*</(jats:)?title>", " ", text, flags=re.I)
    return " ".join(html.unescape(re.sub(r"<[^>]*>", " ", text)).split())


def _record(m: object, found_via: str) -> PaperRecord:
    """One Crossref work -> PaperRecord. Raises ValueError for one that is not usable."""
    if not isinstance(m, dict):
        raise ValueError(f"not a work object: {str(m)[:80]!r}")
    doi = m.get("DOI")
    if not isinstance(doi, str) or not doi:
        raise ValueError("no DOI")
    titles = [t for t in m.get("title") or [] if isinstance(t, str) and t.strip()]
    if not titles:
        raise ValueError(f"work {doi} has no title")
    subtitles = [t for t in m.get("subtitle") or [] if isinstance(t, str) and t.strip()]
    title = titles[0] + (f": {subtitles[0]}" if subtitles and subtitles[0].lower() not in titles[0].lower() else "")
    authors = []
    for a in m.get("author") or []:
        if isinstance(a, dict):
            name = " ".join(str(a[k]) for k in ("given", "family") if a.get(k)) or a.get("name")
            if isinstance(name, str) and name:
                authors.append(name)
    abstract = m.get("abstract")
    return PaperRecord(
        source=NAME, source_id=doi.lower(), doi=doi.lower(), title=" ".join(strip_jats(title).split()),
        authors=tuple(authors), abstract=strip_jats(abstract) if isinstance(abstract, str) else "",
        published=_published(m), url=m.get("URL") if isinstance(m.get("URL"), str) else None, found_via=found_via)


def _published(m: dict) -> datetime | None:
    """The first of Crossref's dates that is given: published, online, print, issued, created."""
    for field in ("published", "published-online", "published-print", "issued", "created"):
        parts = (m.get(field) or {}).get("date-parts") if isinstance(m.get(field), dict) else None
        if isinstance(parts, list) and parts and isinstance(parts[0], list) and parts[0] and parts[0][0]:
            try:
                y, mo, d = ([int(p) for p in parts[0] if p is not None] + [1, 1])[:3]
                return datetime(y, mo, d, tzinfo=timezone.utc)
            except (TypeError, ValueError):
                continue
    return None
