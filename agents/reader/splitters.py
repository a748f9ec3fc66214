"""How a paper becomes passages: the title and abstract, then — for a paper read in full — its body.

Passage 0 is "Title. Abstract" (offsets into that combined text). A paper the ledger records as read
in full adds one passage per body passage and caption of its cached reading (`shared.fulltext`), with
page and section; their offsets point into the reading's text.
"""

from __future__ import annotations

import logging
from typing import Protocol

from shared.ledger import PassageDraft
from shared.ledger.models import PaperRow
from shared.passages import abstract_passage

log = logging.getLogger(__name__)


class PassageSplitter(Protocol):
    def split(self, paper: PaperRow) -> list[PassageDraft]:
        """The paper's passages in reading order; empty when there is nothing to read."""


class AbstractSplitter:
    """One passage: the title, then the abstract (offsets are into that combined text)."""

    def split(self, paper: PaperRow) -> list[PassageDraft]:
        text = abstract_passage(paper.title, paper.abstract or "")
        return [PassageDraft(index=0, text=text, start=0, end=len(text), kind="abstract")] if text else []


class FullTextSplitter:
    """The abstract passage, then the body passages of the paper's reading when it was read in full.

    A reading recorded in the ledger but gone from the cache (the cache folder was cleared) yields the
    abstract only and a warning; the body passages already stored stay readable for their evidence."""

    def __init__(self, ledger, readings) -> None:
        self.ledger = ledger
        self.readings = readings

    def split(self, paper: PaperRow) -> list[PassageDraft]:
        return self._split(paper, self.ledger.fulltext(paper.id))

    def split_many(self, papers: list[PaperRow]) -> list[list[PassageDraft]]:
        """`split` for each paper, with one ledger lookup for all their full-text records."""
        rows = self.ledger.fulltexts([p.id for p in papers]) if papers else {}
        return [self._split(p, rows.get(p.id)) for p in papers]

    def _split(self, paper: PaperRow, row) -> list[PassageDraft]:
        drafts = AbstractSplitter().split(paper)
        if row is None or row.status != "read":
            return drafts
        reading = self.readings.get(row.content_hash)
        if reading is None:
            log.warning("paper %s was read in full but its reading %s is not in the cache", paper.id,
                        row.content_hash[:12])
            return drafts
        # the PDF's own abstract repeats passage 0: linked twice, it would show up twice
        body = [p for p in reading.passages if not (drafts and p.section.lower() == "abstract")]
        first = len(drafts)
        return drafts + [PassageDraft(index=first + i, text=p.text, start=p.start, end=p.end, kind=p.kind,
                                      page=p.page, section=p.section) for i, p in enumerate(body)]
