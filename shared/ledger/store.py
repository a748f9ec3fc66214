"""The ledger: the one module that reads and writes the relational store.

SQLite in the data directory by default (WAL, waits on locks so several worker
processes can share it), PostgreSQL by URL. Every write is an upsert keyed by a
deterministic id, so running a task twice leaves the same rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import create_engine, delete, event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from shared.errors import NotFound, PermanentError
from shared.ids import normalize_text, uuid_for
from shared.ledger.corpus import CorpusMixin
from shared.ledger.evidence import EvidenceMixin
from shared.ledger.fulltext import FullTextMixin
from shared.ledger.migrate import upgrade
from shared.ledger.models import (
    CursorRow,
    DeadLetterRow,
    DigestRow,
    EvidenceRow,
    PaperRow,
    PassageRow,
    QuestionRow,
    utcnow,
)
from shared.ledger.relinking import RelinkMixin
from shared.ledger.restore import RestoreMixin
from shared.ledger.workbench import WorkbenchMixin
from shared.questions import check_question

QUESTION_STATUSES = ("open", "parked", "answered")


def as_utc(dt: datetime | None) -> datetime | None:
    """SQLite gives naive datetimes back; everything we store is UTC."""
    if dt is None:
        return None
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


class Ledger(CorpusMixin, EvidenceMixin, FullTextMixin, RelinkMixin, RestoreMixin, WorkbenchMixin):
    """All ledger I/O. Thread-safe; one per process."""

    def __init__(self, url: str):
        self.url = url
        is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"connect_args": {"timeout": 60}} if is_sqlite else {"pool_pre_ping": True}
        self.engine = create_engine(url, **kwargs)
        if is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
        upgrade(self.engine)  # new tables and columns of this release, added to an older ledger
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as s, s.begin():
            yield s

    def retrying(self, fn, attempts: int = 3):
        """Run fn(session) in a transaction that holds the write lock from its first read (SQLite:
        BEGIN IMMEDIATE), so a read-check-write merge is atomic across worker processes; a unique-key
        race with another worker (PostgreSQL) is retried."""
        for attempt in range(attempts):
            token = _WRITE_FIRST.set(True)
            try:
                with self.session() as s:
                    return fn(s)
            except IntegrityError:
                if attempt == attempts - 1:
                    raise
            finally:
                _WRITE_FIRST.reset(token)

    # -- questions -------------------------------------------------------
    def ping(self) -> None:
        """Reach the database once (a health check). Raises the driver's error when it does not answer."""
        with self.session() as s:
            s.scalar(select(1))

    def add_question(self, text: str, models: list[str] | None = None) -> QuestionRow:
        """Add an open question. Raises PermanentError for a duplicate, or a text with nothing to search
        for (empty, only function words or symbols), saying why."""
        try:
            text = check_question(text)
        except ValueError as e:
            raise PermanentError(str(e)) from e
        norm = normalize_text(text)
        with self.session() as s:
            existing = s.scalar(select(QuestionRow).where(QuestionRow.normalized == norm))
            if existing:
                raise PermanentError(f"question {existing.id} already asks this: {existing.text!r}")
            row = QuestionRow(text=text, normalized=norm, models=models or [])
            s.add(row)
            s.flush()
            return row

    def question(self, question_id: int) -> QuestionRow:
        with self.session() as s:
            row = s.get(QuestionRow, question_id)
            if row is None:
                raise NotFound(f"no question with id {question_id}")
            return row

    def questions(self, status: str | None = None) -> list[QuestionRow]:
        with self.session() as s:
            q = select(QuestionRow).order_by(QuestionRow.id)
            if status:
                q = q.where(QuestionRow.status == status)
            return list(s.scalars(q))

    def set_question_status(self, question_id: int, status: str, notes: str | None = None) -> QuestionRow:
        if status not in QUESTION_STATUSES:
            raise PermanentError(f"status must be one of {', '.join(QUESTION_STATUSES)}; got {status!r}")
        with self.session() as s:
            row = s.get(QuestionRow, question_id)
            if row is None:
                raise NotFound(f"no question with id {question_id}")
            row.status = status
            if notes is not None:
                row.notes = notes
            return row

    def mark_question_indexed(self, question_id: int) -> None:
        with self.session() as s:
            row = s.get(QuestionRow, question_id)
            if row is not None:
                row.indexed_at = utcnow()

    # -- crawl cursors -----------------------------------------------------
    def cursor(self, key: str) -> dict:
        with self.session() as s:
            row = s.get(CursorRow, key)
            return dict(row.value) if row else {}

    def save_cursor(self, key: str, value: dict, papers_found: int = 0) -> None:
        def write(s: Session) -> None:
            row = s.get(CursorRow, key) or CursorRow(key=key, value={}, papers_found=0, last_error="")
            row.value = value
            row.last_success_at = utcnow()
            row.papers_found = (row.papers_found or 0) + papers_found
            s.merge(row)

        self.retrying(write)

    def record_source_error(self, key: str, error: str) -> None:
        def write(s: Session) -> None:
            row = s.get(CursorRow, key) or CursorRow(key=key, value={}, papers_found=0)
            row.last_error = error[:2000]
            row.last_error_at = utcnow()
            s.merge(row)

        self.retrying(write)

    def cursors(self) -> list[CursorRow]:
        with self.session() as s:
            return list(s.scalars(select(CursorRow).order_by(CursorRow.key)))

    # -- dead letters ------------------------------------------------------
    def dead_letter(self, task: str, dedup_key: str, payload: dict, error: str, attempts: int) -> str:
        """Park a message that cannot be processed. Same task and key: one record, updated."""
        dl_id = uuid_for("dead-letter", task, dedup_key)

        def write(s: Session) -> None:
            row = s.get(DeadLetterRow, dl_id)
            if row is None:
                s.add(DeadLetterRow(id=dl_id, task=task, dedup_key=dedup_key, payload=payload,
                                    error=error[:4000], attempts=attempts))
            else:
                row.error, row.attempts, row.updated_at = error[:4000], attempts, utcnow()

        self.retrying(write)
        return dl_id

    def dead_letters(self, limit: int | None = 50) -> list[DeadLetterRow]:
        """Newest first; `limit` None: all."""
        with self.session() as s:
            q = select(DeadLetterRow).order_by(DeadLetterRow.updated_at.desc())
            return list(s.scalars(q.limit(limit) if limit else q))

    def dead_letter_row(self, dl_id: str) -> DeadLetterRow:
        """The dead letter with this id, or the only one whose id starts with it (6 characters or more)."""
        with self.session() as s:
            row = s.get(DeadLetterRow, dl_id)
            if row is None and len(dl_id) >= 6:
                rows = s.scalars(select(DeadLetterRow).where(DeadLetterRow.id.startswith(
                    dl_id.replace("%", "").replace("_", ""))).limit(2)).all()
                if len(rows) > 1:
                    raise NotFound(f"{dl_id!r} names more than one dead letter; give more of its id")
                row = rows[0] if rows else None
            if row is None:
                raise NotFound(f"no dead letter with id {dl_id!r}")
            return row

    def remove_dead_letters(self, ids: list[str]) -> int:
        with self.session() as s:
            return s.execute(delete(DeadLetterRow).where(DeadLetterRow.id.in_(ids))).rowcount

    # -- counts ------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        with self.session() as s:
            def n(model) -> int:
                return s.scalar(select(func.count()).select_from(model)) or 0

            return {
                "questions": n(QuestionRow),
                "papers": n(PaperRow),
                "passages": n(PassageRow),
                "passages_indexed": s.scalar(
                    select(func.count()).select_from(PassageRow).where(PassageRow.indexed_at.is_not(None))) or 0,
                "evidence": n(EvidenceRow),
                "digests_sent": s.scalar(
                    select(func.count()).select_from(DigestRow).where(DigestRow.status == "sent")) or 0,
                "dead_letters": n(DeadLetterRow),
            }


# pysqlite begins a transaction only at the first write, so a merge's reads ran outside it and two
# processes could both find "no such paper" and insert it: a merge begins its own, IMMEDIATE
_WRITE_FIRST: ContextVar[bool] = ContextVar("ledger_write_first", default=False)


def _sqlite_begin(conn) -> None:
    # Only merges begin here. Every other session keeps the driver's own BEGIN before its first write:
    # a deferred BEGIN before a read would make that read's snapshot stale by the time it writes, and
    # SQLite (WAL) refuses such an upgrade at once ("database is locked"), busy timeout or not.
    if _WRITE_FIRST.get():
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=60000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()
