"""The research workbench's ledger operations (`questlog web`): editing and deleting questions,
triage queries over a question's evidence, versioned conclusions that cite evidence, and when the
user last looked at each question.

A conclusion cites a link as `[@E<first 8 characters of its id>]`; a save that cites anything not
among the question's links is refused whole, naming each unknown citation.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Literal

from sqlalchemy import case, delete, func, or_, select
from sqlalchemy.orm import Session

from shared.errors import NotFound, PermanentError
from shared.ids import normalize_text
from shared.ledger.evidence import EvidenceView, _find_link
from shared.ledger.models import (
    ConclusionRow,
    CursorRow,
    DeliveryRow,
    DigestRow,
    EvidenceRow,
    PaperRow,
    PassageRow,
    QuestionRow,
    QuestionVisitRow,
    utcnow,
)
from shared.questions import check_question

# `[@E1a2b3c4d]`: anything between "[@E" and "]" without spaces is a citation to check
CITATION = re.compile(r"\[@E([^\]\s]*)\]")
CITE_CHARS = 8
# page views closer together than this are one visit: links stay marked new through a triage session
VISIT_GAP = timedelta(minutes=30)
ANSWER_FILTERS = ("yes", "no", "mixed", "unclear")  # links of yes/no questions
STANCE_FILTERS = ("supports", "contradicts", "neutral")  # links of claims
MAX_CONCLUSION_CHARS = 100_000


@dataclass(frozen=True)
class QuestionSummary:
    question: QuestionRow
    links: int
    new: int  # found since the user last looked at the question (never looked: every link)
    accepted: int
    rejected: int
    conclusion: int  # the latest conclusion's version; 0: none yet


def cite_key(evidence_id: str) -> str:
    """How a conclusion cites a link: `E` and the first 8 characters of its id."""
    return f"E{evidence_id[:CITE_CHARS]}"


class WorkbenchMixin:
    """Mixed into Ledger; uses its `session`, `retrying`, `question` and `evidence`."""

    # -- questions ---------------------------------------------------------
    def edit_question(self, question_id: int, text: str) -> QuestionRow:
        """Change a question's text, checked as `add_question` checks a new one. A changed text is
        embedded again (its `indexed_at` is cleared; the reconciler or the caller sends it) and searched
        afresh: its search cursors are dropped, so each source's next search of it is a first one (on
        arXiv in relevance order, reaching older papers), not one for papers newer than what the old
        text found. Links found for the old text stay. The same text changes nothing. Raises NotFound,
        PermanentError."""
        try:
            text = check_question(text)
        except ValueError as e:
            raise PermanentError(str(e)) from e
        norm = normalize_text(text)

        def write(s: Session) -> QuestionRow:
            row = s.get(QuestionRow, question_id)
            if row is None:
                raise NotFound(f"no question with id {question_id}")
            other = s.scalar(select(QuestionRow).where(QuestionRow.normalized == norm, QuestionRow.id != question_id))
            if other is not None:
                raise PermanentError(f"question {other.id} already asks this: {other.text!r}")
            if row.text != text:
                row.text, row.normalized, row.indexed_at = text, norm, None
                s.execute(delete(CursorRow).where(CursorRow.key.like(f"%:search:{question_id}")))
            return row

        return self.retrying(write)

    def delete_question(self, question_id: int) -> dict[str, int]:
        """Delete a question with its links, digests (and their deliveries), conclusions and visit
        record, in one transaction. Returns how many of each went. Raises NotFound."""

        def write(s: Session) -> dict[str, int]:
            if s.get(QuestionRow, question_id) is None:
                raise NotFound(f"no question with id {question_id}")
            digests = select(DigestRow.id).where(DigestRow.question_id == question_id).scalar_subquery()
            s.execute(delete(DeliveryRow).where(DeliveryRow.digest_id.in_(digests)))
            gone = {
                "links": s.execute(delete(EvidenceRow).where(EvidenceRow.question_id == question_id)).rowcount,
                "digests": s.execute(delete(DigestRow).where(DigestRow.question_id == question_id)).rowcount,
                "conclusions": s.execute(delete(ConclusionRow).where(ConclusionRow.question_id == question_id)).rowcount,
            }
            s.execute(delete(QuestionVisitRow).where(QuestionVisitRow.question_id == question_id))
            s.execute(delete(QuestionRow).where(QuestionRow.id == question_id))
            return gone

        return self.retrying(write)

    def question_summaries(self) -> list[QuestionSummary]:
        """Every question with its link counts and latest conclusion version, by id."""
        with self.session() as s:
            seen = select(QuestionVisitRow.seen_at).where(
                QuestionVisitRow.question_id == EvidenceRow.question_id).scalar_subquery()
            counts = {qid: (links, new, acc, rej) for qid, links, new, acc, rej in s.execute(
                select(EvidenceRow.question_id, func.count(),
                       func.sum(case((or_(seen.is_(None), EvidenceRow.found_at > seen), 1), else_=0)),
                       func.sum(case((EvidenceRow.verdict == "accepted", 1), else_=0)),
                       func.sum(case((EvidenceRow.verdict == "rejected", 1), else_=0)))
                .group_by(EvidenceRow.question_id))}
            versions = dict(s.execute(select(ConclusionRow.question_id, func.max(ConclusionRow.version))
                                      .group_by(ConclusionRow.question_id)).all())
            return [QuestionSummary(q, *(int(n or 0) for n in counts.get(q.id, (0, 0, 0, 0))),
                                    conclusion=int(versions.get(q.id) or 0))
                    for q in s.scalars(select(QuestionRow).order_by(QuestionRow.id))]

    def visit_question(self, question_id: int, now: datetime | None = None) -> datetime | None:
        """Record a look at the question; returns `new_after` for this visit. Looks less than
        VISIT_GAP apart are one visit, so the marks stay while the user works through the list."""
        now = now or utcnow()

        def write(s: Session) -> datetime | None:
            row = s.get(QuestionVisitRow, question_id)
            if row is None:
                s.add(QuestionVisitRow(question_id=question_id, seen_at=now, visit_from=None))
                return None
            if now - _utc(row.seen_at) > VISIT_GAP:
                row.visit_from = row.seen_at
            row.seen_at = now
            return _utc(row.visit_from) if row.visit_from else None

        self.question(question_id)  # NotFound before anything is written
        return self.retrying(write)

    def new_after(self, question_id: int) -> datetime | None:
        """The time after which the question's links count as new in this visit; None: every link
        does (the first visit)."""
        with self.session() as s:
            row = s.get(QuestionVisitRow, question_id)
            return _utc(row.visit_from) if row is not None and row.visit_from is not None else None

    # -- triage ------------------------------------------------------------
    def link(self, evidence: str) -> EvidenceView:
        """One link as `evidence` gives it; `evidence` is its id or a unique prefix (6 characters or
        more). Raises NotFound."""
        with self.session() as s:
            row = _find_link(s, evidence)
            question_id, link_id = row.question_id, row.id
        return next(v for v in self.evidence(question_id) if v.id == link_id)

    def paper_links(self, paper_id: str) -> list[EvidenceView]:
        """Every link of one paper, to any question (question id order, best first within one)."""
        with self.session() as s:
            questions = sorted(set(s.scalars(select(EvidenceRow.question_id).where(EvidenceRow.paper_id == paper_id))))
        return [v for q in questions for v in self.evidence(q) if v.paper_id == paper_id]

    def triage(self, question_id: int, *, verdicts: Collection[str | None] | None = None, says: str = "",
               found_from: datetime | None = None, search: str = "", sort: Literal["score", "date"] = "score",
               limit: int | None = None) -> list[EvidenceView]:
        """A question's links as `evidence` gives them, also narrowed to an answer (yes, no, mixed,
        unclear) or a stance (supports, contradicts, neutral) in `says`, and to those whose title,
        passage or note contains `search` (case-insensitive); best first, or newest first by date."""
        views = self.evidence(question_id, verdicts=verdicts, found_from=found_from)
        if says or search.strip():
            keep = self._matching_links(question_id, says, search.strip())
            views = [v for v in views if v.id in keep]
        if sort == "date":
            views.sort(key=lambda v: (_utc(v.found_at), v.id), reverse=True)
        return views[:limit] if limit else views

    def _matching_links(self, question_id: int, says: str, search: str) -> set[str]:
        q = (select(EvidenceRow.id).join(PaperRow, PaperRow.id == EvidenceRow.paper_id)
             .join(PassageRow, PassageRow.id == EvidenceRow.passage_id)
             .where(EvidenceRow.question_id == question_id))
        if says in ANSWER_FILTERS:
            q = q.where(EvidenceRow.answer == says)
        elif says in STANCE_FILTERS:
            q = q.where(EvidenceRow.stance == says)
        elif says:
            raise PermanentError(f"says must be one of {', '.join(ANSWER_FILTERS + STANCE_FILTERS)}; got {says!r}")
        if search:
            like = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            q = q.where(or_(PaperRow.title.ilike(like, escape="\\"), PassageRow.text.ilike(like, escape="\\"),
                            EvidenceRow.note.ilike(like, escape="\\")))
        with self.session() as s:
            return set(s.scalars(q))

    # -- conclusions -------------------------------------------------------
    def resolve_citations(self, question_id: int, text: str) -> dict[str, str]:
        """Each citation key in `text` ("E1a2b3c4d") -> the full id of the question's link it names.
        Raises PermanentError naming every citation that names none (or, given too few characters,
        several) of the question's links."""
        keys = list(dict.fromkeys(m.group(1) for m in CITATION.finditer(text)))
        if not keys:
            return {}
        with self.session() as s:
            ids = list(s.scalars(select(EvidenceRow.id).where(EvidenceRow.question_id == question_id)))
        found, bad = {}, []
        for key in keys:
            hits = [i for i in ids if len(key) >= 6 and i.startswith(key.lower())]
            if len(hits) == 1:
                found[f"E{key}"] = hits[0]
            else:
                bad.append(f"[@E{key}]")
        if bad:
            raise PermanentError(f"{', '.join(bad)} cite{'s' if len(bad) == 1 else ''} no evidence of question "
                                 f"{question_id}; cite a link as [@E<first {CITE_CHARS} characters of its id>]. "
                                 "Nothing was saved.")
        return found

    def save_conclusion(self, question_id: int, text: str, author: str = "you") -> ConclusionRow:
        """Save `text` as the question's next conclusion version; the same text as the latest version
        saves nothing and returns that version. Raises NotFound, or PermanentError (empty, too long,
        or citing evidence the question does not have: see `resolve_citations`) with nothing saved."""
        text = text.replace("\r\n", "\n").strip()
        if not text:
            raise PermanentError("a conclusion needs some text; nothing was saved")
        if len(text) > MAX_CONCLUSION_CHARS:
            raise PermanentError(f"a conclusion is at most {MAX_CONCLUSION_CHARS} characters; this one has "
                                 f"{len(text)}. Nothing was saved.")
        self.question(question_id)
        self.resolve_citations(question_id, text)

        def write(s: Session) -> ConclusionRow:
            latest = s.scalar(select(ConclusionRow).where(ConclusionRow.question_id == question_id)
                              .order_by(ConclusionRow.version.desc()).limit(1))
            if latest is not None and latest.text == text:
                return latest
            row = ConclusionRow(question_id=question_id, version=(latest.version if latest else 0) + 1,
                                text=text, author=author)
            s.add(row)
            s.flush()
            return row

        return self.retrying(write)  # two saves at once: the unique (question, version) makes one retry

    def conclusions(self, question_id: int) -> list[ConclusionRow]:
        """Every saved version, newest first."""
        with self.session() as s:
            return list(s.scalars(select(ConclusionRow).where(ConclusionRow.question_id == question_id)
                                  .order_by(ConclusionRow.version.desc())))

    def conclusion(self, question_id: int, version: int | None = None) -> ConclusionRow | None:
        """That version (None: the latest), or None when there is none."""
        with self.session() as s:
            q = select(ConclusionRow).where(ConclusionRow.question_id == question_id)
            q = q.where(ConclusionRow.version == version) if version is not None else q
            return s.scalar(q.order_by(ConclusionRow.version.desc()).limit(1))


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)
