"""Finding a reading list's papers through the sources, one way after another per row:

    arxiv_id      arXiv's API (`ArxivSource.lookup`)
    doi           Crossref (`CrossrefSource.work`)
    s2_id         Semantic Scholar: a 40-hex paperId, 'S2:<paperId>', 'CorpusId:<n>' or a
                  semanticscholar.org/paper/… address; every row's id in one batch request
                  (`SemanticScholarSource.papers`), since S2 paces unkeyed clients at one request per 3 s
    openalex_id   OpenAlex (`OpenAlexSource.work`): 'W…', 'openalex:W…' or an openalex.org address
    title + year  OpenAlex's title search (`OpenAlexSource.search_title`); a work is taken only when its
                  normalised title equals the row's or is very close (`same_title`) and it was published
                  in the row's year. A title without a year is not searched.

The first way that finds the paper wins; when none does, the reasons of every way tried are
returned, so the row can be kept as an unresolved entry that says why. A source that is disabled
or fails is a reason, never an exception: one row's trouble does not stop the others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import TYPE_CHECKING

from shared.errors import NotFound, QuestlogError
from shared.ids import normalize_text

if TYPE_CHECKING:
    from questlog.exporting.reading_list import ListEntry
    from shared.http import RateLimiter
    from shared.records import PaperRecord
    from shared.settings import Settings

ARXIV = re.compile(r"^(?:arxiv:|https?://arxiv\.org/(?:abs|pdf)/)?(\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7})"
                   r"(?:v\d+)?$", re.IGNORECASE)
S2_PAPER = re.compile(r"^(?:s2:|https?://(?:www\.)?semanticscholar\.org/paper/(?:[^/]+/)?)?([0-9a-f]{40})/?$",
                      re.IGNORECASE)
S2_CORPUS = re.compile(r"^(?:s2:)?corpus_?id:\s*(\d+)$", re.IGNORECASE)
OPENALEX = re.compile(r"^(?:openalex:|https?://(?:api\.)?openalex\.org/(?:works/)?)?(W\d+)/?$", re.IGNORECASE)
# Similarity (difflib's ratio) of two normalised titles that still name one paper: 0.95 lets a typo, a
# dropped article or a British spelling through in a title of 40+ characters, and stops a subtitle added
# or removed ('ChemCrow: Augmenting …' against 'Augmenting …' is 0.92), which may be another version.
TITLE_SIMILARITY = 0.95
S2_BATCH = 500  # ids per request, S2's limit


def s2_ref(raw: str) -> str | None:
    """The id Semantic Scholar's API takes for what a user wrote ('CorpusId:…' or the paperId), or None."""
    if m := S2_PAPER.match(raw.strip()):
        return m.group(1).lower()
    if m := S2_CORPUS.match(raw.strip()):
        return f"CorpusId:{m.group(1)}"
    return None


def openalex_ref(raw: str) -> str | None:
    """The OpenAlex work id ('W…') in what a user wrote, or None."""
    m = OPENALEX.match(raw.strip())
    return m.group(1).upper() if m else None


def same_title(a: str, b: str) -> bool:
    """Whether two titles name one paper: equal once normalised, or within TITLE_SIMILARITY."""
    x, y = normalize_text(a), normalize_text(b)
    return bool(x) and (x == y or SequenceMatcher(None, x, y).ratio() >= TITLE_SIMILARITY)


@dataclass
class Lookups:
    """The sources a reading list is resolved through; None: disabled in the settings, or not needed."""

    arxiv: object | None = None
    crossref: object | None = None
    semanticscholar: object | None = None
    openalex: object | None = None

    @classmethod
    def open(cls, settings: Settings, limiter: RateLimiter, entries: list[ListEntry]) -> Lookups:
        """A client for each enabled source that some entry needs. Close it with `close`."""
        from shared.sources.registry import source_class

        needed = {"arxiv": any(e.arxiv_id for e in entries), "crossref": any(e.doi for e in entries),
                  "semanticscholar": any(e.s2_id for e in entries),
                  "openalex": any(e.openalex_id or (e.title and e.year) for e in entries)}
        made = {}
        for name, wanted in needed.items():
            source = source_class(name)
            group = source.settings_of(settings)
            if wanted and group.enabled:
                made[name] = source(group, limiter)
        return cls(**made)

    def close(self) -> None:
        for source in (self.arxiv, self.crossref, self.semanticscholar, self.openalex):
            if source is not None:
                source.close()


def batch_s2(entries: list[ListEntry], lookups: Lookups) -> dict[str, PaperRecord | str]:
    """Every entry's Semantic Scholar id -> its record, or the reason it has none (batches of 500)."""
    refs = list(dict.fromkeys(r for e in entries if e.s2_id and (r := s2_ref(e.s2_id))))
    if not refs or lookups.semanticscholar is None:
        return {}
    found: dict[str, PaperRecord | str] = {}
    for start in range(0, len(refs), S2_BATCH):
        chunk = refs[start:start + S2_BATCH]
        try:
            records = lookups.semanticscholar.papers(chunk, found_via="import")
        except QuestlogError as err:
            found.update({r: f"lookup failed: {err}" for r in chunk})
            continue
        found.update({r: rec if rec is not None else f"Semantic Scholar has no paper {r}"
                      for r, rec in zip(chunk, records, strict=True)})
    return found


def find(e: ListEntry, lookups: Lookups, s2_found: dict[str, PaperRecord | str]) -> tuple[PaperRecord | None, str]:
    """(the entry's paper, "") by the first way that finds it, else (None, every way's reason)."""
    reasons = []
    for way in (_by_arxiv, _by_doi, _by_s2, _by_openalex, _by_title):
        try:
            record, reason = way(e, lookups, s2_found)
        except NotFound as err:
            record, reason = None, f"not found: {err}"
        except QuestlogError as err:
            record, reason = None, f"lookup failed: {err}"
        if record is not None:
            return record, ""
        if reason:
            reasons.append(reason)
    return None, "; ".join(reasons)


def _disabled(source: str, group: str) -> str:
    return f"{source} is disabled (QUESTLOG_{group}__ENABLED)"


def _by_arxiv(e: ListEntry, lookups: Lookups, _s2: dict) -> tuple[PaperRecord | None, str]:
    if not e.arxiv_id:
        return None, ""
    if lookups.arxiv is None:
        return None, _disabled("arXiv", "ARXIV")
    found = lookups.arxiv.lookup(ARXIV.match(e.arxiv_id).group(1), found_via="import")
    return (found, "") if found else (None, f"arXiv has no paper {e.arxiv_id}")


def _by_doi(e: ListEntry, lookups: Lookups, _s2: dict) -> tuple[PaperRecord | None, str]:
    if not e.doi:
        return None, ""
    if lookups.crossref is None:
        return None, _disabled("Crossref", "CROSSREF")
    return lookups.crossref.work(e.doi, found_via="import"), ""


def _by_s2(e: ListEntry, lookups: Lookups, s2_found: dict) -> tuple[PaperRecord | None, str]:
    if not e.s2_id:
        return None, ""
    if lookups.semanticscholar is None:
        return None, _disabled("Semantic Scholar", "SEMANTICSCHOLAR")
    found = s2_found.get(s2_ref(e.s2_id) or "", f"Semantic Scholar was not asked for {e.s2_id}")
    return (None, found) if isinstance(found, str) else (found, "")


def _by_openalex(e: ListEntry, lookups: Lookups, _s2: dict) -> tuple[PaperRecord | None, str]:
    if not e.openalex_id:
        return None, ""
    if lookups.openalex is None:
        return None, _disabled("OpenAlex", "OPENALEX")
    return lookups.openalex.work(openalex_ref(e.openalex_id), found_via="import"), ""


def _by_title(e: ListEntry, lookups: Lookups, _s2: dict) -> tuple[PaperRecord | None, str]:
    if not e.title:
        return None, ""
    if not e.year:
        return None, "a title is searched only with its year; add the year, or an arXiv id, DOI, S2 or OpenAlex id"
    if lookups.openalex is None:
        return None, "a title is searched through OpenAlex, which is disabled (QUESTLOG_OPENALEX__ENABLED)"
    works = lookups.openalex.search_title(e.title, found_via="import")
    alike = [w for w in works if same_title(w.title, e.title)]
    for work in alike:
        if work.published is not None and str(work.published.year) == e.year:
            return work, ""
    if alike:
        years = sorted({str(w.published.year) for w in alike if w.published})
        return None, f"OpenAlex has this title from {', '.join(years) or 'no year'}, not {e.year}"
    return None, f"OpenAlex has no work titled {e.title!r} ({len(works)} other titles matched its words)"
