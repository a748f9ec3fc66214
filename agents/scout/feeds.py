"""What a `CrawlRequested` asks for, resolved against the ledger: the source's `Feed`, the
cursor key, how the crawl stops, and how the papers it finds were found.

    feed string                  Feed                                   cursor key                     stop rule
    category:cs.CL               category cs.CL                         <source>:category:cs.CL        (by source)
    question:3                   search <the question in the source's   <source>:search:3              (by source)
                                 dialect (queries.py)>
    citations:<paper uuid>       citations <the paper's id there>       <source>:citations:<uuid>      one_shot
    references:<paper uuid>      references <the paper's id there>      <source>:references:<uuid>     one_shot
    recommendations:3            recommendations <question 3's seeds>   <source>:recommendations:3     one_shot

Stop rules (besides the feed ending and the page/result budget):
    watermark   arXiv Atom, newest first: stop at the first paper at or below the last crawl's newest
    harvest     arXiv OAI-PMH: the whole window, from the day the last harvest reached
    caught_up   other searches: stop at a page that brings nothing new
    one_shot    expansion and recommendations: taken once, up to the budget
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from agents.deps import Deps
from agents.scout.queries import query_for
from shared.errors import NotFound, PermanentError
from shared.ids import split_arxiv_id
from shared.messages import CrawlRequested
from shared.scouting import ScoutSettings
from shared.settings import Settings
from shared.sources.base import Feed

log = logging.getLogger(__name__)
Policy = Literal["watermark", "harvest", "caught_up", "one_shot"]
SEEDS = 5  # positive (and negative) examples per recommendation request
FOUND_VIA = {"citations": "citation", "references": "reference"}


def scout_settings(settings: Settings) -> ScoutSettings:
    """The scout's group (QUESTLOG_SCOUT__*); its defaults until Settings carries the group."""
    return getattr(settings, "scout", None) or ScoutSettings()


@dataclass(frozen=True)
class Crawl:
    source: str
    key: str
    feed: Feed | None  # None: nothing to ask this source (`note` says why)
    policy: Policy
    max_pages: int
    max_results: int | None = None
    found_via: str | None = None  # replaces the source's own for expansion and recommendations
    note: str = ""


def resolve(msg: CrawlRequested, deps: Deps) -> Crawl:
    """The crawl `msg` asks for. Raises PermanentError for an unknown feed or question (NotFound)."""
    kind, _, value = msg.feed.partition(":")
    name, settings = msg.source, deps.settings
    scout = scout_settings(settings)
    if name == "arxiv":
        policy: Policy = "watermark"
        pages, results = settings.arxiv.max_pages, settings.arxiv.search_results
    elif name == "arxiv_oai":
        policy, pages, results = "harvest", scout.harvest_pages, None
    else:
        policy, pages, results = "caught_up", scout.max_pages, scout.search_results
    if kind == "category":
        return Crawl(name, f"{name}:category:{value}", Feed(kind="category", value=value), policy, pages)
    if kind == "question":
        q = deps.ledger.question(_int(value, msg.feed))
        feed = Feed(kind="search", value=query_for(name, q.text), question_id=q.id)
        return Crawl(name, f"{name}:{feed.key}", feed, policy, pages, results)
    key = f"{name}:{msg.feed}"
    if kind in FOUND_VIA:
        ref, note = paper_ref(deps, name, value)
        found_via = f"{FOUND_VIA[kind]}:{value}"
        feed = Feed(kind=kind, value=ref) if ref else None
        return Crawl(name, key, feed, "one_shot", scout.max_pages, settings.expansion.max_results, found_via, note)
    if kind == "recommendations":
        qid = _int(value, msg.feed)
        deps.ledger.question(qid)
        seeds = recommendation_seeds(deps, qid)
        feed = Feed(kind="recommendations", value=seeds) if seeds else None
        return Crawl(name, key, feed, "one_shot", 1, None, f"recommendation:question:{qid}",
                     "" if seeds else "no seed paper Semantic Scholar knows")
    raise PermanentError(f"unknown feed {msg.feed!r}; expected 'category:<name>', 'question:<id>', "
                         "'citations:<paper id>', 'references:<paper id>' or 'recommendations:<question id>'")


def _int(value: str, feed: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise PermanentError(f"feed {feed!r} needs a number after the colon") from None


# -- a paper's id at another source ---------------------------------------------------------------

def known_ids(deps: Deps, paper_id: str) -> dict[str, str] | None:
    """What the ledger knows of a paper: {'s2': ..., 'openalex': ..., 'arxiv': ..., 'doi': ...}; None when
    no such paper exists (merged into another since it was planned)."""
    try:
        paper = deps.ledger.paper(paper_id)
    except NotFound:
        return None
    ids: dict[str, str] = {}
    prefix, _, rest = paper.canonical_id.partition(":")
    if prefix in ("arxiv", "doi"):
        ids[prefix] = rest
    for source, source_id in deps.ledger.paper_sources(paper_id):
        if source == "semanticscholar":
            ids.setdefault("s2", source_id)
        elif source == "openalex":
            ids.setdefault("openalex", source_id)
        elif source == "arxiv":
            ids.setdefault("arxiv", split_arxiv_id(source_id)[0])
        elif source == "crossref":
            ids.setdefault("doi", source_id)
    if "arxiv" in ids:
        ids.setdefault("doi", f"10.48550/arxiv.{ids['arxiv']}")  # arXiv's DataCite DOI, which OpenAlex knows
    return ids


def s2_ref(ids: dict[str, str]) -> str | None:
    """The id Semantic Scholar is asked by: its own paperId, else ARXIV:<id>, else the DOI. A bare DOI,
    not 'DOI:<doi>': S2 resolves both, and the recorded responses the tests replay used the bare one."""
    if ids.get("s2"):
        return ids["s2"]
    if ids.get("arxiv"):
        return f"ARXIV:{ids['arxiv']}"
    return ids.get("doi")


def paper_ref(deps: Deps, source: str, paper_id: str) -> tuple[str | None, str]:
    """(the paper's id at `source`, or None and why not)."""
    ids = known_ids(deps, paper_id)
    if ids is None:
        return None, f"no paper {paper_id} (merged into another since it was planned)"
    if source == "semanticscholar":
        ref = s2_ref(ids)
        return ref, "" if ref else "no id Semantic Scholar accepts"
    if source == "openalex":
        if ids.get("openalex"):
            return ids["openalex"], ""
        if not ids.get("doi"):
            return None, "no OpenAlex id and no DOI to look one up"
        try:  # OpenAlex citations and references need its own work id
            work = deps.sources[source].work(ids["doi"])
        except NotFound:
            return None, f"OpenAlex has no work with DOI {ids['doi']}"
        return work.openalex_id, ""
    raise PermanentError(f"{source} cannot serve citations or references")


def recommendation_seeds(deps: Deps, question_id: int) -> str:
    """A question's strongest evidence papers as Semantic Scholar ids, comma-separated, then its
    rejected ones prefixed with '-' (negative examples); '' when none has an id S2 accepts."""
    positive, negative = seed_papers(deps, question_id)
    pos = [r for p in positive if (ids := known_ids(deps, p)) and (r := s2_ref(ids))][:SEEDS]
    neg = [r for p in negative if p not in positive and (ids := known_ids(deps, p)) and (r := s2_ref(ids))][:SEEDS]
    return ",".join(pos + [f"-{r}" for r in neg]) if pos else ""


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
