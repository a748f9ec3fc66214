"""The ledger's tables (SQLAlchemy 2). One module owns the schema; `store.py` owns the I/O."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: DateTime(timezone=True), dict: JSON, list: JSON}


class QuestionRow(Base):
    __tablename__ = "questions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    text: Mapped[str] = mapped_column(Text)
    normalized: Mapped[str] = mapped_column(String(2000), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | parked | answered
    notes: Mapped[str] = mapped_column(Text, default="")
    models: Mapped[list] = mapped_column(JSON, default=list)  # dense models chosen for this question; [] = all
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    digested_until: Mapped[datetime | None] = mapped_column(nullable=True)
    indexed_at: Mapped[datetime | None] = mapped_column(nullable=True)  # its vectors are in the store
    # library size (passages) when the question was last linked over the whole corpus (backfill or
    # relink); None: not recorded (a ledger older than relinking), taken as the library now
    linked_over: Mapped[int | None] = mapped_column(Integer, nullable=True)


class PaperRow(Base):
    __tablename__ = "papers"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    canonical_id: Mapped[str] = mapped_column(String(300))  # e.g. arxiv:2401.01234
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    title: Mapped[str] = mapped_column(Text)
    authors: Mapped[list] = mapped_column(JSON, default=list)
    abstract: Mapped[str] = mapped_column(Text, default="")
    published: Mapped[datetime | None] = mapped_column(nullable=True)
    updated: Mapped[datetime | None] = mapped_column(nullable=True)
    categories: Mapped[list] = mapped_column(JSON, default=list)
    url: Mapped[str | None] = mapped_column(Text, nullable=True)
    found_via: Mapped[list] = mapped_column(JSON, default=list)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class PaperKeyRow(Base):
    """Every id a paper is known by: arxiv:, doi:, s2:, openalex:, title:."""

    __tablename__ = "paper_keys"
    key: Mapped[str] = mapped_column(String(600), primary_key=True)
    paper_id: Mapped[str] = mapped_column(ForeignKey("papers.id"), index=True)


class PaperSourceRow(Base):
    """Every (source, source id) pair seen for a paper."""

    __tablename__ = "paper_sources"
    source: Mapped[str] = mapped_column(String(40), primary_key=True)
    source_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    paper_id: Mapped[str] = mapped_column(ForeignKey("papers.id"), index=True)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class PassageRow(Base):
    __tablename__ = "passages"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    paper_id: Mapped[str] = mapped_column(ForeignKey("papers.id"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20), default="abstract")  # abstract | body | caption
    text: Mapped[str] = mapped_column(Text)
    page: Mapped[int | None] = mapped_column(Integer, nullable=True)  # full text: the 1-based PDF page it starts on
    section: Mapped[str] = mapped_column(Text, default="")  # full text: its section heading
    start: Mapped[int] = mapped_column(Integer, default=0)
    end: Mapped[int] = mapped_column(Integer, default=0)
    current: Mapped[bool] = mapped_column(default=True)  # False once a newer paper version replaced it
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    indexed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # judged against every open question (the linker's passages mode); None: the reconciler re-sends it
    linked_at: Mapped[datetime | None] = mapped_column(nullable=True)


class FullTextRow(Base):
    """What became of reading one paper in full: read (its reading cached under `content_hash`), or
    unavailable with the reason. One row per paper; `version` is the paper version it is about, so a
    new version is fetched once more and an old one never twice."""

    __tablename__ = "fulltexts"
    paper_id: Mapped[str] = mapped_column(ForeignKey("papers.id"), primary_key=True)
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(16))  # claimed | read | unavailable
    reason: Mapped[str] = mapped_column(Text, default="")  # why unavailable; why it was read (added, relevant...)
    origin: Mapped[str] = mapped_column(String(20), default="")  # file | arxiv | url
    location: Mapped[str] = mapped_column(Text, default="")  # the URL fetched or the file kept in the data dir
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    pages: Mapped[int] = mapped_column(Integer, default=0)
    passages: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class EvidenceRow(Base):
    __tablename__ = "evidence"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), index=True)
    passage_id: Mapped[str] = mapped_column(ForeignKey("passages.id"))
    paper_id: Mapped[str] = mapped_column(ForeignKey("papers.id"))
    score: Mapped[float] = mapped_column(Float)
    scores: Mapped[dict] = mapped_column(JSON, default=dict)  # every stage's score
    stance: Mapped[str] = mapped_column(String(16), default="neutral")  # claims: supports | contradicts | neutral
    # The relevance judge's calibrated probability that the passage is evidence for the question.
    relevance: Mapped[float | None] = mapped_column(Float, nullable=True)
    # Yes/no questions: yes | no | mixed | unclear; open questions and claims: "" (see shared.questions).
    answer: Mapped[str] = mapped_column(String(16), default="")
    stance_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    rationale: Mapped[str] = mapped_column(Text, default="")
    rationale_sentences: Mapped[list] = mapped_column(JSON, default=list)
    retrieval: Mapped[str] = mapped_column(String(40))  # new-passages | backfill
    model: Mapped[str] = mapped_column(String(200))
    # every model that judged the link, named: embedder@dims+judge rules+stance model (120+ characters)
    model_version: Mapped[str] = mapped_column(String(500))
    found_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    verdict: Mapped[str | None] = mapped_column(String(16), nullable=True)  # accepted | rejected
    note: Mapped[str | None] = mapped_column(Text, nullable=True)  # the user's own words on this link


class JudgementCacheRow(Base):
    """An LLM judge's checked answer, by a hash of (prompt version, model, question, passage)."""

    __tablename__ = "judgement_cache"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DigestRow(Base):
    __tablename__ = "digests"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), index=True)
    window_start: Mapped[datetime | None] = mapped_column(nullable=True)
    window_end: Mapped[datetime] = mapped_column()
    status: Mapped[str] = mapped_column(String(16))  # claimed | sent | empty
    items: Mapped[int] = mapped_column(Integer, default=0)
    channels: Mapped[list] = mapped_column(JSON, default=list)
    body: Mapped[str] = mapped_column(Text, default="")
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)
    __table_args__ = (UniqueConstraint("question_id", "window_end"),)


class DeliveryRow(Base):
    """One channel's delivery of one digest: claimed before sending, so it is never sent twice."""

    __tablename__ = "digest_deliveries"
    digest_id: Mapped[str] = mapped_column(ForeignKey("digests.id"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # claimed | sent | failed
    error: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CursorRow(Base):
    """Where a feed's crawl stopped, and how the source behind it is doing."""

    __tablename__ = "cursors"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)  # "arxiv:category:cs.CL"
    value: Mapped[dict] = mapped_column(JSON, default=dict)
    last_success_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_error_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    papers_found: Mapped[int] = mapped_column(Integer, default=0)


class DeadLetterRow(Base):
    __tablename__ = "dead_letters"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    task: Mapped[str] = mapped_column(String(100))
    dedup_key: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict] = mapped_column(JSON)
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConclusionRow(Base):
    """One saved version of a question's conclusion: Markdown citing its evidence as `[@E<first 8
    characters of the link id>]`. A save never overwrites: it adds the next version."""

    __tablename__ = "conclusions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    saved_at: Mapped[datetime] = mapped_column(default=utcnow)
    author: Mapped[str] = mapped_column(String(100), default="you")
    __table_args__ = (UniqueConstraint("question_id", "version"),)


class QuestionVisitRow(Base):
    """When the user last looked at a question in the web app, so links found since are marked new."""

    __tablename__ = "question_visits"
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)  # the latest page view
    # the last view before the current visit began: links found after it are "new" all visit long
    visit_from: Mapped[datetime | None] = mapped_column(nullable=True)
