"""Relinking a question as its library grows: which questions are due, and recording the new judgement.

A link's relevance depends on the library it was judged in: the judge weighs where the retrievers
placed the passage among the question's candidates (`shared.relevance.features`), and in a library
of 80 passages a question's best match is first in every retriever whether or not it bears on the
question. A new user asks questions before the first harvest, so their first links are judged in
such a library and, judged once, they would stand for good. So once the library has grown
`link.relink_growth` times over since a question was last linked over the whole corpus, the linker
judges its candidates and its links again (`agents.linker.graph`, mode 'relink') and `relink`
records the outcome: links that are still evidence take their new judgement, new ones are added,
and the rest are withdrawn, unless the user has worked with them (a verdict, a note, a citation in
a conclusion): those stay as they are, whatever the judge now says.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from shared.ids import evidence_id
from shared.ledger.evidence import judgement_of
from shared.ledger.models import ConclusionRow, EvidenceRow, PassageRow, QuestionRow


class RelinkMixin:
    def library_size(self) -> int:
        """Current passages in the vector store (indexed): the library a judgement is made in."""
        with self.session() as s:
            return int(s.scalar(select(func.count()).select_from(PassageRow)
                                .where(PassageRow.current.is_(True), PassageRow.indexed_at.is_not(None))) or 0)

    def due_for_relink(self, library: int, growth: float, floor: int, ceiling: int = 0) -> list[int]:
        """Open, embedded questions last linked over the whole corpus when it held at most `library /
        growth` passages (fewer than `floor` counts as `floor`: a library of a few candidate cuts is not
        worth relinking for) and fewer than `ceiling` (0: no ceiling). A question with no record (a
        ledger older than relinking) gets `library` recorded and is not due. `growth` <= 1: none."""
        if growth <= 1:
            return []

        def write(s: Session) -> list[int]:
            due = []
            for q in s.scalars(select(QuestionRow).where(QuestionRow.status == "open",
                                                         QuestionRow.indexed_at.is_not(None))):
                if q.linked_over is None:
                    q.linked_over = library
                elif library >= growth * max(q.linked_over, floor) and (not ceiling or q.linked_over < ceiling):
                    due.append(q.id)
            return due

        return self.retrying(write)

    def set_linked_over(self, question_id: int, library: int) -> None:
        """The question was linked over the whole corpus of `library` passages (its backfill)."""

        def write(s: Session) -> None:
            s.execute(update(QuestionRow).where(QuestionRow.id == question_id).values(linked_over=library))

        self.retrying(write)

    def kept_by_user(self, question_id: int) -> set[str]:
        """Ids of the question's links the user has worked with: a verdict, a note, or a citation in any
        version of its conclusion. A relink never changes or withdraws these."""
        from shared.ledger.workbench import CITATION

        with self.session() as s:
            rows = s.execute(select(EvidenceRow.id, EvidenceRow.verdict, EvidenceRow.note)
                             .where(EvidenceRow.question_id == question_id)).all()
            texts = list(s.scalars(select(ConclusionRow.text).where(ConclusionRow.question_id == question_id)))
        cited = {m.group(1).lower() for t in texts for m in CITATION.finditer(t)}
        return {i for i, verdict, note in rows
                if verdict or (note or "").strip() or any(len(k) >= 6 and i.startswith(k) for k in cited)}

    def relink(self, question_id: int, drafts: list, library: int, judged: set[str]) -> tuple[list[str], list[str]]:
        """Record one relink of a question in one transaction: each draft (`EvidenceDraft`) becomes a link
        or replaces its link's judgement (found_at, verdict and note stay); every other link of the
        question whose passage the relink judged (`judged`: passage ids) is withdrawn unless the user has
        worked with it (`kept_by_user`). A link to a passage it did not judge (one indexed and linked
        while the relink ran) stays. `library` is recorded as the corpus it was linked over. Returns (new
        link ids, withdrawn link ids)."""
        kept = self.kept_by_user(question_id)

        def write(s: Session) -> tuple[list[str], list[str]]:
            new, current = [], set()
            for d in drafts:
                if d.question_id != question_id:
                    raise ValueError(f"a draft for question {d.question_id} in a relink of {question_id}")
                eid = evidence_id(d.question_id, d.passage_id)
                current.add(eid)
                if eid in kept:
                    continue
                values = judgement_of(d)
                row = s.get(EvidenceRow, eid)
                if row is None:
                    s.add(EvidenceRow(id=eid, question_id=d.question_id, passage_id=d.passage_id,
                                      paper_id=d.paper_id, retrieval=d.retrieval, **values))
                    new.append(eid)
                else:
                    for k, v in values.items():
                        setattr(row, k, v)
            ids = set(s.execute(select(EvidenceRow.id).where(EvidenceRow.question_id == question_id,
                                                             EvidenceRow.passage_id.in_(judged))).scalars())
            gone = sorted(ids - current - kept)
            if gone:
                s.execute(delete(EvidenceRow).where(EvidenceRow.id.in_(gone)))
            s.execute(update(QuestionRow).where(QuestionRow.id == question_id).values(linked_over=library))
            return new, gone

        return self.retrying(write)
