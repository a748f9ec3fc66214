"""Evidence links and digests in the ledger."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import false, or_, select, update
from sqlalchemy.orm import Session

from shared.ids import evidence_id
from shared.ledger.models import (
    DeliveryRow,
    DigestRow,
    EvidenceRow,
    FullTextRow,
    JudgementCacheRow,
    PaperRow,
    PassageRow,
    QuestionRow,
    utcnow,
)


@dataclass(frozen=True)
class EvidenceDraft:
    question_id: int
    passage_id: str
    paper_id: str
    score: float
    scores: dict[str, float]
    retrieval: str
    model: str
    model_version: str
    stance: str = "neutral"
    stance_score: float | None = None
    rationale: str = ""
    rationale_sentences: list[int] = field(default_factory=list)
    relevance: float | None = None
    answer: str = ""


@dataclass(frozen=True)
class EvidenceView:
    """One evidence link with what a reader needs to judge it."""

    id: str
    question_id: int
    paper_id: str
    passage_id: str
    paper_key: str
    title: str
    url: str | None
    passage: str
    score: float
    scores: dict
    stance: str
    rationale: str
    retrieval: str
    model: str
    found_at: datetime
    verdict: str | None
    relevance: float | None = None
    answer: str = ""
    rationale_sentences: list[int] = field(default_factory=list)
    note: str | None = None
    kind: str = "abstract"  # abstract | body | caption
    page: int | None = None
    section: str = ""
    pdf_url: str | None = None  # the PDF the passage was read from, at its page (#page=N)

    @property
    def where(self) -> str:
        """Where in the paper the passage is, as a reader cites it: "p. 7, §5.2 Main Results"; "" for an abstract."""
        if self.kind == "abstract":
            return ""
        parts = [f"p. {self.page}"] if self.page else []
        if self.section:
            parts.append(f"§{self.section}")
        if self.kind == "caption":
            parts.append("caption")
        return ", ".join(parts)


def page_link(origin: str, location: str, page: int | None) -> str | None:
    """A link to the PDF a passage was read from, opened at its page."""
    if not location:
        return None
    url = Path(location).as_uri() if origin == "file" else location
    return f"{url}#page={page}" if page else url


@dataclass(frozen=True)
class LinkJudgement:
    """One link as learning from verdicts sees it."""

    id: str
    passage_id: str
    relevance: float | None  # the judge's calibrated relevance (None: a link the judge never scored)
    verdict: str | None


# What `evidence(verdicts=...)` may ask for; None stands for "no verdict yet".
VERDICTS = ("accepted", "rejected", None)
# a channel's send takes seconds; a claim this old belongs to a worker that died mid-send
DELIVERY_STALE_S = 600.0


class EvidenceMixin:
    def upsert_evidence(self, drafts: list[EvidenceDraft]) -> list[str]:
        """Record links; returns the ids that are new. The same (question, passage) is one link, and its
        first judgement stands: a second run by the same models changes nothing (a relevance depends on
        the corpus at the time, so a re-run would otherwise move the user's list under them); a run by
        other models (another `model_version`) refreshes the scores. found_at and the verdict are kept."""

        def write(s: Session) -> list[str]:
            new = []
            for d in drafts:
                eid = evidence_id(d.question_id, d.passage_id)
                row = s.get(EvidenceRow, eid)
                values = judgement_of(d)
                if row is None:
                    s.add(EvidenceRow(id=eid, question_id=d.question_id, passage_id=d.passage_id,
                                      paper_id=d.paper_id, retrieval=d.retrieval, **values))
                    new.append(eid)
                elif row.model_version != d.model_version:
                    for k, v in values.items():
                        setattr(row, k, v)
            return new

        return self.retrying(write)

    def evidence(self, question_id: int, since: datetime | None = None, until: datetime | None = None,
                 limit: int | None = None, verdicts: Collection[str | None] | None = None,
                 found_from: datetime | None = None) -> list[EvidenceView]:
        """A question's evidence, best first. `since` < found_at <= `until` (a digest's window);
        `found_from` <= found_at (a user's "since this day"); `verdicts`, when given, keeps links
        whose verdict is among them (None: links without one). No filter: every link."""
        with self.session() as s:
            q = (select(EvidenceRow, PaperRow, PassageRow, FullTextRow)
                 .join(PaperRow, PaperRow.id == EvidenceRow.paper_id)
                 .join(PassageRow, PassageRow.id == EvidenceRow.passage_id)
                 .outerjoin(FullTextRow, FullTextRow.paper_id == EvidenceRow.paper_id)
                 .where(EvidenceRow.question_id == question_id)
                 .order_by(EvidenceRow.score.desc(), EvidenceRow.id))
            if since is not None:
                q = q.where(EvidenceRow.found_at > since)
            if until is not None:
                q = q.where(EvidenceRow.found_at <= until)
            if found_from is not None:
                q = q.where(EvidenceRow.found_at >= found_from)
            if verdicts is not None:
                named = [v for v in verdicts if v is not None]
                wanted = [EvidenceRow.verdict.in_(named)] if named else []
                if None in verdicts:
                    wanted.append(EvidenceRow.verdict.is_(None))
                q = q.where(or_(*wanted)) if wanted else q.where(false())
            if limit:
                q = q.limit(limit)
            return [EvidenceView(id=e.id, question_id=e.question_id, paper_id=p.id, passage_id=e.passage_id, paper_key=p.canonical_id
                                 + (f"v{p.version}" if p.version else ""), title=p.title, url=p.url,
                                 passage=ps.text, score=e.score, scores=e.scores, stance=e.stance,
                                 rationale=e.rationale, retrieval=e.retrieval, model=e.model,
                                 found_at=e.found_at, verdict=e.verdict, relevance=e.relevance,
                                 answer=e.answer or "", rationale_sentences=list(e.rationale_sentences or []),
                                 note=e.note, kind=ps.kind, page=ps.page, section=ps.section or "",
                                 pdf_url=page_link(ft.origin, ft.location, ps.page)
                                 if ft is not None and ps.kind != "abstract" else None)
                    for e, p, ps, ft in s.execute(q)]

    def set_verdict(self, evidence: str, verdict: str | None) -> str:
        """Set a link's verdict; `evidence` is its id or a unique prefix of it (at least 6 characters,
        as `questlog evidence` shows). Returns the full id; raises NotFound for none or several."""
        with self.session() as s:
            row = _find_link(s, evidence)
            row.verdict = verdict
            return row.id

    def judged_links(self, question_id: int) -> list[LinkJudgement]:
        """Every link of the question with the judge's relevance and the user's verdict (id order):
        what learning from verdicts fits on (`agents.linker.learning`)."""
        with self.session() as s:
            q = (select(EvidenceRow.id, EvidenceRow.passage_id, EvidenceRow.relevance, EvidenceRow.verdict)
                 .where(EvidenceRow.question_id == question_id).order_by(EvidenceRow.id))
            return [LinkJudgement(*row) for row in s.execute(q)]

    def verdict_basis(self, question_id: int) -> str:
        """A fingerprint of the question's verdicts now (which links, accepted or rejected); "" for none."""
        import hashlib

        with self.session() as s:
            rows = s.execute(select(EvidenceRow.id, EvidenceRow.verdict).where(
                EvidenceRow.question_id == question_id, EvidenceRow.verdict.is_not(None)).order_by(EvidenceRow.id))
            body = ";".join(f"{eid}={verdict}" for eid, verdict in rows)
        return hashlib.sha256(body.encode()).hexdigest()[:16] if body else ""

    def rescore(self, learned: dict[str, float], labels: int, basis: str = "") -> int:
        """Set each named link's score to its `learned` relevance (the judge's own stays in `relevance`),
        noting in its scores how many verdicts taught it (`labels`; 0: none, the marks are removed) and
        the verdict state it was learned from (`basis`, `verdict_basis`); returns how many links changed."""

        def write(s: Session) -> int:
            changed = 0
            for eid, value in learned.items():
                row = s.get(EvidenceRow, eid)
                if row is None:
                    continue  # deleted meanwhile with its question
                value, old = round(float(value), 6), dict(row.scores or {})
                scores = {k: v for k, v in old.items() if k not in ("learned", "learned_from", "learned_basis")}
                if labels:
                    scores |= {"learned": value, "learned_from": labels}
                if basis:
                    scores["learned_basis"] = basis
                if row.score == value and scores == old:
                    continue
                row.score, row.scores = value, scores  # a new dict: the JSON column sees the change
                changed += 1
            return changed

        return self.retrying(write)

    def unlearned_questions(self, question_ids: list[int]) -> list[int]:
        """The questions among these whose links are not ranked by their verdicts as they are now (a
        verdict since the last re-rank, whose request was lost): some link the judge scored carries
        another verdict state than the question's (`rescore`'s `basis`)."""
        out = []
        for qid in question_ids:
            basis = self.verdict_basis(qid)
            with self.session() as s:
                rows = s.execute(select(EvidenceRow.scores).where(EvidenceRow.question_id == qid,
                                                                  EvidenceRow.relevance.is_not(None)))
                if any((scores or {}).get("learned_basis", "") != basis for (scores,) in rows):
                    out.append(qid)
        return out

    def set_note(self, evidence: str, note: str | None) -> str:
        """Set a link's note (the user's words, kept through re-linking); an empty or blank note clears
        it. `evidence` as for `set_verdict`. Returns the full id; raises NotFound for none or several."""
        with self.session() as s:
            row = _find_link(s, evidence)
            row.note = note if note and note.strip() else None
            return row.id

    # -- the LLM judge's answers ------------------------------------------------
    def cached_judgement(self, key: str) -> dict | None:
        with self.session() as s:
            row = s.get(JudgementCacheRow, key)
            return dict(row.value) if row else None

    def store_judgement(self, key: str, value: dict) -> None:
        def write(s: Session) -> None:
            if s.get(JudgementCacheRow, key) is None:
                s.add(JudgementCacheRow(key=key, value=value))

        self.retrying(write)

    # -- digests -----------------------------------------------------------
    def open_digest(self, digest: str, question_id: int, window_start: datetime | None,
                    window_end: datetime) -> DigestRow:
        """The digest record of (question, window), created on first call."""

        def write(s: Session) -> DigestRow:
            row = s.get(DigestRow, digest)
            if row is None:
                row = DigestRow(id=digest, question_id=question_id, window_start=window_start,
                                window_end=window_end, status="open")
                s.add(row)
            return row

        return self.retrying(write)

    def claim_delivery(self, digest: str, channel: str, stale_after_s: float = DELIVERY_STALE_S) -> bool:
        """Claim one channel's delivery before sending. True for exactly one caller. A failed
        delivery can be claimed again; a sent one never is. A claim older than `stale_after_s`
        (its worker died mid-send) is taken over: the digest comes late, and — had the dead worker
        already sent it — once more, rather than never."""
        from sqlalchemy.exc import IntegrityError

        cutoff = utcnow() - timedelta(seconds=stale_after_s)
        try:
            with self.session() as s:
                row = s.get(DeliveryRow, (digest, channel))
                if row is None:
                    s.add(DeliveryRow(digest_id=digest, channel=channel, status="claimed"))
                    return True
                claimed = s.execute(update(DeliveryRow).where(
                    DeliveryRow.digest_id == digest, DeliveryRow.channel == channel,
                    or_(DeliveryRow.status == "failed",
                        (DeliveryRow.status == "claimed") & (DeliveryRow.updated_at < cutoff)),
                ).values(status="claimed", updated_at=utcnow()).execution_options(synchronize_session=False))
                return claimed.rowcount == 1
        except IntegrityError:
            return False

    def finish_delivery(self, digest: str, channel: str, error: str | None = None) -> None:
        with self.session() as s:
            row = s.get(DeliveryRow, (digest, channel))
            row.status, row.error, row.updated_at = ("failed", error[:2000], utcnow()) if error else ("sent", "", utcnow())

    def deliveries(self, digest: str) -> dict[str, str]:
        with self.session() as s:
            return {r.channel: r.status for r in s.scalars(select(DeliveryRow).where(DeliveryRow.digest_id == digest))}

    def finish_digest(self, digest: str, status: str, items: int, channels: list[str], body: str) -> None:
        with self.session() as s:
            row = s.get(DigestRow, digest)
            row.status, row.items, row.channels, row.body = status, items, channels, body
            row.sent_at = utcnow()
            q = s.get(QuestionRow, row.question_id)
            if q.digested_until is None or q.digested_until.replace(tzinfo=None) < row.window_end.replace(tzinfo=None):
                q.digested_until = row.window_end

    def digests(self, question_id: int | None = None) -> list[DigestRow]:
        with self.session() as s:
            q = select(DigestRow).order_by(DigestRow.window_end)
            if question_id is not None:
                q = q.where(DigestRow.question_id == question_id)
            return list(s.scalars(q))


def judgement_of(d: EvidenceDraft) -> dict:
    """The link columns a judgement sets (what a re-judgement replaces; found_at, verdict and note stay)."""
    return {"score": d.score, "scores": d.scores, "stance": d.stance, "stance_score": d.stance_score,
            "rationale": d.rationale, "rationale_sentences": d.rationale_sentences, "relevance": d.relevance,
            "answer": d.answer, "model": d.model, "model_version": d.model_version}


def _find_link(s: Session, evidence: str) -> EvidenceRow:
    """The link with this id, or the only one whose id starts with it (6 characters or more)."""
    from shared.errors import NotFound

    row = s.get(EvidenceRow, evidence)
    if row is None and len(evidence) >= 6:
        like = evidence.replace("%", "").replace("_", "")
        rows = s.scalars(select(EvidenceRow).where(EvidenceRow.id.startswith(like)).limit(2)).all()
        if len(rows) > 1:
            raise NotFound(f"{evidence} is the start of several evidence ids; give more of it")
        row = rows[0] if rows and like == evidence else None
    if row is None:
        raise NotFound(f"no evidence with id {evidence} (a link its question's relink no longer passes is "
                       "withdrawn, unless it had a verdict, a note or a citation)")
    return row
