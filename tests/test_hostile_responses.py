"""Every source against hostile or broken responses: each fails clearly, naming itself and the URL,
or skips the one bad record and goes on with the page."""

from __future__ import annotations

import logging

import pytest

from shared.errors import PermanentError
from shared.http import LocalRateLimiter
from shared.sources.arxiv_oai import ArxivOaiSettings, ArxivOaiSource
from shared.sources.base import Feed
from shared.sources.crossref import CrossrefSettings, CrossrefSource
from shared.sources.openalex import OpenAlexSettings, OpenAlexSource
from shared.sources.semanticscholar import SemanticScholarSettings, SemanticScholarSource


# name -> (settings, source class, host path, a feed and cursor with a recorded first page)
SOURCES = {
    "semanticscholar": (SemanticScholarSettings, SemanticScholarSource, "/api.semanticscholar.org",
                        Feed(kind="search", value="turing", question_id=1), {}),
    "openalex": (OpenAlexSettings, OpenAlexSource, "/api.openalex.org",
                 Feed(kind="search", value="the", question_id=1), {}),
    "crossref": (CrossrefSettings, CrossrefSource, "/api.crossref.org",
                 Feed(kind="search", value="widget", question_id=1), {}),
    "arxiv_oai": (ArxivOaiSettings, ArxivOaiSource, "/export.arxiv.org/oai2",
                  Feed(kind="category", value="nucl-th"), {"from": "2014-10-01"}),
}




@pytest.fixture
def make(server):
    made = []

    def make(name: str, prefix: str = "", **overrides):
        settings_cls, source_cls, host, _, _ = SOURCES[name]
        extra = {"semanticscholar": {"page_size": 100}, "openalex": {"page_size": 2},
                 "crossref": {"page_size": 20}}.get(name, {})  # the recorded page sizes
        settings = settings_cls(base_url=f"{server.url}{prefix}{host}", min_interval_s=0, **{**extra, **overrides})
        source = source_cls(settings, LocalRateLimiter(), sleep=lambda s: None)
        made.append(source)
        return source

    yield make
    for source in made:
        source.close()


def first_page(source, name: str):
    _, _, _, feed, cursor = SOURCES[name]
    return next(source.pages(feed, cursor))


def test_an_xml_entity_bomb_is_refused_unexpanded(make, server) -> None:
    with pytest.raises(PermanentError,
                       match=r"arxiv_oai: http://127\.0\.0\.1:\d+/bomb/.*unparseable.*EntitiesForbidden"):
        first_page(make("arxiv_oai", "/bomb"), "arxiv_oai")


@pytest.mark.parametrize("name", list(SOURCES))
def test_a_truncated_body_is_a_permanent_error_naming_the_source_and_url(make, name) -> None:
    with pytest.raises(PermanentError,
                       match=rf"^{name}: http://127\.0\.0\.1:\d+/truncated/.*(not valid JSON|unparseable)"):
        first_page(make(name, "/truncated"), name)


@pytest.mark.parametrize(("name", "complaint"), [
    ("semanticscholar", "'data' is str, not a list"),
    ("openalex", "expected 'meta' and a 'results' list"),
    ("crossref", "expected a 'message' object"),
    ("arxiv_oai", "unparseable OAI-PMH response"),
])
def test_a_page_of_the_wrong_shape_is_a_permanent_error_naming_the_source_and_url(make, name, complaint) -> None:
    with pytest.raises(PermanentError, match=rf"^{name}: http://127\.0\.0\.1:\d+/wrongshape/.*{complaint}"):
        first_page(make(name, "/wrongshape"), name)


def test_a_wrongly_shaped_paper_lookup_is_a_permanent_error(make) -> None:
    with pytest.raises(PermanentError, match="semanticscholar: .*unusable paper: no paperId"):
        make("semanticscholar", "/wrongshape").paper("CorpusID:1")


@pytest.mark.parametrize("name", list(SOURCES))
def test_a_50_mb_body_is_refused_by_the_size_cap(make, name) -> None:
    with pytest.raises(PermanentError, match=r"/huge/.*over the \d+ ?-?byte cap|over the \d+ cap"):
        first_page(make(name, "/huge"), name)


@pytest.mark.parametrize("name", list(SOURCES))
def test_every_source_caps_bodies_below_50_mb_by_default(name) -> None:
    settings_cls, source_cls, _, _, _ = SOURCES[name]
    source = source_cls(settings_cls(), LocalRateLimiter())
    try:
        assert 1_000_000 <= source.http.max_bytes < 50 * 1024 * 1024
    finally:
        source.close()


@pytest.mark.parametrize(("name", "index"), [("semanticscholar", 1), ("openalex", 1), ("crossref", 1),
                                             ("arxiv_oai", 0)])
def test_one_malformed_record_is_skipped_and_reported_and_the_page_goes_on(replay, make, caplog, name, index) -> None:
    clean = first_page(make(name), name)
    replay[0].reset()  # the same recording again, not the next one of a repeated request
    source = make(name, "/onebad")
    with caplog.at_level(logging.WARNING, logger=f"shared.sources.{name}"):
        page = first_page(source, name)
    assert len(page.records) == len(clean.records) - 1 and source.skipped == 1
    assert page.next_cursor == clean.next_cursor
    assert [r.source_id for r in page.records] == [r.source_id for i, r in enumerate(clean.records) if i != index]
    (message,) = [r.getMessage() for r in caplog.records]
    assert message.startswith(f"{name}: http://127.0.0.1:") and "/onebad/" in message and f" {index}" in message


def test_a_malformed_paper_in_a_batch_becomes_none_and_is_counted(make) -> None:
    ids = ["CorpusId:211530585", "CorpusId:470667", "10.2139/ssrn.2250500", "0f40b1f08821e22e859c6050916cec3667778613"]
    source = make("semanticscholar", "/onebad")
    records = source.papers(ids)
    assert records[0] is None and records[1] is None and source.skipped == 1  # [0]: S2 knows no such paper
    assert [r.s2_id for r in records[2:]] == ["cb1ebd913c3724c599f6b276b14b5c6253da68f3",
                                              "0f40b1f08821e22e859c6050916cec3667778613"]
