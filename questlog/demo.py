"""`questlog demo`: the real distributed pipeline, offline, against a replayed arXiv snapshot.

A loopback server replays the shipped snapshot (real arXiv cs.* papers, CC0
metadata) through two of arXiv's interfaces, one listing day at a time: the
categories are harvested through OAI-PMH (arXivRaw records, resumption tokens)
and the questions are searched through the Atom API; a paper both find is one
paper. Older papers (the shipped archive: what the questions' searches reach in
arXiv's history, `scripts/make_demo_snapshot.py`) are listed before the first
day, so only a search finds them, as a question's first search finds a field's
older work on real arXiv. Real Redis, real worker processes and beat run the pipeline; the demo asks
three questions, crawls day by day, then prints each question's evidence and
digest. Its data lives in its own directory; a second run resumes and duplicates
nothing.
"""

from __future__ import annotations

import json
import os
import time
from datetime import date, datetime, timezone
from pathlib import Path

from rich.console import Console

from questlog.replay.arxiv import ARCHIVE, ArxivReplay, listing_days, load_snapshot
from questlog.replay.oai import OaiReplay
from questlog.replay.pdf import PdfReplay
from questlog.replay.server import ReplayServer

QUESTIONS = (
    "What is a rigorous definition of a domain in NLP, and how can domain shift be measured?",
    "Can downstream task performance be predicted before training, from the task's data distribution?",
    "How many embedding dimensions does it take to represent a given amount of text?",
)
CATEGORIES = ["cs.CL", "cs.IR", "cs.LG"]


def demo_env(data_dir: Path, replay_url: str, first_day: date) -> dict[str, str]:
    return {
        "QUESTLOG_DATA_DIR": str(data_dir.resolve()),
        "QUESTLOG_ARXIV__BASE_URL": f"{replay_url}/api/query",
        "QUESTLOG_ARXIV__MIN_INTERVAL_S": "0",  # our own loopback replay; real arXiv keeps 3 s
        "QUESTLOG_ARXIV__CATEGORIES": "[]",  # the Atom API serves the searches; OAI-PMH the categories
        "QUESTLOG_ARXIV__SEARCH_CATEGORIES": json.dumps(CATEGORIES),  # searched within the harvested ones
        "QUESTLOG_ARXIV_OAI__BASE_URL": f"{replay_url}/oai",
        "QUESTLOG_ARXIV_OAI__MIN_INTERVAL_S": "0",
        # full text is fetched from the replay too: it holds no PDFs, so each fetch is recorded unavailable
        "QUESTLOG_FULLTEXT__ARXIV_PDF_URL": f"{replay_url}/pdf/{{id}}",
        "QUESTLOG_FULLTEXT__MIN_INTERVAL_S": "0",
        # the snapshot's days lie in the past: the first harvest reaches back to them
        "QUESTLOG_ARXIV_OAI__LOOKBACK_DAYS": str((datetime.now(timezone.utc).date() - first_day).days + 1),
        "QUESTLOG_SEMANTICSCHOLAR__ENABLED": "false",  # offline: only arXiv is replayed
        "QUESTLOG_OPENALEX__ENABLED": "false",
        "QUESTLOG_CROSSREF__ENABLED": "false",
        "QUESTLOG_SCHEDULE__CRAWL_EVERY_S": "86400",  # the demo drives the days itself
        "QUESTLOG_SCHEDULE__DIGEST_EVERY_S": "86400",
        "QUESTLOG_DIGEST__CONSOLE": "false",
    }


def run_demo(data_dir: Path, days: int, out: Console) -> int:
    """Returns the exit code: 0, or 1 when some work was dead-lettered or a question was never searched.
    A question with no evidence is an answer, not a failure: the demo's few hundred papers may hold none."""
    from questlog.client import Pipeline
    from questlog.stack import Stack
    from shared.errors import PermanentError
    from shared.ledger import Ledger
    from shared.messages import CrawlRequested, EmbedRequested
    from shared.settings import Settings

    started = time.monotonic()
    days = max(2, days)
    data_dir.mkdir(parents=True, exist_ok=True)
    listed = load_snapshot()
    day_list = listing_days(listed)[:days]
    papers = sorted(listed + load_snapshot(ARCHIVE), key=lambda p: (p.published, p.arxiv_id), reverse=True)
    replay = ArxivReplay(papers)
    with ReplayServer() as server:
        server.route("/api/query", replay)
        server.route("/oai", OaiReplay(replay))
        server.route("/pdf", PdfReplay())
        env = demo_env(data_dir, server.url, day_list[0])
        os.environ.update(env)
        settings = Settings()
        ledger = Ledger(settings.ledger_url)
        out.print(f"[bold]questlog demo[/bold]: data in {data_dir}, arXiv replay (Atom, OAI-PMH) at {server.url} "
                  f"({len(listed)} papers listed {day_list[0]} .. {day_list[-1]}, {len(papers) - len(listed)} older)")
        with Stack(settings, flower=False, extra_env=env) as stack:
            out.print(f"stack up: broker {stack.broker_url}, workers io/embed/vector, beat")
            pipe = Pipeline(settings, stack.broker_url)
            known = {q.text: q for q in ledger.questions()}
            for text in QUESTIONS:
                if text not in known:
                    try:
                        q = ledger.add_question(text)
                        out.print(f"asked Q{q.id}: {text}")
                    except PermanentError as e:
                        out.print(f"[yellow]{e}[/yellow]")
            pending = [str(q.id) for q in ledger.questions(status="open") if q.indexed_at is None]
            if pending:
                pipe.send([EmbedRequested(target="question", ids=tuple(pending))])
            for day in day_list:
                replay.today = day
                out.print(f"[bold]listing day {day}[/bold]: harvesting {', '.join(CATEGORIES)} (OAI-PMH) and "
                          "the questions' searches (Atom API)")
                # a harvest is daily and the demo's days pass in minutes: it asks for each day's itself
                now = datetime.now(timezone.utc)
                pipe.send([CrawlRequested(source="arxiv_oai", feed=f"category:{c}", requested_at=now)
                           for c in CATEGORIES])
                pipe.tick("questlog.scout.tick")
                _wait(pipe, stack, out)
                c = ledger.counts()
                out.print(f"  papers {c['papers']}  passages indexed {c['passages_indexed']}  evidence {c['evidence']}"
                          f"  dead letters {c['dead_letters']}")
            pipe.tick("questlog.digest.tick")
            _wait(pipe, stack, out)
            pipe.close()
        code = _print_results(ledger, out)
        ledger.close()
    out.print(f"demo finished in {time.monotonic() - started:.0f} s")
    return code


def _wait(pipe, stack, out: Console) -> None:
    def progress(depths: dict[str, int]) -> None:
        dead = stack.dead()
        if dead:
            raise RuntimeError(f"{', '.join(c.name for c in dead)} stopped; see {dead[0].log}")

    if not pipe.wait_idle(timeout_s=1200, progress=progress):
        raise RuntimeError("the pipeline did not drain in 20 minutes")


def _print_results(ledger, out: Console) -> int:
    from shared.questions import question_kind

    unsearched = 0
    papers = ledger.counts()["papers"]
    for q in ledger.questions():
        items = ledger.evidence(q.id, limit=5)
        total = len(ledger.evidence(q.id))
        if total:
            out.print(f"\nQ{q.id} {q.text}\n  {total} evidence link{'' if total == 1 else 's'}; best:", markup=False, highlight=False)
        else:
            out.print(f"\nQ{q.id} {q.text}\n  no evidence yet: none of the {papers} papers in the library reached "
                      "the evidence judge's bar", markup=False, highlight=False)
        kind = question_kind(q.text)
        for e in items:
            label = {"yesno": f" [{e.answer}]", "claim": f" [{e.stance}]"}.get(kind, "")
            out.print(f"   {e.score:.2f}{label} {e.paper_key}  {e.title[:90]}", markup=False, highlight=False)
            if e.rationale:
                out.print(f"        \u201c{e.rationale[:240]}\u201d", markup=False, highlight=False)
        unsearched += q.indexed_at is None
        digests = [d for d in ledger.digests(q.id) if d.status == "sent"]
        if digests:
            out.print(f"  latest digest ({len(digests)} sent so far, {digests[-1].items} paper{'' if digests[-1].items == 1 else 's'}):")
            out.print("    " + digests[-1].body.replace("\n", "\n    ")[:1500], markup=False, highlight=False,
                      soft_wrap=True)
    dead = ledger.counts()["dead_letters"]
    if dead or unsearched:
        out.print(f"[red]{dead} dead letter(s), {unsearched} question(s) never searched[/red] (questlog status)")
    return 1 if dead or unsearched else 0

