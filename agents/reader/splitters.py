"""How a paper becomes passages. Title and abstract today; full text plugs in here later."""

from __future__ import annotations

from typing import Protocol

from shared.ledger import PassageDraft
from shared.ledger.models import PaperRow
from shared.passages import abstract_passage


class PassageSplitter(Protocol):
    def split(self, paper: PaperRow) -> list[PassageDraft]:
        """The paper's passages in reading order; empty when there is nothing to read."""


class AbstractSplitter:
    """One passage: the title, then the abstract (offsets are into that combined text)."""

    def split(self, paper: PaperRow) -> list[PassageDraft]:
        text = abstract_passage(paper.title, paper.abstract or "")
        return [PassageDraft(index=0, text=text, start=0, end=len(text), kind="abstract")] if text else []
