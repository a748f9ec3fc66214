"""The relational ledger: questions, papers, passages, evidence, digests, cursors, dead letters."""

from shared.ledger.corpus import PaperUpsert, PassageDraft
from shared.ledger.evidence import EvidenceDraft, EvidenceView
from shared.ledger.store import Ledger, as_utc

__all__ = ["Ledger", "as_utc", "PassageDraft", "PaperUpsert", "EvidenceDraft", "EvidenceView"]
