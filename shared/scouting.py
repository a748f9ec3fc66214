"""Settings of the scout: crawl budgets and schedules that hold across sources.

Each source's own group (`QUESTLOG_ARXIV__*`, `QUESTLOG_SEMANTICSCHOLAR__*`, ...)
says where and how politely to ask; this group says how much to take and how
often. The arXiv Atom API keeps its own budgets (`QUESTLOG_ARXIV__MAX_PAGES`,
`QUESTLOG_ARXIV__SEARCH_RESULTS`). The defaults that name sources are what the
registered source classes say of themselves (`shared.sources.base.Source`).
"""

from __future__ import annotations

from pydantic import Field

from shared.settings_group import SettingsGroup


def _searching() -> list[str]:
    from shared.sources import registry  # at call time: the registry imports every source module

    return [cls.name for cls in registry.SOURCES if cls.serves("search") and cls.search_by_default]


def _intervals() -> dict[str, float]:
    from shared.sources import registry

    return {cls.name: cls.every_s for cls in registry.SOURCES}


class ScoutSettings(SettingsGroup):
    search_sources: list[str] = Field(
        default_factory=_searching,
        description="Sources (those enabled) that run each open question's search. Crossref is left out by default: "
        "its keyword search, newest first across every discipline, is mostly noise; it is there for DOI metadata.")
    oai_categories: list[str] | None = Field(
        None, description="Categories harvested through arXiv OAI-PMH; unset: the same as QUESTLOG_ARXIV__CATEGORIES.")
    atom_firehose: bool = Field(True, description="Also crawl the categories newest first through the arXiv Atom API "
                                "every tick (OAI-PMH harvests them daily either way, new versions included).")
    every_s: dict[str, float] = Field(
        default_factory=_intervals,
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
