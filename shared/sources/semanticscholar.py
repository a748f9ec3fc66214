"""Semantic Scholar through its Graph and Recommendations APIs (https://api.semanticscholar.org/api-docs/).

Feeds (`Feed.kind` -> request; the cursor is a plain JSON-able dict):
    search           /graph/v1/paper/search?query=   cursor {"offset": n}   (search_mode 'relevance')
                     /graph/v1/paper/search/bulk      cursor {"token": t}    (search_mode 'bulk', up to 1000 a page)
                     a cursor may carry "from_date"/"to_date" (YYYY-MM-DD): publicationDateOrYear=from:to
    citations        /graph/v1/paper/{value}/citations   papers that cite `value`   cursor {"offset": n}
    references       /graph/v1/paper/{value}/references  papers `value` cites      cursor {"offset": n}
    recommendations  `value` = comma-separated paper ids, '-' before a negative example; one positive id:
                     GET /recommendations/v1/papers/forpaper/{id}, else POST /recommendations/v1/papers. One page.
    category         not served: PermanentError.
`value` is any id S2 accepts: a paperId, 'CorpusID:…', 'DOI:…', 'ARXIV:…'.
Lookups: `paper(id)` and `papers(ids)` (POST /graph/v1/paper/batch, up to 500 ids).

One request per `min_interval_s` with a key (sent as x-api-key, never logged),
`min_interval_no_key_s` without. A malformed record is skipped, logged and
counted in `skipped`; a reference S2 could not resolve (no paperId) is counted
in `unresolved`. An unparseable or wrongly shaped page raises PermanentError
naming the source and URL.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from pydantic import Field, SecretStr

from shared.errors import NotFound, PermanentError
from shared.ids import split_arxiv_id
from shared.records import PaperRecord
from shared.sources.base import USER_AGENT, Feed, HttpSource, Page, PagedSourceSettings

if TYPE_CHECKING:
    from collections.abc import Mapping

    import httpx

    from shared.http import RateLimiter

log = logging.getLogger(__name__)
NAME = "semanticscholar"
RELEVANCE_CAP = 1000  # results a relevance search can reach (offset + limit)
DEFAULT_FIELDS = "paperId,externalIds,title,abstract,authors,year,publicationDate,url,venue"


class SemanticScholarSettings(PagedSourceSettings):
    base_url: str = Field("https://api.semanticscholar.org", description="API root (tests point it at a replay).")
    api_key: SecretStr | None = Field(None, description="API key, sent as x-api-key and never logged. Unset: the "
                                      "shared unauthenticated pool, which answers 429 more often.")
    min_interval_s: float = Field(1.0, description="Seconds between requests with a key (S2 grants keys 1/s).")
    min_interval_no_key_s: float = Field(3.0, description="Seconds between requests without a key.")
    max_body_mb: float = Field(10.0, description="Largest response body accepted (a bulk page of 1000 is ~2 MB).")
    page_size: int = Field(100, description="Results per request: search (max 100), citations and references "
                           "(max 1000), recommendations (max 500). Bulk search always returns up to 1000.")
    search_mode: Literal["relevance", "bulk"] = Field("relevance", description="'relevance': ranked, at most "
                                                      "1000 results; 'bulk': unranked, newest first, unlimited.")
    fields: str = Field(DEFAULT_FIELDS, description="Paper fields requested.")
    recommendations_pool: Literal["recent", "all-cs"] = Field(
        "recent", description="Pool a single-paper recommendation draws from: recent papers, or all of CS.")


class SemanticScholarSource(HttpSource):
    name = group = NAME
    order = 30
    label = "Semantic Scholar"
    settings_class = SemanticScholarSettings
    settings: SemanticScholarSettings
    feeds = {"search": "caught_up", "citations": "one_shot", "references": "one_shot", "recommendations": "one_shot"}
    every_s = 21600.0

    def __init__(self, settings: SemanticScholarSettings, limiter: RateLimiter, client: httpx.Client | None = None,
                 *, sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(settings, limiter, client, sleep=sleep)
        self.headers = {"User-Agent": USER_AGENT}
        if settings.api_key is not None:
            self.headers["x-api-key"] = settings.api_key.get_secret_value()
        self.unresolved = 0

    def client_options(self) -> dict[str, Any]:
        from shared.http import secrets_stay_home

        return {"event_hooks": {"request": [secrets_stay_home(self.settings.base_url, ("x-api-key",))]}}

    def interval_s(self) -> float:
        keyed = self.settings.api_key is not None
        return self.settings.min_interval_s if keyed else self.settings.min_interval_no_key_s

    @classmethod
    def paper_ref(cls, ids: Mapping[str, str]) -> str | None:
        """Its own paperId, else ARXIV:<id>, else the DOI. A bare DOI, not 'DOI:<doi>': S2 resolves both,
        and the recorded responses the tests replay used the bare one."""
        if ids.get(NAME):
            return ids[NAME]
        if ids.get("arxiv"):
            return f"ARXIV:{ids['arxiv']}"
        return ids.get("doi")

    # -- feeds --------------------------------------------------------------------------------
    def pages(self, feed: Feed, cursor: dict) -> Iterator[Page]:
        """Pages of the feed from `cursor` on; see the module docstring for cursors. Raises
        PermanentError for a feed kind S2 does not serve, a 4xx or a bad page; TransientError
        once PoliteClient's retries are spent."""
        self.check(feed)
        if feed.kind == "recommendations":
            yield self._recommendations(feed)
            return
        dates = {k: cursor[k] for k in ("from_date", "to_date") if cursor.get(k)}
        cursor = dict(cursor)
        while True:
            url, params, wrapper = self._request(feed, cursor, dates)
            body, where = self._get(url, params)
            _expect(body, dict, where)
            items = body.get("data", [])  # an empty result has no 'data' at all
            if not isinstance(items, list):
                raise PermanentError(f"{NAME}: {where}: 'data' is {type(items).__name__}, not a list")
            records = self._records(items, feed.found_via, where, wrapper)
            if feed.kind == "search" and self.settings.search_mode == "bulk":
                nxt = {"token": body["token"], **dates} if body.get("token") else None
            else:
                nxt = {"offset": int(body["next"]), **dates} if isinstance(body.get("next"), int) else None
                if nxt and feed.kind == "search" and nxt["offset"] >= RELEVANCE_CAP:
                    nxt = None  # S2 ranks at most 1000 results and answers 400 past them
            total = body.get("total")
            yield Page(records=tuple(records), next_cursor=nxt, total=total if isinstance(total, int) else None)
            if nxt is None:
                return
            cursor = nxt

    def _request(self, feed: Feed, cursor: dict, dates: dict) -> tuple[str, dict, str | None]:
        params: dict = {"fields": self.settings.fields}
        if feed.kind == "search":
            params["query"] = feed.value
            if dates:
                params["publicationDateOrYear"] = f"{dates.get('from_date', '')}:{dates.get('to_date', '')}"
            if self.settings.search_mode == "bulk":
                params["sort"] = "publicationDate:desc"
                if cursor.get("token"):
                    params["token"] = cursor["token"]
                return "/graph/v1/paper/search/bulk", params, None
            offset = int(cursor.get("offset", 0))
            limit = max(1, min(self.settings.page_size, 100, RELEVANCE_CAP - offset))
            return "/graph/v1/paper/search", {**params, "offset": offset, "limit": limit}, None
        wrapper = "citingPaper" if feed.kind == "citations" else "citedPaper"
        params.update(offset=int(cursor.get("offset", 0)), limit=min(self.settings.page_size, 1000))
        return f"/graph/v1/paper/{_quote_id(feed.value)}/{feed.kind}", params, wrapper

    def _recommendations(self, feed: Feed) -> Page:
        ids = [i.strip() for i in feed.value.split(",") if i.strip()]
        positive = [i for i in ids if not i.startswith("-")]
        negative = [i[1:] for i in ids if i.startswith("-")]
        params = {"fields": self.settings.fields, "limit": min(self.settings.page_size, 500)}
        if len(positive) == 1 and not negative:
            params["from"] = self.settings.recommendations_pool
            body, where = self._get(f"/recommendations/v1/papers/forpaper/{_quote_id(positive[0])}", params)
        else:
            body, where = self._post("/recommendations/v1/papers", params,
                                     {"positivePaperIds": positive, "negativePaperIds": negative})
        _expect(body, dict, where)
        items = body.get("recommendedPapers")
        if not isinstance(items, list):
            raise PermanentError(f"{NAME}: {where}: no 'recommendedPapers' list in the response")
        records = self._records(items, feed.found_via, where, None)
        return Page(records=tuple(records), next_cursor=None, total=len(items))

    # -- lookups ------------------------------------------------------------------------------
    def paper(self, paper_id: str, found_via: str = "lookup") -> PaperRecord:
        """One paper by any S2-accepted id. Raises NotFound when S2 does not know it."""
        try:
            body, where = self._get(f"/graph/v1/paper/{_quote_id(paper_id)}", {"fields": self.settings.fields})
        except PermanentError as err:
            if re.search(r"HTTP 404\b", str(err)):
                raise NotFound(f"{NAME}: no paper {paper_id!r}: {err}") from err
            raise
        _expect(body, dict, where)
        try:
            return _record(body, found_via)
        except ValueError as err:
            raise PermanentError(f"{NAME}: {where}: unusable paper: {err}") from err

    def papers(self, ids: list[str], found_via: str = "lookup") -> list[PaperRecord | None]:
        """Many papers in one request (at most 500), in the order asked; None where S2 knows no such
        paper or the record is malformed (logged and counted)."""
        if not ids:
            return []
        if len(ids) > 500:
            raise PermanentError(f"{NAME}: a batch takes at most 500 ids, got {len(ids)}")
        body, where = self._post("/graph/v1/paper/batch", {"fields": self.settings.fields}, {"ids": list(ids)})
        if not isinstance(body, list) or len(body) != len(ids):
            raise PermanentError(f"{NAME}: {where}: expected a list of {len(ids)} papers")
        out: list[PaperRecord | None] = []
        for i, item in enumerate(body):
            out.append(None if item is None else self._one(item, found_via, where, i))
        return out

    # -- plumbing -----------------------------------------------------------------------------
    def _records(self, items: list, found_via: str, where: str, wrapper: str | None) -> list[PaperRecord]:
        records = []
        for i, item in enumerate(items):
            paper = item.get(wrapper) if wrapper and isinstance(item, dict) else item
            if isinstance(paper, dict) and paper.get("paperId") is None and paper.get("title"):
                self.unresolved += 1  # S2 lists a reference it could not match to a paper
                continue
            record = self._one(paper, found_via, where, i)
            if record is not None:
                records.append(record)
        return records

    def _one(self, item: object, found_via: str, where: str, index: int) -> PaperRecord | None:
        return self.parse_or_skip(_record, item, found_via, where, index)

    def _get(self, path: str, params: dict) -> tuple:
        response = self.http.get(self.settings.base_url.rstrip("/") + path, params=params, headers=self.headers)
        return _decode(response)

    def _post(self, path: str, params: dict, body: object) -> tuple:
        response = self.http.post(self.settings.base_url.rstrip("/") + path, json=body, params=params,
                                  headers=self.headers)
        return _decode(response)

def _decode(response: httpx.Response) -> tuple:
    where = str(response.url)
    try:
        body = response.json()
    except ValueError as err:
        raise PermanentError(f"{NAME}: {where}: response is not valid JSON ({err})") from err
    if not isinstance(body, dict | list):
        raise PermanentError(f"{NAME}: {where}: expected a JSON object, got {type(body).__name__}")
    return body, where


def _expect(body: object, kind: type, where: str) -> None:
    if not isinstance(body, kind):
        raise PermanentError(f"{NAME}: {where}: expected a JSON {kind.__name__}, got {type(body).__name__}")


def _quote_id(paper_id: str) -> str:
    return quote(paper_id.strip(), safe=":/")


def _record(p: object, found_via: str) -> PaperRecord:
    """One S2 paper object -> PaperRecord. Raises ValueError for one that is not usable."""
    if not isinstance(p, dict):
        raise ValueError(f"not a paper object: {str(p)[:80]!r}")
    pid, title = p.get("paperId"), p.get("title")
    if not isinstance(pid, str) or not pid:
        raise ValueError("no paperId")
    if not isinstance(title, str) or not title.strip():
        raise ValueError(f"paper {pid} has no title")
    ext = p.get("externalIds") or {}
    if not isinstance(ext, dict):
        raise ValueError(f"paper {pid}: externalIds is not an object")
    arxiv_id, version = None, None
    if ext.get("ArXiv"):
        try:
            arxiv_id, version = split_arxiv_id(str(ext["ArXiv"]))
        except ValueError:
            log.debug("%s: paper %s has an unrecognised arXiv id %r", NAME, pid, ext["ArXiv"])
    doi = ext.get("DOI")
    authors = p.get("authors") or []
    year = p.get("year")
    published = _date(p.get("publicationDate")) or (
        datetime(year, 1, 1, tzinfo=timezone.utc) if isinstance(year, int) and year > 0 else None)
    return PaperRecord(
        source=NAME, source_id=pid, s2_id=pid, arxiv_id=arxiv_id, arxiv_version=version,
        doi=str(doi).lower() if doi else None, title=" ".join(title.split()),
        authors=tuple(a["name"] for a in authors if isinstance(a, dict) and isinstance(a.get("name"), str)),
        abstract=" ".join(str(p.get("abstract") or "").split()), published=published,
        url=p.get("url") if isinstance(p.get("url"), str) else None, found_via=found_via,
        extra={"corpus_id": str(ext["CorpusId"])} if ext.get("CorpusId") else {})


def _date(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value[:10]).replace(tzinfo=timezone.utc)
    except ValueError:
        return None
