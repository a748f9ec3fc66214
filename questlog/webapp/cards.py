"""An evidence link as the triage page shows it, and the filters over a question's links.

A card shows the passage once with its rationale highlighted inside it; only a rationale that is not
part of the passage (an LLM's own words) is shown apart, above it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from questlog.webapp.common import BadRequest, safe_href
from shared.ledger import EvidenceView, as_utc
from shared.ledger.workbench import ANSWER_FILTERS, STANCE_FILTERS, cite_key
from shared.questions import rationale_segments

# the CLI's --verdict choices and the ledger verdicts each keeps (rejected links only when asked for)
VERDICT_FILTERS: dict[str, tuple[str | None, ...] | None] = {
    "kept": ("accepted", None), "accepted": ("accepted",), "rejected": ("rejected",), "none": (None,), "any": None}
SAYS_FILTERS = ("", *ANSWER_FILTERS, *STANCE_FILTERS)
SORTS = ("score", "date")
DEFAULT_LIMIT, MAX_LIMIT = 100, 1000


@dataclass(frozen=True)
class Card:
    e: EvidenceView
    says: str
    href: str | None
    pdf_href: str | None
    segments: list[tuple[str, bool]]
    rationale_apart: str  # the rationale when it is not inside the passage
    new: bool
    cite: str  # "E1a2b3c4d"


def card(e: EvidenceView, new_after: datetime | None, marks: bool = True) -> Card:
    """`new_after`: links found later are marked new (None: every link is); `marks` False: none is."""
    segments = rationale_segments(e.passage, e.rationale_sentences) if e.rationale_sentences else [(e.passage, False)]
    if not any(marked for _, marked in segments) and e.rationale and e.rationale in e.passage:
        at = e.passage.index(e.rationale)
        segments = [(t, m) for t, m in ((e.passage[:at], False), (e.rationale, True),
                                        (e.passage[at + len(e.rationale):], False)) if t]
    apart = "" if any(marked for _, marked in segments) else e.rationale
    new = marks and (new_after is None or as_utc(e.found_at) > new_after)
    said = e.answer or (e.stance if e.stance in ("supports", "contradicts") else "evidence")
    return Card(e=e, says=said, href=safe_href(e.url), pdf_href=safe_href(e.pdf_url),
                segments=segments, rationale_apart=apart, new=new, cite=cite_key(e.id))


@dataclass(frozen=True)
class Filters:
    verdict: str = "kept"
    says: str = ""
    since: date | None = None
    sort: str = "score"
    q: str = ""
    limit: int = DEFAULT_LIMIT

    @property
    def found_from(self) -> datetime | None:
        return datetime(self.since.year, self.since.month, self.since.day, tzinfo=timezone.utc) if self.since else None

    @property
    def verdicts(self) -> tuple[str | None, ...] | None:
        return VERDICT_FILTERS[self.verdict]

    def query(self, **change: object) -> str:
        """The query string of these filters (defaults left out), with `change` applied."""
        values = {"verdict": self.verdict, "says": self.says, "since": self.since.isoformat() if self.since else "",
                  "sort": self.sort, "q": self.q, "limit": self.limit, **change}
        defaults = {"verdict": "kept", "says": "", "since": "", "sort": "score", "q": "", "limit": DEFAULT_LIMIT}
        return urlencode({k: v for k, v in values.items() if v != defaults[k]})


def parse_filters(params: QueryParams, default_verdict: str = "kept") -> Filters:
    """The filters of a query string; raises BadRequest naming the bad parameter."""
    verdict = params.get("verdict") or default_verdict
    if verdict not in VERDICT_FILTERS:
        raise BadRequest(f"verdict must be one of {', '.join(VERDICT_FILTERS)}; got {verdict!r}")
    says = params.get("says", "")
    if says not in SAYS_FILTERS:
        raise BadRequest(f"says must be one of {', '.join(SAYS_FILTERS[1:])}; got {says!r}")
    sort = params.get("sort") or "score"
    if sort not in SORTS:
        raise BadRequest(f"sort must be score or date; got {sort!r}")
    since = None
    if params.get("since"):
        try:
            since = date.fromisoformat(params["since"])
        except ValueError:
            raise BadRequest(f"since must be a day as YYYY-MM-DD; got {params['since']!r}") from None
    raw = params.get("limit") or str(DEFAULT_LIMIT)
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return Filters(verdict=verdict, says=says, since=since, sort=sort, q=params.get("q", "").strip()[:200],
                   limit=int(raw))
