"""Parse arXiv API Atom feeds (https://info.arxiv.org/help/api/user-manual.html).

XML goes through defusedxml, so entity bombs and external entities are refused.
A feed that arXiv uses to report an error (an entry whose id is under
/api/errors) raises PermanentError with arXiv's message. A single malformed
entry is skipped and reported in `AtomFeed.skipped`; the rest of the page goes on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from shared.errors import PermanentError
from shared.ids import split_arxiv_id
from shared.records import PaperRecord

NS = {"a": "http://www.w3.org/2005/Atom", "os": "http://a9.com/-/spec/opensearch/1.1/",
      "arxiv": "http://arxiv.org/schemas/atom"}


@dataclass
class AtomFeed:
    records: list[PaperRecord]
    total: int
    start: int
    per_page: int
    skipped: list[str] = field(default_factory=list)


def _text(el: Element | None) -> str:
    return " ".join((el.text or "").split()) if el is not None else ""


def _date(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


def parse_feed(body: bytes, found_via: str, where: str = "arXiv") -> AtomFeed:
    """Parse one Atom page. Raises PermanentError for an unparseable feed or an arXiv error feed."""
    try:
        root = fromstring(body)
    except (ParseError, DefusedXmlException, ValueError) as err:
        raise PermanentError(f"{where}: unparseable Atom feed: {type(err).__name__}: {err}") from err
    if root.tag != f"{{{NS['a']}}}feed":
        raise PermanentError(f"{where}: not an Atom feed (root element {root.tag!r})")

    def number(name: str) -> int:
        try:
            return int(_text(root.find(f"os:{name}", NS)) or 0)
        except ValueError:
            return 0

    feed = AtomFeed([], number("totalResults"), number("startIndex"), number("itemsPerPage"))
    for entry in root.findall("a:entry", NS):
        raw_id = _text(entry.find("a:id", NS))
        if "/api/errors" in raw_id:
            raise PermanentError(f"{where}: arXiv reported an error: {_text(entry.find('a:summary', NS))}")
        try:
            feed.records.append(_record(entry, raw_id, found_via))
        except ValueError as err:
            feed.skipped.append(f"{where}: skipped entry {raw_id or '(no id)'}: {err}")
    return feed


def _record(entry: Element, raw_id: str, found_via: str) -> PaperRecord:
    arxiv_id, version = split_arxiv_id(raw_id)
    title = _text(entry.find("a:title", NS))
    if not title:
        raise ValueError("entry has no title")
    authors = tuple(_text(a.find("a:name", NS)) for a in entry.findall("a:author", NS))
    cats = [c.get("term", "") for c in entry.findall("a:category", NS)]
    primary = entry.find("arxiv:primary_category", NS)
    if primary is not None and primary.get("term") in cats:
        cats.remove(primary.get("term"))
        cats.insert(0, primary.get("term"))
    doi = _text(entry.find("arxiv:doi", NS)) or None
    return PaperRecord(
        source="arxiv", source_id=f"{arxiv_id}v{version}" if version else arxiv_id, arxiv_id=arxiv_id,
        arxiv_version=version, doi=doi.lower() if doi else None, title=title,
        authors=tuple(a for a in authors if a), abstract=_text(entry.find("a:summary", NS)),
        published=_date(_text(entry.find("a:published", NS))), updated=_date(_text(entry.find("a:updated", NS))),
        categories=tuple(c for c in cats if c), url=f"https://arxiv.org/abs/{arxiv_id}", found_via=found_via)
