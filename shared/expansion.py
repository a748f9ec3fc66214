"""Settings of citation expansion: following the citations and references of strong evidence.

A paper whose evidence scores at least `min_score` for an open question (or that
the user accepted) is expanded once: the papers that cite it and the papers it
cites are crawled one hop through `sources`, so work outside the search terms is
found. Papers found that way remember it (`found_via` 'citation:<paper id>' or
'reference:<paper id>'); with `depth` > 1, those that become evidence themselves
are expanded in turn. `budget` bounds the papers expanded per crawl tick.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from shared.settings_group import SettingsGroup


def _expanding() -> list[str]:
    from shared.sources import registry  # at call time: the registry imports every source module

    return [cls.name for cls in registry.SOURCES if cls.serves("citations") or cls.serves("references")]


class ExpansionSettings(SettingsGroup):
    enabled: bool = Field(True, description="Follow the citations and references of strong evidence papers.")
    min_score: float = Field(0.5, description="Link score from which its paper is expanded: the evidence judge's "
                             "relevance (a calibrated probability), or with gate=cosine the primary model's cosine.")
    follow_accepted: bool = Field(True, description="Also expand papers whose evidence the user accepted, "
                                  "whatever its score.")
    depth: int = Field(1, ge=0, description="Hops followed: 1 expands evidence papers found by search, firehose or "
                       "recommendation; 2 also expands papers found by expansion that became evidence; 0 is off.")
    budget: int = Field(5, ge=0, description="Papers expanded per crawl tick, strongest evidence first.")
    sources: list[str] = Field(
        default_factory=_expanding,
        description="Sources asked for citations and references (those enabled). JSON list in the environment.")
    directions: list[Literal["citations", "references"]] = Field(
        default_factory=lambda: ["citations", "references"],
        description="'citations' (papers citing it) and/or 'references' (papers it cites).")
    max_results: int = Field(100, ge=1, description="Citing or cited papers taken per paper, direction and source.")
    recommendations: bool = Field(True, description="Ask Semantic Scholar for recommendations from each question's "
                                  "expansion seeds, again whenever the seeds change (when semanticscholar is among "
                                  "the sources).")

    @field_validator("sources")
    @classmethod
    def _sources_that_expand(cls, value: list[str]) -> list[str]:
        wrong = [name for name in value if name not in _expanding()]
        if wrong:
            raise ValueError(f"{', '.join(map(repr, wrong))}: not a source that follows citations or references "
                             f"(one of {', '.join(_expanding())})")
        return value
