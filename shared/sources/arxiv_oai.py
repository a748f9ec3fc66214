"""arXiv's OAI-PMH interface (https://info.arxiv.org/help/oa/index.html): the daily harvest.

Feed 'category' only; its value is an arXiv category ('cs.CL', 'hep-ph') or an OAI
set ('cs', 'physics:hep-ph'). A category is harvested through its archive's set
('cs.CL' -> 'cs', 'hep-ph' -> 'physics:hep-ph') and records not listing it are
dropped; a set is harvested whole.

    ?verb=ListRecords&metadataPrefix=arXivRaw|arXiv&set=<set>&from=<day>[&until=<day>]
    ?verb=ListRecords&resumptionToken=<token>     (OAI allows no other argument with it)

The cursor is {"from": "YYYY-MM-DD", "until": ..., "token": ...}; with no "from",
today (UTC) minus `lookback_days`. `from`/`until` select records by the day arXiv
last changed them, so a new version comes round again. Each page's next_cursor
carries the resumptionToken and the window; None when the list is complete.

OAI errors: noRecordsMatch is an empty last page, not an error; every other
code (badArgument, badResumptionToken, cannotDisseminateFormat, ...) raises
PermanentError with arXiv's message. XML goes through defusedxml, so an entity
bomb is refused. A malformed record is skipped, logged and counted in `skipped`;
a deleted one is counted in `deleted`. arXiv's 503 + Retry-After flow control is
PoliteClient's to wait out.

arXivRaw (the default) carries every version with its date, so records get the
latest version, published = v1's date and updated = the latest's. The arXiv
format carries structured author names but no version numbers.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Literal
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring
from pydantic import Field

from shared.errors import NotFound, PermanentError
from shared.ids import split_arxiv_id
from shared.records import PaperRecord
from shared.sources.arxiv import ArxivSource
from shared.sources.base import Feed, HttpSource, HttpSourceSettings, Page

if TYPE_CHECKING:
    import httpx

    from shared.http import RateLimiter
    from shared.settings import Settings

log = logging.getLogger(__name__)
NAME = "arxiv_oai"
OAI = "{http://www.openarchives.org/OAI/2.0/}"
RAW = "{http://arxiv.org/OAI/arXivRaw/}"
ARXIV = "{http://arxiv.org/OAI/arXiv/}"
PHYSICS = {"astro-ph", "cond-mat", "gr-qc", "hep-ex", "hep-lat", "hep-ph", "hep-th", "math-ph", "nlin", "nucl-ex",
           "nucl-th", "physics", "quant-ph"}


class ArxivOaiSettings(HttpSourceSettings):
    base_url: str = Field("https://oaipmh.arxiv.org/oai", description="OAI-PMH endpoint (the old "
                          "export.arxiv.org/oai2 redirects here).")
    metadata_prefix: Literal["arXivRaw", "arXiv"] = Field("arXivRaw", description="arXivRaw has every version and "
                                                          "its date; arXiv has structured author names.")
    lookback_days: int = Field(1, description="Days before today (UTC) harvested when the cursor has no 'from'.")
    min_interval_s: float = Field(3.0, description="Seconds between requests (arXiv asks for one per 3 s).")
    timeout_s: float = Field(90.0, description="HTTP timeout per request (large ListRecords pages are slow).")


def oai_set(value: str) -> tuple[str, str | None]:
    """A feed value -> (OAI set, category to keep or None): 'cs.CL' -> ('cs', 'cs.CL'), 'hep-ph' ->
    ('physics:hep-ph', None), 'physics:hep-ph' -> ('physics:hep-ph', None)."""
    if ":" in value:
        return value, None
    archive = value.split(".")[0]
    return (f"physics:{archive}" if archive in PHYSICS else archive), (value if "." in value else None)


class ArxivOaiSource(HttpSource):
    name = group = NAME
    order = 20
    label = "arXiv OAI-PMH"
    settings_class = ArxivOaiSettings
    settings: ArxivOaiSettings
    feeds = {"category": "harvest"}
    every_s = 86400.0  # arXiv announces once a day

    def __init__(self, settings: ArxivOaiSettings, limiter: RateLimiter, client: httpx.Client | None = None,
                 *, sleep: Callable[[float], None] = time.sleep,
                 now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        super().__init__(settings, limiter, client, sleep=sleep)
        self.now = now
        self.deleted = 0

    @classmethod
    def firehose(cls, settings: Settings) -> list[str]:
        """QUESTLOG_SCOUT__OAI_CATEGORIES, unset: the Atom API's categories (QUESTLOG_ARXIV__CATEGORIES)."""
        oai = settings.scout.oai_categories
        return list(oai if oai is not None else ArxivSource.settings_of(settings).categories)

    @classmethod
    def budget(cls, settings: Settings) -> tuple[int, int | None]:
        return settings.scout.harvest_pages, None

    def pages(self, feed: Feed, cursor: dict) -> Iterator[Page]:
        """The harvest from `cursor` on (see the module docstring). Raises PermanentError for a kind
        other than 'category' or an OAI error; TransientError once PoliteClient's retries are spent."""
        self.check(feed)
        set_spec, keep = oai_set(feed.value)
        since = cursor.get("from") or (self.now() - timedelta(days=self.settings.lookback_days)).strftime("%Y-%m-%d")
        window = {"from": since, **({"until": cursor["until"]} if cursor.get("until") else {})}
        token = cursor.get("token")
        while True:
            if token:
                params = {"verb": "ListRecords", "resumptionToken": token}
            else:
                params = {"verb": "ListRecords", "metadataPrefix": self.settings.metadata_prefix, "set": set_spec,
                          **window}
            root, where = self._get(params)
            if root is None:  # noRecordsMatch
                yield Page(records=(), next_cursor=None, total=0)
                return
            listing = root.find(f"{OAI}ListRecords")
            if listing is None:
                raise PermanentError(f"{NAME}: {where}: no ListRecords element")
            records = [r for r in self._records(listing, feed.found_via, where)
                       if keep is None or keep in r.categories]
            resumption = listing.find(f"{OAI}resumptionToken")
            token = (resumption.text or "").strip() if resumption is not None else ""
            size = resumption.get("completeListSize") if resumption is not None else None
            yield Page(records=tuple(records), next_cursor={**window, "token": token} if token else None,
                       total=int(size) if size and size.isdigit() else None)
            if not token:
                return

    def record(self, arxiv_id: str, found_via: str = "lookup") -> PaperRecord:
        """One paper by arXiv id (GetRecord). Raises NotFound for an id arXiv does not have."""
        bare = split_arxiv_id(arxiv_id)[0]
        root, where = self._get({"verb": "GetRecord", "identifier": f"oai:arXiv.org:{bare}",
                                 "metadataPrefix": self.settings.metadata_prefix})
        records = self._records(root.find(f"{OAI}GetRecord") if root is not None else None, found_via, where)
        if not records:
            raise NotFound(f"{NAME}: {where}: no usable record for {bare}")
        return records[0]

    def _get(self, params: dict) -> tuple[Element | None, str]:
        """Fetch and parse one OAI response; None for noRecordsMatch. Other OAI errors: PermanentError
        (idDoesNotExist: NotFound)."""
        response = self.http.get(self.settings.base_url, params=params)
        where = str(response.url)
        try:
            root = fromstring(response.content)
        except (ParseError, DefusedXmlException, ValueError) as err:
            raise PermanentError(f"{NAME}: {where}: unparseable OAI-PMH response: "
                                 f"{type(err).__name__}: {err}") from None
        if root.tag != f"{OAI}OAI-PMH":
            raise PermanentError(f"{NAME}: {where}: not an OAI-PMH response (root element {root.tag!r})")
        error = root.find(f"{OAI}error")
        if error is not None:
            code, text = error.get("code", "unknown"), " ".join((error.text or "").split())
            if code == "noRecordsMatch":
                return None, where
            kind = NotFound if code == "idDoesNotExist" else PermanentError
            raise kind(f"{NAME}: {where}: OAI error {code}: {text}")
        return root, where

    def _records(self, parent: Element | None, found_via: str, where: str) -> list[PaperRecord]:
        records = []
        for i, rec in enumerate(parent.findall(f"{OAI}record") if parent is not None else []):
            header = rec.find(f"{OAI}header")
            if header is not None and header.get("status") == "deleted":
                self.deleted += 1
                continue
            try:
                records.append(_record(rec, found_via))
            except ValueError as err:
                self.skipped += 1
                ident = _text(header.find(f"{OAI}identifier")) if header is not None else ""
                log.warning("%s: %s: skipped record %d %s: %s", NAME, where, i, ident, err)
        return records

def _text(el: Element | None) -> str:
    return " ".join((el.text or "").split()) if el is not None else ""


def _record(rec: Element, found_via: str) -> PaperRecord:
    """One OAI <record> in arXivRaw or arXiv format -> PaperRecord. ValueError if unusable."""
    meta = rec.find(f"{OAI}metadata")
    body = None if meta is None else meta.find(f"{RAW}arXivRaw")
    if body is None and meta is not None:
        body = meta.find(f"{ARXIV}arXiv")
    if body is None:
        raise ValueError("no arXivRaw or arXiv metadata")
    ns = RAW if body.tag == f"{RAW}arXivRaw" else ARXIV
    arxiv_id, _ = split_arxiv_id(_text(body.find(f"{ns}id")))
    title = _text(body.find(f"{ns}title"))
    if not title:
        raise ValueError(f"{arxiv_id} has no title")
    doi = (_text(body.find(f"{ns}doi")).split() or [None])[0]  # arXiv lists several DOIs (paper, erratum): the first
    if ns == RAW:
        dated: dict[int, datetime | None] = {}
        for v in body.findall(f"{ns}version"):  # a version listed twice keeps the listing that has a date
            digits = re.sub(r"\D", "", v.get("version", ""))
            n, when = int(digits or 0), _rfc2822(_text(v.find(f"{ns}date")))
            if dated.get(n) is None:
                dated[n] = when
        versions = sorted(dated.items())
        version = versions[-1][0] if versions and versions[-1][0] > 0 else None
        published = versions[0][1] if versions else None
        updated = versions[-1][1] if len(versions) > 1 else None
        authors = split_authors(_text(body.find(f"{ns}authors")))
    else:
        version = None
        published, updated = _day(_text(body.find(f"{ns}created"))), _day(_text(body.find(f"{ns}updated")))
        authors = tuple(" ".join(p for p in (_text(a.find(f"{ns}forenames")), _text(a.find(f"{ns}keyname")),
                                             _text(a.find(f"{ns}suffix"))) if p)
                        for a in body.findall(f"{ns}authors/{ns}author"))
    return PaperRecord(
        source="arxiv", source_id=f"{arxiv_id}v{version}" if version else arxiv_id, arxiv_id=arxiv_id,
        arxiv_version=version, doi=doi.lower() if doi else None, title=title, authors=tuple(a for a in authors if a),
        abstract=_text(body.find(f"{ns}abstract")), published=published, updated=updated,
        categories=tuple(_text(body.find(f"{ns}categories")).split()), url=f"https://arxiv.org/abs/{arxiv_id}",
        found_via=found_via)


def split_authors(raw: str) -> tuple[str, ...]:
    """arXivRaw's author string -> names: 'A. B, C. D (MIT), and E. F' -> ('A. B', 'C. D', 'E. F')."""
    text = raw
    while re.search(r"\([^()]*\)", text):
        text = re.sub(r"\([^()]*\)", "", text)  # affiliations, innermost first
    parts = re.split(r",|\band\b", text)
    return tuple(" ".join(p.split()) for p in parts if p.strip())


def _rfc2822(value: str) -> datetime | None:
    try:
        return parsedate_to_datetime(value).astimezone(timezone.utc) if value else None
    except (TypeError, ValueError):
        return None


def _day(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value).replace(tzinfo=timezone.utc) if value else None
    except ValueError:
        return None
