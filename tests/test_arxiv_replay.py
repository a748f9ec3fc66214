"""The loopback arXiv replay answers `sortBy=relevance` like a search engine, not by date."""

from __future__ import annotations

from datetime import date

from questlog.replay.arxiv import ArxivReplay, papers_of, query_terms, relevance
from questlog.replay.server import Request
from shared.sources.arxiv_atom import parse_feed


def _paper(i: str, title: str, summary: str, day: str) -> dict:
    return {"id": f"2601.{i}", "title": title, "authors": ["A. Author"], "categories": ["cs.CL"],
            "summary": summary, "listing_date": day}


PAPERS = papers_of([
    _paper("00001", "Domain shift in speech", "We study domain shift. Domain shift hurts; we measure domain shift.",
           "2026-01-01"),
    _paper("00002", "A parser", "Our parser is fast; domain shift is mentioned once among many other words here.",
           "2026-01-03"),
    _paper("00003", "Unrelated", "Nothing about it.", "2026-01-05"),
])


def test_query_terms_keep_fields_and_phrases_and_leave_out_what_andnot_excludes():
    assert query_terms('all:"domain shift" OR ti:parser ANDNOT all:speech AND cat:cs.CL') == [
        ("all", "domain shift"), ("ti", "parser")]


def test_relevance_puts_the_paper_that_is_about_the_phrase_before_a_newer_one_that_mentions_it():
    ranked = relevance('all:"domain shift"', [p for p in PAPERS if p.arxiv_id != "2601.00003"])
    assert [p.arxiv_id for p in ranked] == ["2601.00001", "2601.00002"]


def test_the_replay_sorts_a_search_by_relevance_only_when_asked():
    replay = ArxivReplay(PAPERS, today=date(2026, 2, 1))

    def ids(**args) -> list[str]:
        query = {"search_query": ['all:"domain shift"'], "max_results": ["10"], **{k: [v] for k, v in args.items()}}
        reply = replay(Request("GET", "/api/query", query, {}, b""))
        return [r.source_id.split("v")[0] for r in parse_feed(reply.body, "search", where="test").records]

    assert ids() == ["2601.00002", "2601.00001"]  # newest first, arXiv's default order here
    assert ids(sortBy="relevance") == ["2601.00001", "2601.00002"]
