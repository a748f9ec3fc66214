"""Settings of the scout: crawl budgets and schedules that hold across sources.

Each source's own group (`QUESTLOG_ARXIV__*`, `QUESTLOG_SEMANTICSCHOLAR__*`, ...)
says where and how politely to ask; this group says how much to take and how
often. The arXiv Atom API keeps its own budgets (`QUESTLOG_ARXIV__MAX_PAGES`,
`QUESTLOG_ARXIV__SEARCH_RESULTS`).
"""

from __future__ import annotations

from pydantic import Field

from shared.settings_group import SettingsGroup


class ScoutSettings(SettingsGroup):
    search_sources: list[str] = Field(
        default_factory=lambda: ["arxiv", "semanticscholar", "openalex"],
        description="Sources (those enabled) that run each open question's search. Crossref is left out by default: "
        "its keyword search, newest first across every discipline, is mostly noise; it is there for DOI metadata.")
    oai_categories: list[str] | None = Field(
        None, description="Categories harvested through arXiv OAI-PMH; unset: the same as QUESTLOG_ARXIV__CATEGORIES.")
    atom_firehose: bool = Field(True, description="Also crawl the categories newest first through the arXiv Atom API "
                                "every tick (OAI-PMH harvests them daily either way, new versions included).")
    every_s: dict[str, float] = Field(
        default_factory=lambda: {"arxiv": 0.0, "arxiv_oai": 86400.0, "semanticscholar": 21600.0,
                                 "openalex": 21600.0, "crossref": 86400.0},
        description="Least seconds between two crawls of one feed, per source (the tick itself runs every "
        "QUESTLOG_SCHEDULE__CRAWL_EVERY_S); a source not named is crawled every tick. JSON object in the environment.")
    max_pages: int = Field(5, ge=1, description="Pages per crawl of one Semantic Scholar, OpenAlex or Crossref feed.")
    search_results: int = Field(100, ge=1, description="Results per question search on Semantic Scholar, OpenAlex "
                                "and Crossref.")
    search_window_days: int = Field(30, ge=0, description="After a question's first search on Semantic Scholar, "
                                    "OpenAlex or Crossref, later ones ask only for papers published in the last N days "
                                    "(0: the whole index every time).")
    harvest_pages: int = Field(200, ge=1, description="Pages per arXiv OAI-PMH crawl (about 1000 records each); a "
                               "harvest that reaches it goes on from its resumption token at the next tick.")
