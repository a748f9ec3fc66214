"""Crossref against its real recorded responses, replayed on 127.0.0.1."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from itertools import islice

import pytest

from questlog.replay.recorded import RecordedAPIs
from questlog.replay.server import Reply, ReplayServer
from shared.errors import NotFound, PermanentError
from shared.http import LocalRateLimiter
from shared.sources.base import Feed
from shared.sources.crossref import CrossrefSettings, CrossrefSource, _published, strip_jats

from tests.conftest import SAMPLES


@pytest.fixture(scope="module")
def replay():
    # three recorded crawls of query=widget start at cursor=*: take the one whose cursor chain was recorded
    recorded = RecordedAPIs(SAMPLES, prefer=("test-cursor__test_cursor_max",))
    with ReplayServer() as server:
        recorded.mount(server)
        yield recorded, server



@pytest.fixture
def make(server):
    made = []

    def make(prefix: str = "/api.crossref.org", sleeps: list | None = None, **overrides) -> CrossrefSource:
        settings = CrossrefSettings(base_url=f"{server.url}{prefix}", min_interval_s=0, **overrides)
        sleep = sleeps.append if sleeps is not None else lambda s: None
        source = CrossrefSource(settings, LocalRateLimiter(), sleep=sleep)
        made.append(source)
        return source

    yield make
    for source in made:
        source.close()


WIDGET = Feed(kind="search", value="widget", question_id=2)


def test_a_doi_lookup_maps_title_authors_date_and_url(make) -> None:
    record = make().work("10.1371/journal.pone.0033693")
    assert (record.source, record.source_id, record.doi) == ("crossref", "10.1371/journal.pone.0033693",
                                                             "10.1371/journal.pone.0033693")
    assert record.title.startswith("Methylphenidate Exposure Induces Dopamine Neuron Loss")
    assert record.authors[:2] == ("Shankar Sadasivan", "Brooks B. Pond")
    assert record.published == datetime(2012, 3, 21, tzinfo=timezone.utc)
    assert record.url == "https://doi.org/10.1371/journal.pone.0033693"


def test_a_deposited_jats_abstract_comes_back_as_plain_text(make) -> None:
    record = make().work("https://doi.org/10.1002/jor.1100150407")
    assert record.abstract.startswith("Twenty‐two beagles were divided into two equal groups")
    assert "jats" not in record.abstract and "Abstract" not in record.abstract
    assert "(p < 0.001)" in record.abstract  # an entity in the deposit, decoded


def test_an_unknown_doi_is_not_found(make) -> None:
    with pytest.raises(NotFound, match="10.1371/notarealdoi"):
        make().work("10.1371/notarealdoi")


def test_an_arxiv_doi_is_not_crossrefs_to_know(make) -> None:
    with pytest.raises(NotFound):
        make().work("10.48550/arXiv.2312.07559")


def test_a_search_deep_pages_with_crossrefs_cursor(make, server) -> None:
    pages = list(islice(make(page_size=20).pages(WIDGET, {}), 3))
    assert [len(p.records) for p in pages] == [20, 20, 20] and pages[0].total == 454
    cursor = pages[0].next_cursor["cursor"]
    assert [r.query["cursor"][0] for r in server.requests] == ["*", cursor, cursor]
    dois = [r.doi for p in pages for r in p.records]
    assert len(set(dois)) == 60
    assert {r.found_via for p in pages for r in p.records} == {"search:question:2"}
    assert server.requests[0].query["sort"] == ["published"] and server.requests[0].query["order"] == ["desc"]


def test_a_short_page_is_the_last_one(make, server) -> None:
    pages = list(make(page_size=25).pages(WIDGET, {}))
    assert len(pages) == 1 and len(pages[0].records) == 20 and pages[0].next_cursor is None


def test_an_expired_cursor_starts_the_feed_again_from_the_newest(make, server, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="shared.sources.crossref"):
        page = next(make(page_size=20).pages(WIDGET, {"cursor": "thing"}))
    assert [r.query["cursor"][0] for r in server.requests] == ["thing", "*"]
    assert len(page.records) == 20 and "expired" in caplog.text


def test_a_dated_search_sends_publication_date_filters_and_keeps_them_in_the_cursor(make, server) -> None:
    body = (SAMPLES / "crossref" / "decoded" / "test-cursor__test_cursor__0.json").read_bytes()
    server.route("/dated/", lambda req: Reply(200, body))
    page = next(make("/dated", page_size=20).pages(WIDGET, {"from_date": "2024-01-01", "to_date": "2024-06-30"}))
    assert server.requests[-1].query["filter"] == ["from-pub-date:2024-01-01,until-pub-date:2024-06-30"]
    assert page.next_cursor["from_date"] == "2024-01-01" and page.next_cursor["to_date"] == "2024-06-30"


def test_mailto_goes_in_the_query_and_the_user_agent(make, server) -> None:
    make(mailto="me@example.org").work("10.1371/journal.pone.0033693")
    request = server.requests[-1]
    assert request.query["mailto"] == ["me@example.org"] and "mailto:me@example.org" in request.headers["user-agent"]


def test_a_plus_token_is_a_header_never_in_the_url(make, server) -> None:
    source = make(api_key="sekret-token")
    source.work("10.1371/journal.pone.0033693")
    request = server.requests[-1]
    assert request.headers["crossref-plus-api-token"] == "Bearer sekret-token"
    assert "sekret" not in request.path + str(request.query) and "sekret" not in repr(source.settings)


@pytest.mark.parametrize("kind", ["citations", "references", "category", "recommendations"])
def test_a_feed_kind_crossref_does_not_serve_is_refused_by_name(make, kind) -> None:
    with pytest.raises(PermanentError, match=f"crossref cannot serve a '{kind}' feed"):
        next(make().pages(Feed(kind=kind, value="10.1000/x"), {}))


def test_a_429_with_retry_after_is_waited_out_and_retried(make) -> None:
    sleeps: list[float] = []
    record = make("/flaky429/api.crossref.org", sleeps).work("10.1371/journal.pone.0033693")
    assert sleeps == [7.0] and record.doi == "10.1371/journal.pone.0033693"


def test_jats_markup_and_an_abstract_heading_are_stripped() -> None:
    jats = "<jats:title>Abstract</jats:title><jats:p>Cats &amp; dogs <jats:italic>in vivo</jats:italic>.</jats:p>"
    assert strip_jats(jats) == "Cats & dogs in vivo ."


def test_a_partial_date_falls_on_the_first_day_and_a_missing_one_is_none() -> None:
    assert _published({"issued": {"date-parts": [[2015]]}}) == datetime(2015, 1, 1, tzinfo=timezone.utc)
    assert _published({"issued": {"date-parts": [[2015, 3]]}}) == datetime(2015, 3, 1, tzinfo=timezone.utc)
    assert _published({"issued": {"date-parts": [[None]]}}) is None
