"""The scout over every source, against replay servers on 127.0.0.1, on real SQLite ledgers.

arXiv comes from the shipped snapshot, through the Atom API and through OAI-PMH;
Semantic Scholar, OpenAlex and Crossref from their real recorded responses
(`questlog/replay/recorded.py`). No recording searches for a question's words, so
Semantic Scholar's and Crossref's searches are answered here from the real paper
objects their recordings hold, the way recorded.py answers OpenAlex's.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from agents.deps import Deps
from agents.scout.feeds import resolve
from agents.scout.graph import run
from agents.scout.plan import plan
from agents.scout.queries import arxiv_query, plain_query, variants
from questlog.replay.arxiv import ArxivReplay, compile_query, relevance
from questlog.replay.oai import OaiReplay
from questlog.replay.recorded import RecordedAPIs
from questlog.replay.server import Reply, ReplayServer, Request
from questlog.sources_report import sources_report
from shared.errors import QuestlogError, TransientError
from shared.expansion import ExpansionSettings
from shared.http import LocalRateLimiter
from shared.ids import normalize_text, passage_id
from shared.ledger import EvidenceDraft, Ledger, PassageDraft
from shared.ledger.models import PaperKeyRow, PaperRow
from shared.messages import CrawlRequested
from shared.records import PaperRecord
from shared.settings import Settings
from shared.sources.arxiv import ArxivSettings, ArxivSource, in_categories
from shared.sources.arxiv_oai import ArxivOaiSettings, ArxivOaiSource
from shared.sources.crossref import CrossrefSettings, CrossrefSource
from shared.sources.openalex import OpenAlexSettings, OpenAlexSource
from shared.sources.semanticscholar import SemanticScholarSettings, SemanticScholarSource

SAMPLES = Path(__file__).parents[2] / "shared" / "data" / "api_samples"
DAY = date(2026, 6, 23)
NOW = datetime(2026, 6, 23, 20, tzinfo=timezone.utc)
QUESTION = "What can large language models do with chemistry tools?"
FOLLOWED = ["cs.CL", "cs.LG", "cs.IR"]  # ArxivSettings' default categories: a question's search looks in them
CHEMCROW = {"arxiv:2304.05376", "doi:10.1038/s42256-024-00832-8", "s2:354dcdebf3f8b5feeed5c62090e0bc1f0c28db06",
            "openalex:W4396723768", "openalex:W4365597205"}


# -- replays ------------------------------------------------------------------------------------

class RecordedSearch:
    """Semantic Scholar's /paper/search and Crossref's /works?query= over the papers their recordings
    hold: every word of the query in the title or abstract, paged. A query that was recorded, and
    every other path, gets the recording."""

    def __init__(self, recorded: RecordedAPIs) -> None:
        self.recorded = recorded
        self.s2: dict[str, dict] = {}
        self.crossref: dict[str, dict] = {}
        for rec in recorded.recordings:
            if rec.status != 200 or not rec.file.suffix == ".json":
                continue
            body = json.loads(rec.file.read_bytes())
            if rec.host == "api.semanticscholar.org":
                items = body if isinstance(body, list) else body.get("data", [body]) if isinstance(body, dict) else []
                for p in items:
                    if isinstance(p, dict) and p.get("paperId") and p.get("title"):
                        self._keep(self.s2, p["paperId"], p)
            elif rec.host == "api.crossref.org" and isinstance(body, dict) and isinstance(body.get("message"), dict):
                for w in body["message"].get("items", [body["message"]]):
                    if isinstance(w, dict) and w.get("DOI") and w.get("title"):
                        self._keep(self.crossref, w["DOI"].lower(), w)

    @staticmethod
    def _keep(index: dict, key: str, item: dict) -> None:
        """The fullest recording of each paper (others asked for a few fields only)."""
        if len(item) > len(index.get(key, {})):
            index[key] = item

    @staticmethod
    def _hits(query: str, items, text) -> list[dict]:
        words = query.lower().split()
        return [i for i in items if all(w in text(i).lower() for w in words)]

    def _recorded(self, host: str, req: Request) -> Reply:
        return self.recorded.answer(host, replace(req, path=req.path[len(host) + 1:] or "/"))

    def semanticscholar(self, req: Request) -> Reply:
        host = "api.semanticscholar.org"
        query = req.arg("query") or ""
        if req.path.rstrip("/") != f"/{host}/graph/v1/paper/search" or self._is_recorded(host, req):
            return self._recorded(host, req)
        hits = self._hits(query, self.s2.values(), lambda p: f"{p['title']} {p.get('abstract') or ''}")
        offset, limit = int(req.arg("offset", "0")), int(req.arg("limit", "100"))
        body = {"total": len(hits), "offset": offset, "data": hits[offset:offset + limit]}
        if offset + limit < len(hits):
            body["next"] = offset + limit
        return Reply(200, json.dumps(body).encode())

    def crossref_works(self, req: Request) -> Reply:
        host = "api.crossref.org"
        if req.path.rstrip("/") != f"/{host}/works" or "query" not in req.query or self._is_recorded(host, req):
            return self._recorded(host, req)
        hits = self._hits(req.arg("query"), self.crossref.values(),
                          lambda w: f"{' '.join(w['title'])} {w.get('abstract') or ''}")
        rows = int(req.arg("rows", "20"))
        cursor = req.arg("cursor", "*")
        start = 0 if cursor == "*" else int(cursor.removeprefix("at-"))
        message = {"total-results": len(hits), "items": hits[start:start + rows], "items-per-page": rows,
                   "next-cursor": f"at-{start + rows}"}
        return Reply(200, json.dumps({"status": "ok", "message-type": "work-list", "message": message}).encode())

    def _is_recorded(self, host: str, req: Request) -> bool:
        stripped = replace(req, path=req.path[len(host) + 1:] or "/")
        return any(self.recorded._score(r, host, stripped) is not None for r in self.recorded.recordings)


@pytest.fixture(scope="module")
def apis(snapshot):
    recorded = RecordedAPIs(SAMPLES)
    arxiv = ArxivReplay(snapshot, today=DAY)
    search = RecordedSearch(recorded)
    server = ReplayServer()
    recorded.mount(server)
    server.route("/api.semanticscholar.org/graph/v1/paper/search", search.semanticscholar)
    server.route("/api.crossref.org/works", search.crossref_works)
    server.route("/api/query", arxiv)
    server.route("/oai", OaiReplay(arxiv, page_size=50))
    server.recorded, server.arxiv = recorded, arxiv
    with server:
        yield server


@pytest.fixture
def server(apis):
    apis.recorded.reset()
    apis.requests.clear()
    return apis


def make_sources(url: str, s2_prefix: str = "") -> dict:
    """Every source, pointed at the replays, with no pauses (loopback) and a clock on the snapshot's day."""
    quiet, limiter = (lambda s: None), LocalRateLimiter()
    return {
        "arxiv": ArxivSource(ArxivSettings(base_url=f"{url}/api/query", min_interval_s=0, max_attempts=1), limiter),
        "arxiv_oai": ArxivOaiSource(ArxivOaiSettings(base_url=f"{url}/oai", min_interval_s=0), limiter, sleep=quiet,
                                    now=lambda: NOW),
        "semanticscholar": SemanticScholarSource(SemanticScholarSettings(
            base_url=f"{url}{s2_prefix}/api.semanticscholar.org", min_interval_s=0, min_interval_no_key_s=0,
            page_size=50, max_attempts=2), limiter, sleep=quiet),
        "openalex": OpenAlexSource(OpenAlexSettings(base_url=f"{url}/api.openalex.org", min_interval_s=0,
                                                    page_size=25), limiter, sleep=quiet),
        "crossref": CrossrefSource(CrossrefSettings(base_url=f"{url}/api.crossref.org", min_interval_s=0),
                                   limiter, sleep=quiet),
    }


def make_deps(data_dir: Path, url: str, s2_prefix: str = "", **expansion) -> Deps:
    settings = Settings(data_dir=data_dir, ledger={"url": f"sqlite:///{data_dir / 'ledger.sqlite3'}"},
                        arxiv=ArxivSettings(categories=["cs.CL"], min_interval_s=0),
                        expansion=ExpansionSettings(**expansion))
    ledger = Ledger(settings.ledger_url)
    return Deps(settings, ledger, redis=None, overrides={"sources": make_sources(url, s2_prefix)})


@pytest.fixture
def deps(tmp_path, server):
    made = make_deps(tmp_path, server.url)
    yield made
    made.close()


def crawl(deps: Deps, *msgs: CrawlRequested) -> list[QuestlogError]:
    """Run crawls to their end as the workers would, one page per call; the errors of failing feeds."""
    queue, errors = list(msgs), []
    while queue:
        msg = queue.pop(0)
        try:
            out = run(msg, deps)
        except QuestlogError as err:
            errors.append(err)
            continue
        queue += [m for m in out if isinstance(m, CrawlRequested)]
    return errors


def crawls(*pairs: tuple[str, str]) -> list[CrawlRequested]:
    return [CrawlRequested(source=s, feed=f, requested_at=NOW) for s, f in pairs]


def keys_by_paper(ledger: Ledger) -> dict[str, set[str]]:
    with ledger.session() as s:
        out: dict[str, set[str]] = {}
        for k in s.scalars(select(PaperKeyRow)):
            out.setdefault(k.paper_id, set()).add(k.key)
        return out


def add_evidence(ledger: Ledger, question_id: int, paper: str, score: float, verdict: str | None = None) -> None:
    text = f"passage of {paper}"
    pid = passage_id(paper, 0, text)
    ledger.replace_passages(paper, [PassageDraft(0, text, 0, len(text))], [pid])
    ledger.upsert_evidence([EvidenceDraft(question_id, pid, paper, score, {"minilm": score}, "passages", "minilm",
                                          "test")])
    if verdict:
        ledger.set_verdict(ledger.evidence(question_id)[0].id, verdict)


# -- one record per real-world paper --------------------------------------------------------------

def test_a_crawl_across_every_source_gives_one_record_per_real_world_paper(deps, server, snapshot):
    q = deps.ledger.add_question(QUESTION)
    errors = crawl(deps, *crawls(("arxiv", "category:cs.CL"), ("arxiv_oai", "category:cs.CL"),
                                 *((s, f"question:{q.id}") for s in ("arxiv", "semanticscholar", "openalex",
                                                                     "crossref"))))
    assert errors == []
    visible = [p for p in snapshot if p.listing_date <= DAY]
    query = in_categories(arxiv_query(QUESTION, ranked=True), FOLLOWED)
    pred = compile_query(query)
    # a question's first search: one Atom page of 100 in arXiv's relevance order, single words OR-ed in
    expected_arxiv = ({p.arxiv_id for p in visible if "cs.CL" in p.categories}
                      | {p.arxiv_id for p in relevance(query, [p for p in visible if pred(p)], visible)[:100]})
    papers = keys_by_paper(deps.ledger)
    arxiv_keys = [k for keys in papers.values() for k in keys if k.startswith("arxiv:")]
    assert sorted(arxiv_keys) == sorted(f"arxiv:{i}" for i in expected_arxiv | {"2304.05376"})
    chemcrow = [p for p, keys in papers.items() if keys & CHEMCROW]
    assert len(chemcrow) == 1 and CHEMCROW <= papers[chemcrow[0]]
    assert {s for s, _ in deps.ledger.paper_sources(chemcrow[0])} == {"semanticscholar", "openalex", "crossref"}
    with deps.ledger.session() as s:
        titles = [normalize_text(t) for t in s.scalars(select(PaperRow.title))]
    assert len(titles) == len(set(titles)), "two papers with the same title"
    assert {"search:question:1"} <= set(deps.ledger.paper(chemcrow[0]).found_via)


def test_a_questions_first_arxiv_search_takes_the_best_matches_and_later_ones_the_newest(deps, server, snapshot):
    q = deps.ledger.add_question(QUESTION)
    ranked, query = (in_categories(q, FOLLOWED) for q in (arxiv_query(QUESTION, ranked=True), arxiv_query(QUESTION)))
    visible = [p for p in snapshot if p.listing_date <= DAY]
    matches = [p for p in visible if compile_query(ranked)(p)]
    best = relevance(ranked, matches, visible)[:100]
    assert {p.arxiv_id for p in best} != {p.arxiv_id for p in matches[:100]}, "the orders must differ to tell"
    assert crawl(deps, *crawls(("arxiv", f"question:{q.id}"))) == []
    found = {k.removeprefix("arxiv:") for keys in keys_by_paper(deps.ledger).values() for k in keys}
    assert {p.arxiv_id for p in best} <= found
    assert [(r.arg("sortBy"), r.arg("search_query")) for r in server.requests if r.path == "/api/query"] == [
        ("relevance", ranked)]

    server.requests.clear()
    server.arxiv.today = DAY + timedelta(days=1)
    try:
        later = CrawlRequested(source="arxiv", feed=f"question:{q.id}", requested_at=NOW + timedelta(days=1))
        assert crawl(deps, later) == []
    finally:
        server.arxiv.today = DAY
    assert {(r.arg("sortBy"), r.arg("search_query")) for r in server.requests if r.path == "/api/query"} == {
        ("submittedDate", query)}
    new = [p for p in snapshot if p.listing_date == DAY + timedelta(days=1) and compile_query(query)(p)]
    found = {k.removeprefix("arxiv:") for keys in keys_by_paper(deps.ledger).values() for k in keys}
    assert new and {p.arxiv_id for p in new} <= found, "the next day's matches come with the next search"


def test_a_questions_arxiv_search_looks_only_in_the_followed_categories_unless_told_to_search_everywhere(
        tmp_path, server, snapshot):
    visible = [p for p in snapshot if p.listing_date <= DAY]
    followed = {p.arxiv_id for p in visible if set(p.categories) & set(FOLLOWED)}
    scoped = in_categories(arxiv_query(QUESTION, ranked=True), FOLLOWED)
    best = {p.arxiv_id for p in relevance(scoped, [p for p in visible if compile_query(scoped)(p)], visible)[:100]}
    found = {}
    for scope in (None, []):
        settings = Settings(data_dir=tmp_path / str(scope), ledger={"url": f"sqlite:///{tmp_path}/{scope}.sqlite3"})
        sources = make_sources(server.url)
        sources["arxiv"] = ArxivSource(ArxivSettings(base_url=f"{server.url}/api/query", min_interval_s=0,
                                                     max_attempts=1, search_categories=scope), LocalRateLimiter())
        deps = Deps(settings, Ledger(settings.ledger_url), redis=None, overrides={"sources": sources})
        try:
            q = deps.ledger.add_question(QUESTION)
            assert crawl(deps, *crawls(("arxiv", f"question:{q.id}"))) == []
            found[str(scope)] = {k.removeprefix("arxiv:") for keys in keys_by_paper(deps.ledger).values()
                                 for k in keys if k.startswith("arxiv:")}
        finally:
            deps.close()
    assert found["None"] == best and best <= followed  # unset: the firehose's categories
    assert found["[]"] - followed, "[]: all of arXiv, where this question's best matches include other fields"


def test_a_first_search_pages_in_relevance_order_until_its_own_budget(tmp_path, server, snapshot):
    settings = Settings(data_dir=tmp_path, ledger={"url": f"sqlite:///{tmp_path / 'ledger.sqlite3'}"},
                        arxiv=ArxivSettings(min_interval_s=0, first_search_results=30))
    sources = make_sources(server.url)
    sources["arxiv"] = ArxivSource(ArxivSettings(base_url=f"{server.url}/api/query", min_interval_s=0,
                                                 page_size=20, max_attempts=1), LocalRateLimiter())
    deps = Deps(settings, Ledger(settings.ledger_url), redis=None, overrides={"sources": sources})
    try:
        q = deps.ledger.add_question(QUESTION)
        assert crawl(deps, *crawls(("arxiv", f"question:{q.id}"))) == []
        asked = [r for r in server.requests if r.path == "/api/query"]
        assert [(r.arg("sortBy"), r.arg("start")) for r in asked] == [("relevance", "0"), ("relevance", "20")]
        assert deps.ledger.counts()["papers"] == 40
    finally:
        deps.close()


def test_the_same_arxiv_paper_from_the_atom_api_and_oai_pmh_is_one_paper(deps, server, snapshot):
    crawl(deps, *crawls(("arxiv", "category:cs.CL")))
    atom_only = deps.ledger.counts()["papers"]
    crawl(deps, *crawls(("arxiv_oai", "category:cs.CL")))
    assert deps.ledger.counts()["papers"] == atom_only == len(
        [p for p in snapshot if p.listing_date <= DAY and "cs.CL" in p.categories])
    cursors = {c.key: c for c in deps.ledger.cursors()}
    assert cursors["arxiv:category:cs.CL"].papers_found == atom_only
    assert cursors["arxiv_oai:category:cs.CL"].papers_found == 0  # every record was already known
    paper = deps.ledger.papers(list(keys_by_paper(deps.ledger))[:1])[0]
    assert paper.found_via == ["firehose:cs.CL"]
    assert [s for s, _ in deps.ledger.paper_sources(paper.id)] == ["arxiv"]  # the same arXiv record, seen twice


def test_a_second_harvest_starts_from_the_newest_day_the_first_one_saw(deps, server, snapshot):
    crawl(deps, *crawls(("arxiv_oai", "category:cs.CL")))
    first = deps.ledger.cursor("arxiv_oai:category:cs.CL")
    assert first["next"] == {"from": "2026-06-22"}  # the v1 date of the day's papers: arXiv stamps them later
    server.arxiv.today = DAY + timedelta(days=1)
    try:
        crawl(deps, CrawlRequested(source="arxiv_oai", feed="category:cs.CL", requested_at=NOW + timedelta(days=1)))
    finally:
        server.arxiv.today = DAY
    first_request = next(r for r in server.requests if r.arg("verb") == "ListRecords" and r.arg("from") == "2026-06-22")
    assert first_request.arg("set") == "cs"
    assert deps.ledger.counts()["papers"] == len(
        [p for p in snapshot if p.listing_date <= DAY + timedelta(days=1) and "cs.CL" in p.categories])


# -- faults ---------------------------------------------------------------------------------------

def test_a_failing_source_is_reported_and_the_other_sources_go_on(tmp_path, server):
    deps = make_deps(tmp_path, server.url, s2_prefix="/down")  # Semantic Scholar answers 503 to everything
    q = deps.ledger.add_question(QUESTION)
    errors = crawl(deps, *crawls(*((s, f"question:{q.id}") for s in ("semanticscholar", "arxiv", "openalex"))))
    assert len(errors) == 1 and isinstance(errors[0], TransientError) and "503" in str(errors[0])
    rows = {r["name"]: r for r in sources_report(deps.settings, deps.ledger)}
    assert rows["semanticscholar"]["state"] == "failing"
    assert rows["semanticscholar"]["failing_feeds"] == [f"semanticscholar:search:{q.id}"]
    assert "503" in rows["semanticscholar"]["last_error"]
    assert rows["arxiv"]["state"] == rows["openalex"]["state"] == "ok"
    assert rows["arxiv"]["papers_found"] > 0 and rows["openalex"]["papers_found"] == 2
    deps.close()


def test_a_feed_a_source_cannot_serve_is_a_permanent_error_on_that_feed_only(deps, server):
    from shared.errors import PermanentError

    with pytest.raises(PermanentError, match="crossref cannot serve a 'category' feed"):
        run(CrawlRequested(source="crossref", feed="category:cs.CL", requested_at=NOW), deps)
    assert "cannot serve" in {c.key: c for c in deps.ledger.cursors()}["crossref:category:cs.CL"].last_error


# -- cursors --------------------------------------------------------------------------------------

def test_a_harvest_resumes_from_its_persisted_token_after_a_crash(tmp_path, server, snapshot):
    first = make_deps(tmp_path, server.url)
    out = run(CrawlRequested(source="arxiv_oai", feed="category:cs.CL", requested_at=NOW), first)
    following = [m for m in out if isinstance(m, CrawlRequested)]
    assert [m.page for m in following] == [1]
    token = first.ledger.cursor("arxiv_oai:category:cs.CL")["resume"]["cursor"]["token"]
    first.close()  # the worker dies here; the page-1 message is delivered again to another one

    second = make_deps(tmp_path, server.url)
    out = run(following[0], second)
    assert set(server.requests[-1].query) == {"verb", "resumptionToken"}
    assert server.requests[-1].arg("resumptionToken") == token
    again = run(following[0], second)  # the same page delivered twice: no request, the crawl passes on
    assert len([r for r in server.requests if r.arg("resumptionToken") == token]) == 1
    assert [m.page for m in again if isinstance(m, CrawlRequested)] == [2]
    assert crawl(second, *[m for m in out if isinstance(m, CrawlRequested)]) == []
    assert second.ledger.counts()["papers"] == len(
        [p for p in snapshot if p.listing_date <= DAY and "cs.CL" in p.categories])
    requests = len(server.requests)
    assert run(CrawlRequested(source="arxiv_oai", feed="category:cs.CL", requested_at=NOW), second) == []
    assert len(server.requests) == requests  # that crawl has finished: a late duplicate asks nothing
    second.close()


def test_a_search_stops_at_a_page_that_brings_nothing_new_and_next_time_asks_for_recent_papers(deps, server):
    q = deps.ledger.add_question(QUESTION)
    deps.overrides["sources"]["openalex"].settings.page_size = 1  # one work a page
    crawl(deps, *crawls(("semanticscholar", f"question:{q.id}"), ("crossref", f"question:{q.id}")))
    before = len(server.requests)
    crawl(deps, *crawls(("openalex", f"question:{q.id}")))
    asked = [r for r in server.requests[before:] if r.path.startswith("/api.openalex.org")]
    assert len(asked) == 1  # its first work is the paper S2 and Crossref had found: nothing new, no page 2
    assert asked[0].arg("search") == "large language models chemistry tools"
    assert deps.ledger.cursor(f"openalex:search:{q.id}")["next"] == {"from_date": "2026-05-24"}  # 30 days back
    crawl(deps, CrawlRequested(source="openalex", feed=f"question:{q.id}", requested_at=NOW + timedelta(hours=6)))
    assert "from_publication_date:2026-05-24" in server.requests[-1].arg("filter")


def test_each_source_gets_the_questions_search_in_its_own_dialect(deps):
    q = deps.ledger.add_question(QUESTION)
    asked = {s: resolve(CrawlRequested(source=s, feed=f"question:{q.id}", requested_at=NOW), deps).feed.value
             for s in ("arxiv", "semanticscholar", "openalex", "crossref")}
    assert asked["arxiv"].startswith('all:"large language models" OR all:"large language" OR ')
    assert 'all:"large language model"' in asked["arxiv"] and 'all:"chemistry tool"' in asked["arxiv"]
    assert asked["semanticscholar"] == asked["openalex"] == asked["crossref"] == "large language models chemistry tools"


def test_key_phrases_come_with_their_singular_plural_and_hyphenated_spellings():
    assert variants("embedding dimensions") == ["embedding dimensions", "embedding dimension"]
    assert variants("domain shift") == ["domain shift", "domain shifts"]
    assert variants("pre-training") == ["pre-training", "pre training", "pretraining"]
    assert variants("few shot learning") == ["few shot learning", "few-shot learning", "fewshot learning"]
    assert variants("predicted before") == ["predicted before"]
    assert plain_query("How many embedding dimensions does it take to represent a given amount of text?") == \
        "embedding dimensions represent"



def test_a_ranked_arxiv_query_ors_in_the_key_words_after_the_phrases_and_a_newest_first_one_does_not():
    question = "How many embedding dimensions does it take to represent a given amount of text?"
    assert arxiv_query(question) == 'all:"embedding dimensions" OR all:"embedding dimension"'
    assert arxiv_query(question, ranked=True) == (
        'all:"embedding dimensions" OR all:"embedding dimension" OR all:dimensions OR all:embedding OR all:represent'
        ' OR all:text')


def test_a_ranked_arxiv_query_ors_in_at_most_eight_single_words_the_longest_first():
    question = ("Does curriculum ordering of pretraining documents change downstream multilingual reasoning, "
                "factual recall, calibration and robustness?")
    words = [c.removeprefix("all:") for c in arxiv_query(question, ranked=True).split(" OR ") if '"' not in c]
    assert len(words) == 8
    assert words[:4] == ["multilingual", "calibration", "pretraining", "curriculum"]
    assert not {"ordering", "factual", "change", "recall"} & set(words)  # the shortest of twelve are left out

# -- expansion ------------------------------------------------------------------------------------

def test_citation_expansion_finds_a_paper_outside_the_search_terms(tmp_path, server):
    deps = make_deps(tmp_path, server.url, sources=["openalex"], directions=["citations"])
    q = deps.ledger.add_question("Which reaction conditions make an organic synthesis reproducible?")
    seed = deps.ledger.upsert_paper(PaperRecord(source="openalex", source_id="W1964666522",
                                                openalex_id="W1964666522", title="A paper ChemCrow cites",
                                                found_via="search:question:1")).paper_id
    add_evidence(deps.ledger, q.id, seed, score=0.2, verdict="accepted")  # weak, but the user accepted it
    planned = plan(deps, NOW)
    assert [(m.source, m.feed) for m in planned if m.feed.startswith("citations")] == [("openalex",
                                                                                         f"citations:{seed}")]
    assert crawl(deps, *[m for m in planned if m.feed.startswith("citations")]) == []
    found = [p for p in deps.ledger.papers(list(keys_by_paper(deps.ledger))) if p.id != seed]
    assert [(p.title, p.found_via) for p in found] == [
        ("Augmenting large language models with chemistry tools", [f"citation:{seed}"])]
    assert not set(normalize_text(found[0].title).split()) & set(normalize_text(q.text).split())
    assert deps.ledger.cursor(f"expansion:{seed}")["depth"] == 0
    assert [m for m in plan(deps, NOW + timedelta(hours=1)) if seed in m.feed] == []  # expanded once
    deps.close()


def test_references_of_strong_evidence_are_followed_one_hop_and_no_further(tmp_path, server):
    deps = make_deps(tmp_path, server.url, sources=["semanticscholar"], directions=["references"], min_score=0.5)
    q = deps.ledger.add_question("Does microcredit reduce poverty?")
    seed = deps.ledger.upsert_paper(PaperRecord(  # known by its DOI only: S2 is asked by DOI
        source="test", source_id="banerjee-2015", doi="10.2139/ssrn.2250500", found_via="search:question:1",
        title="The Miracle of Microfinance? Evidence from a Randomized Evaluation")).paper_id
    add_evidence(deps.ledger, q.id, seed, score=0.8)
    assert crawl(deps, *[m for m in plan(deps, NOW) if "references" in m.feed]) == []
    assert any(r.path.endswith("/paper/10.2139/ssrn.2250500/references") for r in server.requests)
    found = [p for p in deps.ledger.papers(list(keys_by_paper(deps.ledger))) if p.id != seed]
    assert len(found) == 67 - deps.overrides["sources"]["semanticscholar"].unresolved
    assert {tuple(p.found_via) for p in found} == {(f"reference:{seed}",)}
    child = found[0].id
    add_evidence(deps.ledger, q.id, child, score=0.9)
    assert [m for m in plan(deps, NOW + timedelta(hours=1)) if child in m.feed] == []  # depth 1: no further
    deps.settings.expansion.depth = 2
    assert [m.feed for m in plan(deps, NOW + timedelta(hours=2)) if child in m.feed] == [f"references:{child}"]
    assert deps.ledger.cursor(f"expansion:{child}")["depth"] == 1
    deps.close()


def test_recommendations_are_asked_from_a_questions_seed_papers_when_they_change(tmp_path, server):
    deps = make_deps(tmp_path, server.url, sources=["semanticscholar"], directions=["references"])
    q = deps.ledger.add_question("Does microcredit reduce poverty?")
    seed = deps.ledger.upsert_paper(PaperRecord(
        source="test", source_id="banerjee-2015", doi="10.2139/ssrn.2250500", found_via="search:question:1",
        title="The Miracle of Microfinance? Evidence from a Randomized Evaluation")).paper_id
    add_evidence(deps.ledger, q.id, seed, score=0.8)
    wanted = [m for m in plan(deps, NOW) if m.feed.startswith("recommendations")]
    assert [(m.source, m.feed) for m in wanted] == [("semanticscholar", f"recommendations:{q.id}")]
    deps.overrides["sources"]["semanticscholar"].settings.page_size = 100  # as recorded: limit=100
    assert crawl(deps, *wanted) == []
    assert any("/recommendations/v1/papers/forpaper/10.2139/ssrn.2250500" in r.path for r in server.requests)
    found = [p for p in deps.ledger.papers(list(keys_by_paper(deps.ledger))) if p.id != seed]
    assert found and {tuple(p.found_via) for p in found} == {(f"recommendation:question:{q.id}",)}
    assert [m for m in plan(deps, NOW + timedelta(hours=1)) if m.feed.startswith("recommendations")] == []
    deps.close()


# -- the plan -------------------------------------------------------------------------------------

def test_a_tick_plans_the_firehose_and_each_questions_search_on_every_source_that_serves_them(deps):
    q = deps.ledger.add_question(QUESTION)
    planned = {(m.source, m.feed) for m in plan(deps, NOW)}
    assert planned == {("arxiv", "category:cs.CL"), ("arxiv_oai", "category:cs.CL"),
                       ("arxiv", f"question:{q.id}"), ("semanticscholar", f"question:{q.id}"),
                       ("openalex", f"question:{q.id}")}  # Crossref's search is off by default


def test_a_feed_is_planned_again_once_its_sources_interval_has_passed(deps, server):
    crawl(deps, *crawls(("arxiv", "category:cs.CL"), ("arxiv_oai", "category:cs.CL")))
    soon = {(m.source, m.feed) for m in plan(deps, datetime.now(timezone.utc) + timedelta(hours=1))}
    assert ("arxiv", "category:cs.CL") in soon and ("arxiv_oai", "category:cs.CL") not in soon  # OAI: daily
    later = {(m.source, m.feed) for m in plan(deps, datetime.now(timezone.utc) + timedelta(days=1, minutes=1))}
    assert ("arxiv_oai", "category:cs.CL") in later


# -- through the real worker stack ------------------------------------------------------------------

@pytest.mark.slow
def test_a_multi_page_crawl_through_the_worker_stack_delivered_twice_stores_each_paper_once(stack, arxiv_server):
    from tests.conftest import drain

    msg = CrawlRequested(source="arxiv", feed="category:cs.AI", requested_at=datetime.now(timezone.utc))
    stack.pipe.send([msg, msg])
    drain(stack)
    pages = [r for r in arxiv_server.requests if "cs.AI" in (r.arg("search_query") or "")]
    assert sorted(int(r.arg("start")) for r in pages) == [0, 100]  # each page fetched once, from its cursor
    cursor = stack.ledger.cursor("arxiv:category:cs.AI")
    assert "resume" not in cursor and cursor["last_request"] and cursor["newest"]
    expected = {f"arxiv:{p.arxiv_id}" for p in arxiv_server.replay.visible() if "cs.AI" in p.categories}
    with stack.ledger.session() as s:
        ai = [p for p in s.scalars(select(PaperRow)) if p.canonical_id in expected]
    assert len(ai) == len(expected) == 169
    stack.pipe.send([msg])  # a third delivery of a finished crawl asks nothing
    drain(stack)
    assert len([r for r in arxiv_server.requests if "cs.AI" in (r.arg("search_query") or "")]) == 2
    row = next(r for r in sources_report(stack.settings, stack.ledger) if r["name"] == "arxiv")
    assert row["enabled"] and row["papers_found"] > 0
    assert not [d for d in stack.ledger.dead_letters() if "cs.AI" in str(d.payload)]
    assert not stack.ledger.papers_without_passages([p.id for p in ai])  # the reader got every one
