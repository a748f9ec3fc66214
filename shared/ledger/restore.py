"""Restoring exported evidence links into a ledger, all of them in one transaction or none."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from shared.errors import PermanentError
from shared.ids import evidence_id, normalize_text, passage_id
from shared.ledger.merging import merge_record
from shared.ledger.models import EvidenceRow, PassageRow, QuestionRow
from shared.records import PaperRecord


@dataclass(frozen=True)
class RestoredLink:
    """One exported link as read back: its question (by id), its paper, its passage and its judgement.
    `origin` names where it came from ('row 3') in errors."""

    origin: str
    question_id: int
    question: str
    question_status: str
    paper: PaperRecord
    passage_index: int
    passage: str
    score: float
    stance: str
    answer: str
    rationale: str
    verdict: str | None
    note: str | None
    model: str
    retrieval: str
    found_at: datetime


class RestoreMixin:
    """Mixed into Ledger; uses its session factory."""

    def restore(self, links: list[RestoredLink], dry_run: bool = False) -> dict[str, int]:
        """Add these links with their questions (keeping their ids), papers (merged as any source's
        record is) and passages; a link already there takes the verdict and note given. Returns counts
        of what was (or, with dry_run, would be) added or changed. One transaction: a PermanentError
        (a question id that holds another question, a text asked under another id) leaves the ledger
        as it was, and so does dry_run. Idempotent: a second restore changes nothing."""
        counts = dict.fromkeys(("questions added", "papers added", "passages added", "links added",
                                "links updated"), 0)
        with self._sessions() as s:
            s.begin()
            try:
                for link in links:
                    _restore_one(s, link, counts)
                # Explicit ids leave PostgreSQL's id sequence behind; setval is not rolled back, so not on a dry run.
                if self.engine.dialect.name == "postgresql" and not dry_run:
                    s.execute(text("select setval(pg_get_serial_sequence('questions', 'id'), "
                                   "(select max(id) from questions))"))
                if dry_run:
                    s.rollback()
                else:
                    s.commit()
            except BaseException:
                s.rollback()
                raise
        return counts


def _restore_one(s: Session, link: RestoredLink, counts: dict[str, int]) -> None:
    norm = normalize_text(link.question)
    question = s.get(QuestionRow, link.question_id)
    if question is None:
        other = s.scalar(select(QuestionRow).where(QuestionRow.normalized == norm))
        if other is not None:
            raise PermanentError(f"{link.origin}: question {link.question_id} is asked here as question {other.id}")
        s.add(QuestionRow(id=link.question_id, text=link.question, normalized=norm, status=link.question_status))
        s.flush()
        counts["questions added"] += 1
    elif question.normalized != norm:
        raise PermanentError(f"{link.origin}: question {link.question_id} here is another question: "
                             f"{question.text!r}")
    upsert = merge_record(s, link.paper)
    if upsert.status == "new":
        counts["papers added"] += 1
    pid = passage_id(upsert.paper_id, link.passage_index, link.passage)
    if s.get(PassageRow, pid) is None:
        s.add(PassageRow(id=pid, paper_id=upsert.paper_id, index=link.passage_index, text=link.passage,
                         start=0, end=len(link.passage)))
        s.flush()
        counts["passages added"] += 1
    eid = evidence_id(link.question_id, pid)
    row = s.get(EvidenceRow, eid)
    if row is None:
        s.add(EvidenceRow(id=eid, question_id=link.question_id, passage_id=pid, paper_id=upsert.paper_id,
                          score=link.score, scores={}, stance=link.stance, answer=link.answer,
                          rationale=link.rationale, retrieval=link.retrieval, model=link.model,
                          model_version="import", found_at=link.found_at, verdict=link.verdict, note=link.note))
        s.flush()
        counts["links added"] += 1
    elif (row.verdict, row.note) != (link.verdict, link.note):
        row.verdict, row.note = link.verdict, link.note
        counts["links updated"] += 1
