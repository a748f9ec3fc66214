"""Papers and passages in the ledger: one record per real-world paper, merged from every source."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from sqlalchemy import delete, or_, select, text, update
from sqlalchemy.orm import Session

from shared.errors import NotFound
from shared.ids import paper_id as make_paper_id
from shared.ledger.models import (
    Base,
    FullTextRow,
    PaperKeyRow,
    PaperRow,
    PaperSourceRow,
    PassageRow,
    utcnow,
)
from shared.records import PaperRecord


@dataclass(frozen=True)
class PaperUpsert:
    paper_id: str
    status: Literal["new", "updated", "unchanged"]


@dataclass(frozen=True)
class PassageDraft:
    index: int
    text: str
    start: int
    end: int
    kind: str = "abstract"
    page: int | None = None
    section: str = ""


UPSERT_BATCH = 100  # records per transaction of `upsert_papers` (an Atom page: one)


class CorpusMixin:
    """Mixed into Ledger; uses its `session` and `retrying`."""

    def upsert_paper(self, record: PaperRecord) -> PaperUpsert:
        """Merge one source's record into the paper it describes.

        The paper is found by any identity key it shares with a known paper
        (arXiv id, DOI, S2 id, OpenAlex id, normalised title + first author);
        otherwise it is created with the id of its strongest key. A newer arXiv
        version replaces title and abstract ('updated'); an identical record
        changes nothing ('unchanged'). Idempotent.
        """
        return self.retrying(lambda s: _upsert_paper(s, record))

    def upsert_papers(self, records: list[PaperRecord], batch: int = UPSERT_BATCH) -> list[PaperUpsert]:
        """`upsert_paper` for each record, in order, in transactions of `batch` records: a crawl's
        page costs a commit or a few, not one per paper. A record merges with the ones before it as it
        would one call later. On PostgreSQL every identity key of a transaction's records is locked
        first, in the one global order, so two workers storing overlapping pages wait for each other
        instead of deadlocking; the batch bound keeps those locks well inside the server's lock table
        (an OAI-PMH page holds about 1,000 records)."""
        out: list[PaperUpsert] = []
        for at in range(0, len(records), batch):
            chunk = records[at:at + batch]

            def write(s: Session, chunk=chunk) -> list[PaperUpsert]:
                _lock_keys(s, [k for r in chunk for k in r.identity_keys()])
                stored = []
                for record in chunk:
                    stored.append(_upsert_paper(s, record))
                    s.flush()  # the next record's lookups see this one's keys
                return stored

            out += self.retrying(write)
        return out

    def paper(self, paper_id: str) -> PaperRow:
        with self.session() as s:
            row = s.get(PaperRow, paper_id)
            if row is None:
                raise NotFound(f"no paper with id {paper_id}")
            return row

    def papers(self, ids: list[str]) -> list[PaperRow]:
        with self.session() as s:
            return list(s.scalars(select(PaperRow).where(PaperRow.id.in_(ids))))

    def paper_keys(self, ids: list[str]) -> dict[str, list[str]]:
        """Every key (arxiv:, doi:, s2:, openalex:, title:) each of these papers is known by, sorted."""
        with self.session() as s:
            found: dict[str, list[str]] = {i: [] for i in ids}
            for k in s.scalars(select(PaperKeyRow).where(PaperKeyRow.paper_id.in_(ids)).order_by(PaperKeyRow.key)):
                found[k.paper_id].append(k.key)
            return found

    def paper_sources(self, paper_id: str) -> list[tuple[str, str]]:
        with self.session() as s:
            rows = s.scalars(select(PaperSourceRow).where(PaperSourceRow.paper_id == paper_id))
            return sorted((r.source, r.source_id) for r in rows)

    def replace_passages(self, paper_id: str, drafts: list[PassageDraft], ids: list[str]) -> list[str]:
        """Make `drafts` the paper's current passages; returns ids not yet indexed.

        Passages of older versions stay (evidence may point at them) but stop being current.
        """
        return self.replace_many_passages([(paper_id, drafts, ids)])

    def replace_many_passages(self, papers: list[tuple[str, list[PassageDraft], list[str]]]) -> list[str]:
        """`replace_passages` for several papers (paper id, drafts, passage ids) in one transaction, with one
        lookup of the passages already stored; returns the ids not yet indexed, in the order given."""
        if not papers:
            return []

        def write(s: Session) -> list[str]:
            wanted = [pid for _, _, ids in papers for pid in ids]
            known: dict[str, PassageRow] = {}
            for at in range(0, len(wanted), 500):  # bound the statement's parameters
                chunk = wanted[at:at + 500]
                known |= {r.id: r for r in s.scalars(select(PassageRow).where(PassageRow.id.in_(chunk)))}
            pending = []
            for paper_id, drafts, ids in papers:
                s.execute(update(PassageRow).where(PassageRow.paper_id == paper_id, PassageRow.id.not_in(ids))
                          .values(current=False))
                for pid, d in zip(ids, drafts, strict=True):
                    row = known.get(pid)
                    if row is None:
                        s.add(PassageRow(id=pid, paper_id=paper_id, index=d.index, kind=d.kind, text=d.text,
                                         start=d.start, end=d.end, page=d.page, section=d.section))
                        pending.append(pid)
                    else:
                        row.current = True
                        if row.indexed_at is None:
                            pending.append(pid)
            return pending

        return self.retrying(write)

    def passages(self, ids: list[str]) -> list[PassageRow]:
        """Passages in the order of `ids`; unknown ids are left out."""
        with self.session() as s:
            rows = {r.id: r for r in s.scalars(select(PassageRow).where(PassageRow.id.in_(ids)))}
            return [rows[i] for i in ids if i in rows]

    def paper_passages(self, paper_id: str) -> list[PassageRow]:
        """The paper's current passages in reading order."""
        with self.session() as s:
            return list(s.scalars(select(PassageRow).where(PassageRow.paper_id == paper_id,
                                                           PassageRow.current.is_(True)).order_by(PassageRow.index)))

    def mark_indexed(self, ids: list[str], when: datetime | None = None) -> None:
        with self.session() as s:
            s.execute(update(PassageRow).where(PassageRow.id.in_(ids)).values(indexed_at=when or utcnow()))

    def mark_linked(self, ids: list[str], when: datetime | None = None) -> None:
        """These passages were judged against every open question (a later question backfills them)."""
        with self.session() as s:
            s.execute(update(PassageRow).where(PassageRow.id.in_(ids)).values(linked_at=when or utcnow()))

    def unlinked_passage_ids(self, older_than: datetime | None = None) -> list[str]:
        """Current passages indexed (before `older_than`) but never judged: their link request was lost."""
        with self.session() as s:
            q = select(PassageRow.id).where(PassageRow.current.is_(True), PassageRow.indexed_at.is_not(None),
                                            PassageRow.linked_at.is_(None))
            if older_than is not None:
                q = q.where(PassageRow.indexed_at < older_than)
            return list(s.scalars(q.order_by(PassageRow.indexed_at)))

    def papers_without_passages(self, ids: list[str] | None = None, older_than: datetime | None = None) -> list[str]:
        """Papers (of `ids`, or all) that have no current passage yet: the reader's backlog."""
        with self.session() as s:
            has = select(PassageRow.paper_id).where(PassageRow.current.is_(True))
            q = select(PaperRow.id).where(PaperRow.id.not_in(has))
            if ids is not None:
                q = q.where(PaperRow.id.in_(ids))
            if older_than is not None:
                q = q.where(PaperRow.changed_at < older_than)
            found = set(s.scalars(q))
        return [i for i in ids if i in found] if ids is not None else sorted(found)

    def retire_passages(self, paper_id: str) -> None:
        """A new version of the paper arrived: its passages are no longer current (the reader redoes them)."""
        with self.session() as s:
            s.execute(update(PassageRow).where(PassageRow.paper_id == paper_id).values(current=False))

    def unindexed_passage_ids(self, older_than: datetime | None = None) -> list[str]:
        with self.session() as s:
            q = select(PassageRow.id).where(PassageRow.current.is_(True), PassageRow.indexed_at.is_(None))
            if older_than is not None:
                q = q.where(PassageRow.created_at < older_than)
            return list(s.scalars(q.order_by(PassageRow.created_at)))

    def current_passage_ids(self, limit: int | None = None) -> list[str]:
        with self.session() as s:
            q = select(PassageRow.id).where(PassageRow.current.is_(True)).order_by(PassageRow.created_at)
            return list(s.scalars(q.limit(limit) if limit else q))


# -- merging ---------------------------------------------------------------
# A paper is known by every key in paper_keys. A record joins the papers that
# share any of its keys; when it bridges two or more known papers (A has
# arxiv+doi, B has doi+s2, the record has arxiv+s2) they become one: the oldest
# keeps its id and absorbs the others' keys, sources, passages and evidence.
# A paper has at most one arXiv id and one S2 id, so two different ones mean two
# different papers: a candidate that would bring a second one is left alone
# (arXiv metadata carries wrong DOIs, and short titles collide).
_KEY_RANK = ("arxiv:", "doi:", "s2:", "openalex:", "title:", "source:")
_SINGLE_VALUED = ("arxiv:", "s2:")


def _upsert_paper(s: Session, rec: PaperRecord) -> PaperUpsert:
    keys = rec.identity_keys()
    _lock_keys(s, keys)
    rows = _matching_papers(s, keys)
    status: Literal["new", "updated", "unchanged"]
    if not rows:
        pid = make_paper_id(keys[0])
        row = s.get(PaperRow, pid)
        if row is not None:  # that key names a paper this record conflicts with
            pid = make_paper_id(f"{keys[0]}|{rec.source}:{rec.source_id}")
            row = s.get(PaperRow, pid)
        if row is None:
            row = PaperRow(id=pid, canonical_id=keys[0], version=rec.arxiv_version, title=rec.title,
                           authors=list(rec.authors), abstract=rec.abstract, published=rec.published,
                           updated=rec.updated, categories=list(rec.categories), url=rec.url,
                           found_via=[rec.found_via])
            s.add(row)
            s.flush()
            status = "new"
        else:
            status = _merge_into(row, rec)
    else:
        row = min(rows, key=lambda r: (_utc(r.first_seen_at), r.id))
        for other in rows:
            if other is not row:
                _absorb(s, row, other)
        status = _merge_into(row, rec)
        if len(rows) > 1:
            status = "updated"
    taken = set(s.scalars(select(PaperKeyRow.key).where(PaperKeyRow.key.in_(keys))))
    for k in keys:
        if k not in taken:
            s.add(PaperKeyRow(key=k, paper_id=row.id))
    source = s.get(PaperSourceRow, (rec.source, rec.source_id))
    if source is None:
        s.add(PaperSourceRow(source=rec.source, source_id=rec.source_id, paper_id=row.id))
    elif source.paper_id != row.id:  # the source's own id now points elsewhere: follow it
        source.paper_id = row.id
    return PaperUpsert(row.id, status)


def _lock_keys(s: Session, keys: list[str]) -> None:
    """PostgreSQL: hold a transaction lock per identity key, in one global order (no deadlock), so two
    workers merging records that share a key run one after the other. Without it both can see "no
    such paper", and the second, finding the first's row only at insert, files a duplicate. (SQLite:
    the transaction already holds the write lock, Ledger.retrying.)"""
    if s.get_bind().dialect.name != "postgresql":
        return
    for key in sorted(set(keys)):
        lock = int.from_bytes(hashlib.sha1(key.encode()).digest()[:8], "big", signed=True)
        s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock})


def _matching_papers(s: Session, keys: list[str]) -> list[PaperRow]:
    """The known papers this record belongs to, strongest key first, none conflicting with another."""
    owners = {k.key: k.paper_id for k in s.scalars(select(PaperKeyRow).where(PaperKeyRow.key.in_(keys)))}
    single = {p: k for k in keys for p in _SINGLE_VALUED if k.startswith(p)}  # prefix -> the record's key
    chosen: list[PaperRow] = []
    for k in keys:
        pid = owners.get(k)
        if pid is None or any(r.id == pid for r in chosen):
            continue
        theirs = s.scalars(select(PaperKeyRow.key).where(
            PaperKeyRow.paper_id == pid, or_(*(PaperKeyRow.key.startswith(p) for p in _SINGLE_VALUED)))).all()
        mine = dict(single)
        if any(mine.setdefault(p, t) != t for t in theirs for p in _SINGLE_VALUED if t.startswith(p)):
            continue
        single = mine
        chosen.append(s.get(PaperRow, pid))
    return chosen


def _absorb(s: Session, keep: PaperRow, other: PaperRow) -> None:
    """Make `other` part of `keep`: move everything that points at it, merge its fields, delete it."""
    if s.scalar(select(PassageRow.id).where(PassageRow.paper_id == keep.id, PassageRow.current.is_(True))):
        # keep's passages stay current; the other's stay readable for the evidence pointing at them
        s.execute(update(PassageRow).where(PassageRow.paper_id == other.id).values(current=False))
    if s.get(FullTextRow, keep.id) is not None:  # one reading per paper: keep's stands
        s.execute(delete(FullTextRow).where(FullTextRow.paper_id == other.id))
    for model, column in _rows_pointing_at_papers():
        s.execute(update(model).where(column == other.id).values({column.key: keep.id}))
    if other.version is not None and (keep.version is None or other.version > keep.version):
        keep.version, keep.title = other.version, other.title
        keep.abstract = other.abstract or keep.abstract
        keep.updated = other.updated or keep.updated
    elif not keep.abstract:
        keep.abstract = other.abstract
    for field in ("published", "updated", "url"):
        if getattr(keep, field) is None:
            setattr(keep, field, getattr(other, field))
    keep.authors = keep.authors or other.authors
    keep.categories = sorted(set(keep.categories) | set(other.categories))
    keep.found_via = [*keep.found_via, *(f for f in other.found_via if f not in keep.found_via)]
    if _rank(other.canonical_id) < _rank(keep.canonical_id):
        keep.canonical_id = other.canonical_id
    keep.changed_at = utcnow()
    s.delete(other)
    s.flush()


def _merge_into(row: PaperRow, rec: PaperRecord) -> Literal["updated", "unchanged"]:
    """Fold one record into its paper. A newer arXiv version replaces title and abstract;
    otherwise only missing fields are filled. Returns whether the paper's text changed."""
    changed = False
    if rec.found_via not in row.found_via:
        row.found_via = [*row.found_via, rec.found_via]
    best = rec.identity_keys()[0]
    if _rank(best) < _rank(row.canonical_id):
        row.canonical_id = best  # arXiv is the strongest key once known, then DOI, S2, OpenAlex
    newer = rec.arxiv_version is not None and (row.version is None or rec.arxiv_version > row.version)
    if newer:
        row.version = rec.arxiv_version
        changed |= (row.title, row.abstract) != (rec.title, rec.abstract or row.abstract)
        row.title, row.abstract = rec.title, rec.abstract or row.abstract
        row.updated = rec.updated or row.updated
    elif not row.abstract and rec.abstract:
        row.abstract, changed = rec.abstract, True
    for field in ("published", "url"):
        if getattr(row, field) is None and getattr(rec, field) is not None:
            setattr(row, field, getattr(rec, field))
    if not row.authors and rec.authors:
        row.authors = list(rec.authors)
    if rec.categories and set(rec.categories) - set(row.categories):
        row.categories = sorted(set(row.categories) | set(rec.categories))
    if changed:
        row.changed_at = utcnow()
    return "updated" if changed else "unchanged"


def _rows_pointing_at_papers() -> list[tuple[type, Any]]:
    """Every (model, column) with a foreign key to papers.id: keys, sources, passages, evidence, and
    whatever table is added later, so a merge never leaves a row pointing at a deleted paper."""
    papers_id = PaperRow.__table__.c.id
    return [(m.class_, getattr(m.class_, c.key)) for m in Base.registry.mappers for c in m.local_table.columns
            if any(fk.column is papers_id for fk in c.foreign_keys)]


def _rank(key: str) -> int:
    return next((i for i, p in enumerate(_KEY_RANK) if key.startswith(p)), len(_KEY_RANK))


def _utc(dt: datetime | None) -> datetime:
    if dt is None:
        return datetime.max.replace(tzinfo=timezone.utc)
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt
