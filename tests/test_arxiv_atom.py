"""The arXiv source against real recorded Atom responses replayed on 127.0.0.1."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from questlog.replay.server import Reply, ReplayServer
from shared.errors import PermanentError, TransientError
from shared.http import LocalRateLimiter
from shared.sources.arxiv import ArxivSettings, ArxivSource
from shared.sources.arxiv_atom import parse_feed
from shared.sources.base import Feed
from tests.conftest import SHARED

RECORDED = SHARED / "api_samples" / "arxiv_atom" / "arxivpy_2026_decoded_xml"


def recorded(name_prefix: str) -> bytes:
    return next(RECORDED.glob(f"{name_prefix}*.xml")).read_bytes()


@pytest.fixture(scope="module")
def recorded_arxiv():
    """Serves each recorded body at the query it was recorded for (search_query, id_list, start, max_results)."""
    index = [json.loads(line) for line in (RECORDED / "INDEX.jsonl").read_text().splitlines()]
    table = {}
    for row in index:
        q = parse_qs(urlsplit(row["url"]).query, keep_blank_values=True)
        key = (q["search_query"][0], q["id_list"][0], q["start"][0], q["max_results"][0])
        table[key] = (row["status"], (RECORDED / row["file"]).read_bytes())

    def handler(req):
        key = (req.arg("search_query", ""), req.arg("id_list", ""), req.arg("start", "0"), req.arg("max_results"))
        status, body = table.get(key, (404, b"not recorded"))
        return Reply(status, body, "application/atom+xml")

    with ReplayServer() as server:
        server.route("/api/query", handler)
        yield server


def test_it_parses_a_recorded_entry_with_its_version_categories_and_authors():
    feed = parse_feed(recorded("id_1605.08386"), "search")
    (rec,) = feed.records
    assert (rec.arxiv_id, rec.arxiv_version, rec.source_id) == ("1605.08386", 1, "1605.08386v1")
    assert rec.title == "Heat-bath random walks with Markov bases"
    assert rec.authors == ("Caprice Stanley", "Tobias Windisch")
    assert rec.categories[0] == "math.CO" and rec.published.year == 2016


def test_it_reads_old_style_ids_with_their_archive():
    (rec,) = parse_feed(recorded("id_astro-ph_0601001"), "search").records
    assert rec.arxiv_id == "astro-ph/0601001"


def test_an_empty_result_is_an_empty_page_not_an_error():
    feed = parse_feed(recorded("id_0000.0000"), "search")
    assert feed.records == [] and feed.total == 0


def test_an_arxiv_error_feed_raises_a_permanent_error_with_arxivs_message():
    with pytest.raises(PermanentError, match="incorrect id format for abc"):
        parse_feed(recorded("id_abc"), "search")


def test_an_entity_bomb_is_refused():
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
            b'<feed xmlns="http://www.w3.org/2005/Atom">&lol2;</feed>')
    with pytest.raises(PermanentError, match="unparseable"):
        parse_feed(bomb, "search")


def test_the_source_pages_through_a_recorded_search_until_the_results_end(recorded_arxiv):
    settings = ArxivSettings(base_url=f"{recorded_arxiv.url}/api/query", min_interval_s=0, page_size=10,
                             search_categories=[])  # recorded across all of arXiv
    source = ArxivSource(settings, LocalRateLimiter())

    pages = []
    for page in source.pages(Feed(kind="search", value="testing", question_id=1), {"start": 0}):
        pages.append(page)
        if len(pages) == 3:
            break
    assert [len(p.records) for p in pages] == [10, 10, 10]
    assert pages[0].next_cursor == {"start": 10} and pages[1].next_cursor == {"start": 20}
    ids = [r.arxiv_id for p in pages for r in p.records]
    assert len(set(ids)) == 30


def test_a_recorded_400_is_a_permanent_error_naming_the_request(recorded_arxiv):
    settings = ArxivSettings(base_url=f"{recorded_arxiv.url}/api/query", min_interval_s=0)
    source = ArxivSource(settings, LocalRateLimiter())
    with pytest.raises(PermanentError, match="HTTP 400.*incorrect id format"):
        source.http.get(settings.base_url, params={"search_query": "", "id_list": "abc", "start": 0,
                                                   "max_results": 100})


def test_a_server_that_keeps_failing_is_a_transient_error_after_capped_retries():
    calls = []
    with ReplayServer() as server:
        server.route("/api/query", lambda req: (calls.append(1), Reply(503, b"busy", "text/plain",
                                                                      {"Retry-After": "0"}))[1])
        source = ArxivSource(ArxivSettings(base_url=f"{server.url}/api/query", min_interval_s=0, max_attempts=3),
                             LocalRateLimiter())
        with pytest.raises(TransientError, match="gave up after 3 attempts"):
            next(iter(source.pages(Feed(kind="category", value="cs.CL"), {})))
    assert len(calls) == 3


def test_an_oversized_body_is_refused():
    with ReplayServer() as server:
        server.route("/api/query", lambda req: Reply(200, b"<feed>" + b" " * 2_000_000 + b"</feed>",
                                                     "application/atom+xml"))
        source = ArxivSource(ArxivSettings(base_url=f"{server.url}/api/query", min_interval_s=0, max_body_mb=1),
                             LocalRateLimiter())
        with pytest.raises(PermanentError, match="over the 1000000"):
            next(iter(source.pages(Feed(kind="category", value="cs.CL"), {})))
