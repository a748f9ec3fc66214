"""The crawls of one beat tick, over every enabled source, as each source's class describes it.

    firehose     each category a source crawls (`Source.firehose`): arXiv's through the Atom API
                 every tick (newest first, to the watermark) and through OAI-PMH once a day (the
                 day's harvest, new versions too)
    searches     each open question, on every enabled source of QUESTLOG_SCOUT__SEARCH_SOURCES
                 that serves searches
    expansion    citations and references, one hop, of the papers of strong or accepted evidence
                 that were not expanded yet (QUESTLOG_EXPANSION__*), strongest first, within budget,
                 on each expansion source, in each direction it serves
    recommend    recommendations (Semantic Scholar's) for each question whose seed papers changed

A feed is crawled again once its source's interval (QUESTLOG_SCOUT__EVERY_S) has
passed since its last finished crawl; a feed that failed is tried again at the next
tick. Each expansion is recorded when planned (cursor 'expansion:<paper id>', with
the paper's depth), so a paper is expanded once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from agents.deps import Deps
from agents.scout.feeds import ranked_evidence, recommendation_seeds
from shared.errors import NotFound
from shared.messages import CrawlRequested
from shared.settings import Settings
from shared.sources.registry import source_class

EXPANSION = "expansion:"


def plan(deps: Deps, now: datetime) -> list[CrawlRequested]:
    """Every crawl due now. Reads the ledger; writes only the expansion records."""
    cursors = {c.key: c.value for c in deps.ledger.cursors()}
    questions = [q.id for q in deps.ledger.questions(status="open")]
    return (firehose(deps, now, cursors) + searches(deps, now, cursors, questions)
            + expansion(deps, now, cursors, questions) + recommendations(deps, now, cursors, questions))


def due(deps: Deps, source: str, key: str, now: datetime, cursors: dict[str, dict]) -> bool:
    """Whether the feed's last finished crawl is older than its source's interval (or it never finished,
    or a harvest stopped at its budget waits to go on)."""
    cursor = cursors.get(key) or {}
    if (cursor.get("next") or {}).get("token") or not cursor.get("finished_at"):
        return True
    every = deps.settings.scout.every_s.get(source, 0.0)
    return (now - datetime.fromisoformat(cursor["finished_at"])).total_seconds() >= every


def firehose(deps: Deps, now: datetime, cursors: dict[str, dict]) -> list[CrawlRequested]:
    feeds = [(s, c) for s in deps.sources if (cls := source_class(s)).serves("category")
             for c in cls.firehose(deps.settings)]
    return [CrawlRequested(source=s, feed=f"category:{c}", requested_at=now) for s, c in feeds
            if due(deps, s, f"{s}:category:{c}", now, cursors)]


def searches(deps: Deps, now: datetime, cursors: dict[str, dict], questions: list[int]) -> list[CrawlRequested]:
    return [m for q in questions for m in question_crawls(deps.settings, list(deps.sources), q, now)
            if due(deps, m.source, f"{m.source}:search:{q}", now, cursors)]


def question_crawls(settings: Settings, sources: list[str], question_id: int, now: datetime) -> list[CrawlRequested]:
    """The searches of one question on every source of `sources` (names) that runs them (for
    `questlog ask` too)."""
    wanted = settings.scout.search_sources
    return [CrawlRequested(source=s, feed=f"question:{question_id}", requested_at=now)
            for s in sources if s in wanted and source_class(s).serves("search")]


def expansion(deps: Deps, now: datetime, cursors: dict[str, dict], questions: list[int]) -> list[CrawlRequested]:
    """Citations and references of up to `budget` papers of strong evidence not expanded yet."""
    exp = deps.settings.expansion
    names = [s for s in exp.sources if s in deps.sources]
    if not exp.enabled or exp.depth < 1 or exp.budget < 1 or not names:
        return []
    expanded = {k.removeprefix(EXPANSION): v for k, v in cursors.items() if k.startswith(EXPANSION)}
    ranked = sorted(r for q in questions for r in ranked_evidence(deps, q)[0])
    msgs: list[CrawlRequested] = unfinished_expansions(deps, now, cursors, expanded)
    taken = 0
    for *_, paper in ranked:
        if taken >= exp.budget:
            break
        if paper in expanded:
            continue
        depth = paper_depth(deps, paper, expanded)
        if depth is None or depth >= exp.depth:
            continue
        new = [CrawlRequested(source=s, feed=f"{d}:{paper}", requested_at=now) for s in names
               for d in exp.directions if source_class(s).serves(d)]
        expanded[paper] = {"depth": depth, "planned_at": now.isoformat(), "crawls": [f"{m.source}:{m.feed}"
                                                                                      for m in new]}
        deps.ledger.save_cursor(f"{EXPANSION}{paper}", expanded[paper])
        msgs += new
        taken += 1
    return msgs


RESEND_AFTER = timedelta(minutes=10)  # younger crawls are probably still queued
RESENDS = 3  # a crawl that never finishes after this many re-sends is failing: its dead letters say why


def unfinished_expansions(deps: Deps, now: datetime, cursors: dict[str, dict],
                          expanded: dict[str, dict]) -> list[CrawlRequested]:
    """Expansion crawls planned (and recorded) whose crawl never finished — the tick that planned them
    died before sending, or Redis lost them — sent again, at most RESENDS times each."""
    msgs = []
    for paper, mark in expanded.items():
        planned = mark.get("resent_at") or mark.get("planned_at")
        if not planned or now - datetime.fromisoformat(planned) < RESEND_AFTER or mark.get("resends", 0) >= RESENDS:
            continue
        lost = [key for key in mark.get("crawls", []) if not (cursors.get(key) or {}).get("finished_at")]
        if not lost:
            continue
        msgs += [CrawlRequested(source=key.split(":", 1)[0], feed=key.split(":", 1)[1], requested_at=now)
                 for key in lost]
        mark = {**mark, "resends": mark.get("resends", 0) + 1, "resent_at": now.isoformat()}
        deps.ledger.save_cursor(f"{EXPANSION}{paper}", mark)
    return msgs


def paper_depth(deps: Deps, paper_id: str, expanded: dict[str, dict]) -> int | None:
    """Hops from a paper found directly (search, firehose, recommendation: 0) to this one: one more
    than the shallowest expanded paper it was found from. None for a paper that no longer exists."""
    try:
        via = deps.ledger.paper(paper_id).found_via
    except NotFound:
        return None
    parents = [v.split(":", 1)[1] for v in via if v.startswith(("citation:", "reference:"))]
    if not parents or len(parents) < len(via):
        return 0
    depths = [expanded[p].get("depth", 0) for p in parents if p in expanded]
    return 1 + min(depths) if depths else deps.settings.expansion.depth  # parent unknown: go no further


def recommendations(deps: Deps, now: datetime, cursors: dict[str, dict], questions: list[int]) -> list[CrawlRequested]:
    """Recommendations, from each expansion source that serves them, for each question whose seed papers
    changed since the last ones."""
    exp = deps.settings.expansion
    if not (exp.enabled and exp.recommendations):
        return []
    names = [s for s in exp.sources if s in deps.sources and source_class(s).serves("recommendations")]
    msgs = []
    for q in questions:
        for s in names:
            seeds = recommendation_seeds(deps, source_class(s), q)
            if seeds and (cursors.get(f"{s}:recommendations:{q}") or {}).get("seeds") != seeds:
                msgs.append(CrawlRequested(source=s, feed=f"recommendations:{q}", requested_at=now))
    return msgs
