"""OpenAlex against its real recorded works, replayed on 127.0.0.1.

No recording pages with a cursor, so list requests are answered by the replay's
small fake over the recorded Work objects (see questlog/replay/recorded.py).
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from shared.errors import NotFound, PermanentError, TransientError
from shared.http import LocalRateLimiter
from shared.sources.base import Feed
from shared.sources.openalex import OpenAlexSettings, OpenAlexSource, rebuild_abstract





@pytest.fixture
def make(server):
    made = []

    def make(prefix: str = "", sleeps: list | None = None, **overrides) -> OpenAlexSource:
        settings = OpenAlexSettings(base_url=f"{server.url}{prefix}/api.openalex.org", min_interval_s=0, **overrides)
        sleep = sleeps.append if sleeps is not None else lambda s: None
        source = OpenAlexSource(settings, LocalRateLimiter(), sleep=sleep)
        made.append(source)
        return source

    yield make
    for source in made:
        source.close()


SEARCH = Feed(kind="search", value="the", question_id=5)  # 6 of the 9 recorded works say "the"


def test_a_search_pages_through_cursors_newest_first_until_there_is_no_next_cursor(make, server) -> None:
    pages = list(make(page_size=2).pages(SEARCH, {}))
    assert [len(p.records) for p in pages] == [2, 2, 2] and {p.total for p in pages} == {6}
    assert pages[-1].next_cursor is None and all(p.next_cursor for p in pages[:-1])
    dates = [r.published for p in pages for r in p.records]
    assert dates == sorted(dates, reverse=True)
    assert [r.query["cursor"][0] for r in server.requests] == ["*", pages[0].next_cursor["cursor"],
                                                               pages[1].next_cursor["cursor"]]
    assert server.requests[0].query["sort"] == ["publication_date:desc"]
    assert {r.found_via for p in pages for r in p.records} == {"search:question:5"}


def test_a_saved_cursor_resumes_after_the_last_page_taken(make) -> None:
    source = make(page_size=4)
    first = next(source.pages(SEARCH, {}))
    rest = list(source.pages(SEARCH, first.next_cursor))
    taken = [r.source_id for r in first.records] + [r.source_id for p in rest for r in p.records]
    assert len(taken) == len(set(taken)) == 6


def test_dates_become_publication_date_filters_and_stay_in_the_cursor(make, server) -> None:
    pages = list(make(page_size=2).pages(SEARCH, {"from_date": "2020-01-01"}))
    assert server.requests[0].query["filter"] == ["from_publication_date:2020-01-01"]
    assert all(r.published >= datetime(2020, 1, 1, tzinfo=timezone.utc) for p in pages for r in p.records)
    assert pages[0].next_cursor["from_date"] == "2020-01-01"
    assert sum(len(p.records) for p in pages) == 3


def test_citations_ask_for_the_works_that_cite_the_given_work(make, server) -> None:
    pages = list(make().pages(Feed(kind="citations", value="https://openalex.org/W1964666522"), {}))
    assert server.requests[0].query["filter"] == ["cites:W1964666522"]
    assert [r.openalex_id for p in pages for r in p.records] == ["W4396723768"]
    assert pages[0].records[0].found_via == "citations:https://openalex.org/W1964666522"


def test_references_of_a_work_whose_references_were_not_recorded_are_one_empty_page(make, server) -> None:
    pages = list(make().pages(Feed(kind="references", value="W4396723768"), {}))
    assert server.requests[0].query["filter"] == ["cited_by:W4396723768"]
    assert len(pages) == 1 and pages[0].records == () and pages[0].next_cursor is None


def test_a_work_lookup_by_doi_maps_ids_authors_date_and_the_rebuilt_abstract(make, server) -> None:
    record = make().work("10.1073/pnas.1414271111")
    assert (record.source, record.source_id, record.openalex_id) == ("openalex", "W2109415576", "W2109415576")
    assert record.doi == "10.1073/pnas.1414271111"
    assert record.authors[0] == "Eleftherios Makris"
    assert record.published == datetime(2014, 10, 27, tzinfo=timezone.utc)
    assert record.abstract.startswith("Significance The inadequate mechanical properties of engineered tissues")
    assert "/works/https://doi.org/10.1073%2Fpnas.1414271111" in server.requests[-1].path


def test_an_arxiv_landing_page_gives_the_arxiv_id_without_claiming_a_version(make) -> None:
    record = next(r for p in make().pages(Feed(kind="search", value="PaperQA", question_id=1), {}) for r in p.records)
    assert (record.arxiv_id, record.arxiv_version, record.doi) == ("2312.07559", None, "10.48550/arxiv.2312.07559")


def test_a_work_missing_from_openalex_is_not_found(make) -> None:
    with pytest.raises(NotFound, match="no work"):
        make().work("10.1046/j.1365-2699.2003.00795")


def test_the_abstract_inverted_index_is_put_back_in_word_order() -> None:
    assert rebuild_abstract({"world": [1], "hello": [0, 2]}) == "hello world hello"
    assert rebuild_abstract(None) == ""
    with pytest.raises(ValueError):
        rebuild_abstract({"word": "zero"})


def test_mailto_goes_with_every_request(make, server) -> None:
    list(make(page_size=4, mailto="me@example.org").pages(SEARCH, {}))
    assert {r.query["mailto"][0] for r in server.requests} == {"me@example.org"}


def test_an_api_key_is_blanked_out_of_errors(make, server) -> None:
    with pytest.raises(TransientError) as err:
        next(make("/down", api_key="sekret-key", max_attempts=1).pages(SEARCH, {}))
    assert server.requests[-1].query["api_key"] == ["sekret-key"]
    assert "sekret" not in str(err.value) and "api_key=***" in str(err.value)


@pytest.mark.parametrize("kind", ["category", "recommendations"])
def test_a_feed_kind_openalex_does_not_serve_is_refused_by_name(make, kind) -> None:
    with pytest.raises(PermanentError, match=f"openalex cannot serve a '{kind}' feed"):
        next(make().pages(Feed(kind=kind, value="cs.CL"), {}))


def test_a_citations_feed_needs_an_openalex_work_id(make, server) -> None:
    with pytest.raises(PermanentError, match="not an OpenAlex work id"):
        next(make().pages(Feed(kind="citations", value="10.1000/not-a-w-id"), {}))
    assert server.requests == []


def test_an_invalid_filter_is_a_permanent_error_with_openalexs_message(make) -> None:
    source = make(select="id,title")
    with pytest.raises(PermanentError, match="HTTP 400"):
        next(source.pages(Feed(kind="search", value="x", question_id=1), {"from_date": "2020-01-01", "cursor": "@@"}))


def test_a_429_with_retry_after_is_waited_out_and_retried(make) -> None:
    sleeps: list[float] = []
    record = make("/flaky429", sleeps).work("W2109415576")
    assert sleeps == [7.0] and record.openalex_id == "W2109415576"
