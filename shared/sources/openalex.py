"""OpenAlex works (https://docs.openalex.org/api-entities/works).

Feeds (`Feed.kind` -> request; all newest first, cursor-paged):
    search      /works?search=<value>                 works matching the query
    citations   /works?filter=cites:<W id>            works that cite the work
    references  /works?filter=cited_by:<W id>         works the work cites
    category, recommendations: not served, PermanentError.
The cursor is {"cursor": "*"} to start (also the default for {}), then OpenAlex's
meta.next_cursor; it may carry "from_date"/"to_date" (YYYY-MM-DD), sent as the
from_publication_date/to_publication_date filters and kept in every next cursor.
Lookups: `work(ref)` by W id, DOI or doi.org URL; `search_title(title)` by title words.

`mailto` joins OpenAlex's polite pool; `api_key` (a query parameter, as OpenAlex
wants it) is blanked out of every error message. Abstracts arrive as an inverted
index (word -> positions) and are rebuilt into text. A malformed work is skipped,
logged and counted in `skipped`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from urllib.parse import quote

from pydantic import Field, SecretStr

from shared.errors import NotFound, PermanentError, QuestlogError, TransientError
from shared.ids import split_arxiv_id
from shared.records import PaperRecord
from shared.sources.base import USER_AGENT, Feed, HttpSource, Page, PagedSourceSettings

log = logging.getLogger(__name__)
NAME = "openalex"
SELECT = ("id,doi,title,display_name,publication_date,authorships,abstract_inverted_index,primary_location,"
          "locations,ids")


class OpenAlexSettings(PagedSourceSettings):
    base_url: str = Field("https://api.openalex.org", description="API root (tests point it at a replay).")
    mailto: str | None = Field(None, description="Contact address sent as mailto=: joins the faster polite pool.")
    api_key: SecretStr | None = Field(None, description="Premium API key, sent as api_key= and never logged.")
    min_interval_s: float = Field(0.1, description="Seconds between requests (OpenAlex allows 10/s).")
    select: str = Field(SELECT, description="Work fields requested (select=); keeps pages small.")


class OpenAlexSource(HttpSource):
    name = group = NAME
    order = 40
    label = "OpenAlex"
    settings_class = OpenAlexSettings
    settings: OpenAlexSettings
    feeds = {"search": "caught_up", "citations": "one_shot", "references": "one_shot"}
    every_s = 21600.0

    def find_paper(self, ids: Mapping[str, str]) -> tuple[str | None, str]:
        """Its work id; a paper known by DOI only is looked up (its citations and references need the
        W id). Raises TransientError when that lookup cannot be made now."""
        if ids.get(NAME):
            return ids[NAME], ""
        if not ids.get("doi"):
            return None, "no OpenAlex id and no DOI to look one up"
        try:
            return self.work(ids["doi"]).openalex_id, ""
        except NotFound:
            return None, f"OpenAlex has no work with DOI {ids['doi']}"

    def pages(self, feed: Feed, cursor: dict) -> Iterator[Page]:
        """Pages of the feed from `cursor` on (see the module docstring). Raises PermanentError
        for a kind OpenAlex does not serve, a 4xx or a bad page; TransientError once retries are spent."""
        self.check(feed)
        dates = {k: cursor[k] for k in ("from_date", "to_date") if cursor.get(k)}
        filters = [f"{name}_publication_date:{dates[key]}" for key, name in (("from_date", "from"), ("to_date", "to"))
                   if key in dates]
        params: dict = {"sort": "publication_date:desc", "per-page": max(1, min(self.settings.page_size, 200)),
                        "select": self.settings.select}
        if feed.kind == "search":
            params["search"] = feed.value
        else:
            filters.insert(0, f"{'cites' if feed.kind == 'citations' else 'cited_by'}:{_work_id(feed.value)}")
        if filters:
            params["filter"] = ",".join(filters)
        position = cursor.get("cursor") or "*"
        while True:
            body, where = self._get("/works", {**params, "cursor": position})
            meta, results = body.get("meta"), body.get("results")
            if not isinstance(meta, dict) or not isinstance(results, list):
                raise PermanentError(f"{NAME}: {where}: expected 'meta' and a 'results' list")
            records = [r for i, w in enumerate(results) if (r := self._one(w, feed.found_via, where, i))]
            nxt = meta.get("next_cursor") if results else None
            count = meta.get("count")
            yield Page(records=tuple(records), next_cursor={"cursor": nxt, **dates} if isinstance(nxt, str) else None,
                       total=count if isinstance(count, int) else None)
            if not isinstance(nxt, str):
                return
            position = nxt

    def work(self, ref: str, found_via: str = "lookup") -> PaperRecord:
        """One work by W id, DOI or doi.org URL. Raises NotFound when OpenAlex has no such work."""
        ref = ref.strip()
        if ref.lower().startswith(("10.", "doi:", "https://doi.org/")):
            doi = ref.lower().removeprefix("doi:").removeprefix("https://doi.org/")
            path = f"/works/https://doi.org/{quote(doi, safe='')}"
        else:
            path = f"/works/{_work_id(ref)}"
        try:
            body, where = self._get(path, {})
        except PermanentError as err:
            if "HTTP 404" in str(err):
                raise NotFound(f"{NAME}: no work {ref!r}") from None
            raise
        try:
            return _record(body, found_via)
        except ValueError as err:
            raise PermanentError(f"{NAME}: {where}: unusable work: {err}") from err

    def search_title(self, title: str, found_via: str = "lookup", limit: int = 25) -> list[PaperRecord]:
        """Works whose title matches `title` (OpenAlex's `title.search` filter: its words, stemmed), best
        first; the caller decides which, if any, is the paper meant (a preprint and its journal version
        often both match). Raises PermanentError for a 4xx or a bad page, TransientError once retries
        are spent."""
        # a comma separates filters and '|' means OR inside one
        # (https://docs.openalex.org/how-to-use-the-api/get-lists-of-entities/filter-entity-lists)
        words = " ".join(title.replace(",", " ").replace("|", " ").split())
        body, where = self._get("/works", {"filter": f"title.search:{words}", "per-page": max(1, min(limit, 200)),
                                           "select": self.settings.select})
        results = body.get("results")
        if not isinstance(results, list):
            raise PermanentError(f"{NAME}: {where}: expected a 'results' list")
        return [r for i, w in enumerate(results) if (r := self._one(w, found_via, where, i))]

    def open_pdf(self, doi: str) -> str | None:
        """Where an open-access PDF of the work with this DOI is: its `best_oa_location.pdf_url`, else the
        first open-access location that has a PDF (the best location is often a landing page), or None
        when OpenAlex knows none. Raises NotFound for a DOI OpenAlex does not have."""
        bare = doi.strip().lower().removeprefix("doi:").removeprefix("https://doi.org/")
        try:
            body, _ = self._get(f"/works/https://doi.org/{quote(bare, safe='')}", {})
        except PermanentError as err:
            if "HTTP 404" in str(err):
                raise NotFound(f"{NAME}: no work with DOI {bare!r}") from None
            raise
        locations = [body.get("best_oa_location"), *(body.get("locations") or [])]
        for loc in locations:
            url = loc.get("pdf_url") if isinstance(loc, dict) and loc.get("is_oa", True) else None
            if isinstance(url, str) and url.startswith(("https://", "http://")):
                return url
        return None

    def _one(self, work: object, found_via: str, where: str, index: int) -> PaperRecord | None:
        return self.parse_or_skip(_record, work, found_via, where, index)

    def _get(self, path: str, params: dict) -> tuple[dict, str]:
        params = dict(params)
        if self.settings.mailto:
            params["mailto"] = self.settings.mailto
        if self.settings.api_key is not None:
            params["api_key"] = self.settings.api_key.get_secret_value()
        try:
            response = self.http.get(self.settings.base_url.rstrip("/") + path, params=params,
                                     headers={"User-Agent": USER_AGENT})
        except QuestlogError as err:
            raise self._redacted(err) from None
        where = self._redact(str(response.url))
        try:
            body = response.json()
        except ValueError as err:
            raise PermanentError(f"{NAME}: {where}: response is not valid JSON ({err})") from None
        if not isinstance(body, dict):
            raise PermanentError(f"{NAME}: {where}: expected a JSON object, got {type(body).__name__}")
        return body, where

    def _redact(self, text: str) -> str:
        if self.settings.api_key is None:
            return text
        secret = self.settings.api_key.get_secret_value()
        return text.replace(quote(secret, safe=""), "***").replace(secret, "***")

    def _redacted(self, err: QuestlogError) -> QuestlogError:
        if isinstance(err, TransientError):
            return TransientError(self._redact(str(err)), retry_after=err.retry_after)
        return type(err)(self._redact(str(err)))

def _work_id(ref: str) -> str:
    """'https://openalex.org/W2741809807' or 'w2741809807' -> 'W2741809807'."""
    tail = ref.strip().rstrip("/").rsplit("/", 1)[-1]
    if not tail[:1].upper() == "W" or not tail[1:].isdigit():
        raise PermanentError(f"{NAME}: {ref!r} is not an OpenAlex work id")
    return tail.upper()


def rebuild_abstract(index: object) -> str:
    """OpenAlex's abstract_inverted_index ({word: [positions]}) back to text. ValueError if malformed."""
    if not index:
        return ""
    if not isinstance(index, dict):
        raise ValueError("abstract_inverted_index is not an object")
    words: dict[int, str] = {}
    for word, positions in index.items():
        if not isinstance(positions, list) or not all(isinstance(p, int) for p in positions):
            raise ValueError(f"abstract_inverted_index[{word!r}] is not a list of positions")
        for p in positions:
            words[p] = word
    return " ".join(words[p] for p in sorted(words))


def _record(w: object, found_via: str) -> PaperRecord:
    """One OpenAlex work -> PaperRecord. Raises ValueError for one that is not usable."""
    if not isinstance(w, dict):
        raise ValueError(f"not a work object: {str(w)[:80]!r}")
    if not isinstance(w.get("id"), str):
        raise ValueError("no id")
    wid = w["id"].rstrip("/").rsplit("/", 1)[-1]
    title = w.get("title") or w.get("display_name")
    if not isinstance(title, str) or not title.strip():
        raise ValueError(f"work {wid} has no title")
    doi = w.get("doi")
    doi = doi.lower().removeprefix("https://doi.org/") if isinstance(doi, str) and doi else None
    authors = tuple(a["author"]["display_name"] for a in w.get("authorships") or []
                    if isinstance(a, dict) and isinstance(a.get("author"), dict)
                    and isinstance(a["author"].get("display_name"), str))
    locations = [loc for loc in w.get("locations") or [] if isinstance(loc, dict)]
    arxiv_id = None  # and no version: OpenAlex's arXiv link is not a claim about the latest version
    for loc in locations:
        page = loc.get("landing_page_url") or ""
        if isinstance(page, str) and "arxiv.org/abs/" in page:
            try:
                arxiv_id = split_arxiv_id(page)[0]
                break
            except ValueError:
                continue
    primary = w.get("primary_location") if isinstance(w.get("primary_location"), dict) else {}
    url = primary.get("landing_page_url") or (f"https://doi.org/{doi}" if doi else w["id"])
    return PaperRecord(
        source=NAME, source_id=wid, openalex_id=wid, doi=doi, arxiv_id=arxiv_id,
        title=" ".join(title.split()), authors=authors, abstract=rebuild_abstract(w.get("abstract_inverted_index")),
        published=_date(w.get("publication_date")), url=url if isinstance(url, str) else None, found_via=found_via)


def _date(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value[:10]).replace(tzinfo=timezone.utc)
    except ValueError:
        return None
