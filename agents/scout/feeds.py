"""What a `CrawlRequested` asks for, resolved against the ledger and the source's class: the
`Feed`, the cursor key, how the crawl stops, and how the papers it finds were found.

    feed string                  Feed                                   cursor key                     stop rule
    category:cs.CL               category cs.CL                         <source>:category:cs.CL        (by source)
    question:3                   search <the question in the source's   <source>:search:3              (by source)
                                 dialect (queries.py)>
    citations:<paper uuid>       citations <the paper's id there>       <source>:citations:<uuid>      (by source)
    references:<paper uuid>      references <the paper's id there>      <source>:references:<uuid>     (by source)
    recommendations:3            recommendations <question 3's seeds>   <source>:recommendations:3     (by source)

The source class says which feed kinds it serves and the stop rule of each (`Source.feeds`); besides
the feed ending and the page/result budget:
    watermark   newest first (arXiv Atom): stop at the first paper at or below the last crawl's newest
    harvest     the whole window, from the day the last harvest reached (arXiv OAI-PMH)
    caught_up   stop at a page that brings nothing new (searches)
    one_shot    taken once, up to the budget (expansion and recommendations)
A feed kind the source does not serve is a PermanentError recorded on that feed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import get_args

from agents.deps import Deps
from agents.scout.queries import query_for
from shared.errors import NotFound, PermanentError
from shared.messages import CrawlRequested
from shared.sources.base import Feed, FeedKind, Source, StopRule
from shared.sources.registry import source_class

log = logging.getLogger(__name__)
SEEDS = 5  # positive (and negative) examples per recommendation request
FOUND_VIA = {"citations": "citation", "references": "reference"}


class NotServed(PermanentError):
    """The source does not serve this kind of feed; `key` is the feed's cursor key, where it is recorded."""

    def __init__(self, message: str, key: str) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class Crawl:
    source: str
    key: str
    feed: Feed | None  # None: nothing to ask this source (`note` says why)
    policy: StopRule
    max_pages: int
    max_results: int | None = None
    found_via: str | None = None  # replaces the source's own for expansion and recommendations
    note: str = ""


def resolve(msg: CrawlRequested, deps: Deps) -> Crawl:
    """The crawl `msg` asks for. Raises NotServed for a feed kind the source does not serve, and
    PermanentError for an unknown feed, source or question (NotFound)."""
    kind, _, value = msg.feed.partition(":")
    name, settings = msg.source, deps.settings
    cls = source_class(name)
    wanted = "search" if kind == "question" else kind
    if wanted not in get_args(FeedKind):
        raise PermanentError(f"unknown feed {msg.feed!r}; expected 'category:<name>', 'question:<id>', "
                             "'citations:<paper id>', 'references:<paper id>' or 'recommendations:<question id>'")
    key = f"{name}:{wanted}:{value}"
    if not cls.serves(wanted):
        raise NotServed(f"{name} cannot serve a {wanted!r} feed", key)
    policy = cls.feeds[wanted]
    pages, results = cls.budget(settings)
    if kind == "category":
        return Crawl(name, key, Feed(kind="category", value=value), policy, pages)
    if kind == "question":
        q = deps.ledger.question(_int(value, msg.feed))
        feed = Feed(kind="search", value=query_for(cls.query_dialect, q.text), question_id=q.id)
        if policy == "watermark" and _first_by_relevance(deps, cls, f"{name}:{feed.key}"):
            feed = feed.model_copy(update={"order": "relevance",
                                           "value": query_for(cls.query_dialect, q.text, ranked=True)})
            results = getattr(cls.settings_of(settings), "first_search_results", results)
        return Crawl(name, f"{name}:{feed.key}", feed, policy, pages, results)
    if kind in FOUND_VIA:
        ids = known_ids(deps, value)
        ref, note = deps.sources[name].find_paper(ids) if ids is not None else (
            None, f"no paper {value} (merged into another since it was planned)")
        feed = Feed(kind=kind, value=ref) if ref else None
        return Crawl(name, key, feed, policy, settings.scout.max_pages, settings.expansion.max_results,
                     f"{FOUND_VIA[kind]}:{value}", note)
    qid = _int(value, msg.feed)  # recommendations
    deps.ledger.question(qid)
    seeds = recommendation_seeds(deps, cls, qid)
    feed = Feed(kind="recommendations", value=seeds) if seeds else None
    return Crawl(name, key, feed, policy, 1, None, f"recommendation:question:{qid}",
                 "" if seeds else f"no seed paper {cls.label} knows")


def _first_by_relevance(deps: Deps, cls: type[Source], key: str) -> bool:
    """Whether this search runs in relevance order: the source's `first_search` says so and no crawl of
    it has set a watermark yet (so the pages of one first search, and its retries, keep that order)."""
    wanted = getattr(cls.settings_of(deps.settings), "first_search", "newest")
    return wanted == "relevance" and not deps.ledger.cursor(key).get("newest")


def _int(value: str, feed: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise PermanentError(f"feed {feed!r} needs a number after the colon") from None


# -- a paper's id at another source ---------------------------------------------------------------

def known_ids(deps: Deps, paper_id: str) -> dict[str, str] | None:
    """What the ledger knows of a paper, by namespace: {'arxiv': ..., 'doi': ..., '<source>': its id
    there}, each source's records read by its class (`Source.record_ids`); None when no such paper
    exists (merged into another since it was planned)."""
    try:
        paper = deps.ledger.paper(paper_id)
    except NotFound:
        return None
    ids: dict[str, str] = {}
    prefix, _, rest = paper.canonical_id.partition(":")
    if prefix in ("arxiv", "doi"):
        ids[prefix] = rest
    for source, source_id in deps.ledger.paper_sources(paper_id):
        try:
            cls = source_class(source)
        except PermanentError:
            continue  # a record no source made: a PDF the user added, an import
        for namespace, known in cls.record_ids(source_id).items():
            ids.setdefault(namespace, known)
    if "arxiv" in ids:
        ids.setdefault("doi", f"10.48550/arxiv.{ids['arxiv']}")  # arXiv's DataCite DOI, which OpenAlex knows
    return ids


def recommendation_seeds(deps: Deps, source: type[Source], question_id: int) -> str:
    """A question's strongest evidence papers as ids of `source`, comma-separated, then its rejected
    ones prefixed with '-' (negative examples); '' when none has an id the source accepts."""
    positive, negative = seed_papers(deps, question_id)
    pos = [r for p in positive if (ids := known_ids(deps, p)) and (r := source.paper_ref(ids))][:SEEDS]
    neg = [r for p in negative if p not in positive and (ids := known_ids(deps, p)) and (r := source.paper_ref(ids))]
    return ",".join(pos + [f"-{r}" for r in neg[:SEEDS]]) if pos else ""


def seed_papers(deps: Deps, question_id: int) -> tuple[list[str], list[str]]:
    """(papers of evidence strong enough to expand, best first; papers of rejected evidence)."""
    strong, rejected = ranked_evidence(deps, question_id)
    return [p for *_, p in strong], rejected


def ranked_evidence(deps: Deps, question_id: int) -> tuple[list[tuple[bool, float, str]], list[str]]:
    """A question's evidence strong enough to expand as (not accepted, -score, paper id), best first,
    one per paper: accepted by the user (with follow_accepted), or scoring at least min_score; and
    the papers of its rejected evidence."""
    exp = deps.settings.expansion
    strong: dict[str, tuple[bool, float, str]] = {}
    rejected: list[str] = []
    for e in deps.ledger.evidence(question_id):
        if e.verdict == "rejected":
            rejected.append(e.paper_id)
        elif e.score >= exp.min_score or (exp.follow_accepted and e.verdict == "accepted"):
            rank = (e.verdict != "accepted", -e.score, e.paper_id)
            strong[e.paper_id] = min(rank, strong.get(e.paper_id, rank))
    return sorted(strong.values()), list(dict.fromkeys(rejected))
