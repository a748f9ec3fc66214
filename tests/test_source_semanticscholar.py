"""Semantic Scholar against its real recorded responses, replayed on 127.0.0.1."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from questlog.replay.server import Reply
from shared.errors import NotFound, PermanentError, TransientError
from shared.http import LocalRateLimiter
from shared.sources.base import Feed
from shared.sources.semanticscholar import SemanticScholarSettings, SemanticScholarSource





@pytest.fixture
def make(server):
    made = []

    def make(prefix: str = "", sleeps: list | None = None, **overrides) -> SemanticScholarSource:
        settings = SemanticScholarSettings(base_url=f"{server.url}{prefix}/api.semanticscholar.org",
                                           min_interval_s=0, min_interval_no_key_s=0, **overrides)
        source = SemanticScholarSource(settings, LocalRateLimiter(),
                                       sleep=sleeps.append if sleeps is not None else lambda s: None)
        made.append(source)
        return source

    yield make
    for source in made:
        source.close()


SEARCH = Feed(kind="search", value="turing", question_id=3)


def test_a_search_page_maps_papers_and_points_at_the_next_offset(make) -> None:
    page = next(make().pages(SEARCH, {}))
    assert len(page.records) == 100 and page.total == 70499
    assert page.next_cursor == {"offset": 100}
    first = page.records[0]
    s2_id = "7cbc2a7843411a1768ab762930707af0a3c33a19"
    assert (first.source, first.source_id, first.s2_id) == ("semanticscholar", s2_id, s2_id)
    assert first.title.startswith("Using DeepSpeed and Megatron")
    assert {r.found_via for r in page.records} == {"search:question:3"}


def test_a_search_resumes_from_a_saved_cursor(make, server) -> None:
    page = next(make().pages(SEARCH, {"offset": 100}))
    assert server.requests[-1].query["offset"] == ["100"]
    assert page.next_cursor == {"offset": 200} and len(page.records) == 100


def test_a_search_with_dates_asks_for_that_publication_window_and_keeps_it_in_the_cursor(make, server) -> None:
    pages = make().pages(SEARCH, {"from_date": "2024-01-01", "to_date": "2024-12-31"})
    page = next(pages)
    assert server.requests[-1].query["publicationDateOrYear"] == ["2024-01-01:2024-12-31"]
    assert page.next_cursor == {"offset": 100, "from_date": "2024-01-01", "to_date": "2024-12-31"}


def test_an_empty_search_is_one_empty_last_page(make) -> None:
    pages = list(make().pages(Feed(kind="search", value="n0 r3sult s3arch t3rm", question_id=1), {}))
    assert len(pages) == 1
    assert pages[0].records == () and pages[0].next_cursor is None and pages[0].total == 0


def test_bulk_search_follows_tokens_until_s2_returns_none(make, server) -> None:
    pages = list(make(search_mode="bulk").pages(Feed(kind="search", value="kubernetes", question_id=1), {}))
    assert [len(p.records) for p in pages] == [1000, 1000, 674]
    assert pages[0].next_cursor["token"].startswith("PCOKWVSK") and pages[-1].next_cursor is None
    assert [r.query.get("token", [""])[0][:8] for r in server.requests] == ["", "PCOKWVSK", "PCOA3RZL"]
    assert server.requests[0].query["sort"] == ["publicationDate:desc"]


def test_citations_are_paged_by_offset_until_the_last_page(make, server) -> None:
    pages = list(make().pages(Feed(kind="citations", value="CorpusID:14514057"), {}))
    assert len(pages) == 19 and pages[-1].next_cursor is None
    assert [p.next_cursor for p in pages[:2]] == [{"offset": 100}, {"offset": 200}]
    assert server.requests[0].path.endswith("/graph/v1/paper/CorpusID:14514057/citations")
    assert sum(len(p.records) for p in pages) > 1800
    assert pages[0].records[0].found_via == "citations:CorpusID:14514057"


def test_references_skip_the_ones_s2_could_not_resolve(make) -> None:
    source = make(page_size=50)
    pages = list(source.pages(Feed(kind="references", value="10.2139/ssrn.2250500"), {}))
    assert [p.next_cursor for p in pages] == [{"offset": 50}, None]
    assert source.unresolved > 0 and source.skipped == 0
    assert all(r.s2_id for p in pages for r in p.records)
    assert sum(len(p.records) for p in pages) + source.unresolved == 67


def test_recommendations_for_one_paper_use_the_forpaper_endpoint(make, server) -> None:
    pages = list(make().pages(Feed(kind="recommendations", value="10.2139/ssrn.2250500"), {}))
    assert len(pages) == 1 and pages[0].next_cursor is None and len(pages[0].records) > 10
    assert server.requests[-1].path.endswith("/recommendations/v1/papers/forpaper/10.2139/ssrn.2250500")
    assert pages[0].records[0].found_via == "recommendations:10.2139/ssrn.2250500"


def test_recommendations_from_several_papers_post_positive_and_negative_examples(make, server) -> None:
    feed = Feed(kind="recommendations", value="10.1145/3544585.3544600, -10.1145/301250.301271")
    page = next(make().pages(feed, {}))
    assert server.requests[-1].method == "POST" and len(page.records) > 10
    assert page.records[0].title == "The path sequence of a graph"


def test_recommendations_from_negative_examples_only_are_a_permanent_error(make) -> None:
    with pytest.raises(PermanentError, match="HTTP 400.*No positive paper examples"):
        next(make().pages(Feed(kind="recommendations", value="-10.1145/3544585.3544600"), {}))


def test_a_paper_lookup_maps_external_ids_authors_and_date(make) -> None:
    record = make().paper("DOI:10.48550/arxiv.2312.07559")
    assert (record.arxiv_id, record.arxiv_version, record.doi) == ("2312.07559", None, "10.48550/arxiv.2312.07559")
    assert record.s2_id == "7e55d8701785818776323b4147cb13354c820469"
    assert record.authors[0] == "Jakub L'ala" and len(record.authors) == 6
    assert record.published == datetime(2023, 12, 8, tzinfo=timezone.utc)
    assert record.extra == {"corpus_id": "266191420"}


def test_an_unknown_paper_is_not_found(make) -> None:
    with pytest.raises(NotFound, match="no paper '0'"):
        make().paper("0")


def test_a_batch_lookup_keeps_the_order_and_gives_none_for_unknown_ids(make) -> None:
    ids = ["CorpusId:211530585", "CorpusId:470667", "10.2139/ssrn.2250500", "0f40b1f08821e22e859c6050916cec3667778613"]
    records = make().papers(ids)
    assert records[0] is None and all(r is not None for r in records[1:])
    assert records[1].doi == "10.2139/ssrn.288970"
    assert records[3].s2_id == "0f40b1f08821e22e859c6050916cec3667778613"


def test_the_api_key_goes_in_a_header_never_in_the_url_or_the_settings_repr(make, server) -> None:
    source = make(api_key="sekret-key")
    next(source.pages(SEARCH, {}))
    request = server.requests[-1]
    assert request.headers["x-api-key"] == "sekret-key"
    assert "sekret" not in request.path + str(request.query)
    assert "sekret" not in repr(source.settings) and "sekret" not in source.settings.model_dump_json()


def test_without_a_key_no_key_header_is_sent(make, server) -> None:
    next(make().pages(SEARCH, {}))
    assert "x-api-key" not in server.requests[-1].headers


@pytest.mark.parametrize("kind", ["category"])
def test_a_feed_kind_s2_does_not_serve_is_refused_by_name(make, kind) -> None:
    with pytest.raises(PermanentError, match=f"semanticscholar cannot serve a '{kind}' feed"):
        next(make().pages(Feed(kind=kind, value="cs.CL"), {}))


def test_a_disabled_source_refuses_to_crawl(make) -> None:
    with pytest.raises(PermanentError, match="disabled"):
        next(make(enabled=False).pages(SEARCH, {}))


def test_a_page_with_no_recording_is_a_permanent_error_naming_the_url(make) -> None:
    with pytest.raises(PermanentError, match=r"HTTP 404.*/graph/v1/paper/search\?"):
        next(make().pages(Feed(kind="search", value="nothing was recorded for this", question_id=1), {}))


def test_a_429_with_retry_after_is_waited_out_and_retried(make) -> None:
    sleeps: list[float] = []
    page = next(make("/flaky429", sleeps).pages(SEARCH, {}))
    assert sleeps == [7.0]
    assert len(page.records) == 100


def test_a_source_that_stays_down_is_a_transient_error_after_the_capped_attempts(make, server) -> None:
    sleeps: list[float] = []
    with pytest.raises(TransientError, match="gave up after 3 attempts") as err:
        next(make("/down", sleeps, max_attempts=3).pages(SEARCH, {}))
    assert err.value.retry_after == 1.0
    assert sleeps == [1.0, 1.0] and len(server.requests) == 3


def test_rate_limit_spacing_uses_the_slower_interval_without_a_key() -> None:
    keyed = SemanticScholarSource(SemanticScholarSettings(api_key="k"), LocalRateLimiter())
    anonymous = SemanticScholarSource(SemanticScholarSettings(), LocalRateLimiter())
    try:
        assert (keyed.http.interval_s, anonymous.http.interval_s) == (1.0, 3.0)
    finally:
        keyed.close()
        anonymous.close()


def test_a_relevance_search_stops_at_the_thousandth_result_s2_can_rank(make, server) -> None:
    body = b'{"total": 70499, "offset": 900, "next": 1000, "data": []}'
    server.route("/capped/", lambda req: Reply(200, body))
    pages = list(make("/capped").pages(SEARCH, {"offset": 950}))
    assert server.requests[-1].query["limit"] == ["50"]
    assert len(pages) == 1 and pages[0].next_cursor is None


def test_the_api_key_is_not_sent_along_a_redirect_to_another_origin() -> None:
    from questlog.replay.server import ReplayServer

    with ReplayServer() as home, ReplayServer() as away:
        away.route("/", lambda req: Reply(200, b'{"total": 0, "offset": 0, "data": []}', "application/json"))
        home.route("/", lambda req: Reply(302, b"", "text/plain", {"Location": f"{away.url}{req.path}"}))
        settings = SemanticScholarSettings(base_url=f"{home.url}/api.semanticscholar.org", min_interval_s=0,
                                           min_interval_no_key_s=0, api_key="s2-secret-key")
        source = SemanticScholarSource(settings, LocalRateLimiter(), sleep=lambda s: None)
        try:
            pages = list(source.pages(SEARCH, {}))
        finally:
            source.close()
    assert pages[0].records == ()
    assert home.requests[0].headers.get("x-api-key") == "s2-secret-key"  # at home the key goes along
    assert away.requests and "x-api-key" not in {k.lower() for k in away.requests[0].headers}
