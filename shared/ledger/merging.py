"""Merging a source's record into the ledger's papers: the identity keys, and what joins or splits papers.

`merge_record` stores one record; `fresh_records` and `insert_new` let a page's records that share
nothing with the ledger or each other be stored without a lookup each (`CorpusMixin.upsert_papers`).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from sqlalchemy import delete, or_, select, text, update
from sqlalchemy.orm import Session

from shared.ids import paper_id as make_paper_id
from shared.ledger.models import Base, FullTextRow, PaperKeyRow, PaperRow, PaperSourceRow, PassageRow, utcnow
from shared.records import PaperRecord


@dataclass(frozen=True)
class PaperUpsert:
    paper_id: str
    status: Literal["new", "updated", "unchanged"]


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


def merge_record(s: Session, rec: PaperRecord, locked: bool = False) -> PaperUpsert:
    """Store one record (module docstring); `locked`: the caller already holds its keys' locks."""
    keys = rec.identity_keys()
    if not locked:
        lock_keys(s, keys)
    rows = _matching_papers(s, keys)
    status: Literal["new", "updated", "unchanged"]
    if not rows:
        pid = make_paper_id(keys[0])
        row = s.get(PaperRow, pid)
        if row is not None:  # that key names a paper this record conflicts with
            pid = make_paper_id(f"{keys[0]}|{rec.source}:{rec.source_id}")
            row = s.get(PaperRow, pid)
        if row is None:
            row = _new_paper(pid, keys[0], rec)
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


def _new_paper(pid: str, canonical: str, rec: PaperRecord) -> PaperRow:
    return PaperRow(id=pid, canonical_id=canonical, version=rec.arxiv_version, title=rec.title,
                    authors=list(rec.authors), abstract=rec.abstract, published=rec.published, updated=rec.updated,
                    categories=list(rec.categories), url=rec.url, found_via=[rec.found_via])


def fresh_records(s: Session, chunk: list[PaperRecord], keys: list[list[str]]) -> set[int]:
    """Indices of the records that `merge_record` would simply insert, found with three lookups for the
    whole chunk: no key of theirs is known or shared with another record of the chunk, and neither
    their paper id nor their (source, source id) is taken. Storing them needs no per-record query.
    The known papers and source rows those lookups load stay in the session (`s.info`), so the
    other records' `s.get` of them costs no query either."""
    count = Counter(k for ks in keys for k in set(ks))
    pids = [make_paper_id(ks[0]) for ks in keys]
    pairs = Counter((r.source, r.source_id) for r in chunk)
    key_rows = rows_in(s, PaperKeyRow, PaperKeyRow.key, list(count))
    papers = rows_in(s, PaperRow, PaperRow.id, sorted(set(pids) | {k.paper_id for k in key_rows}))
    sources = rows_in(s, PaperSourceRow, PaperSourceRow.source_id, sorted({r.source_id for r in chunk}))
    s.info.setdefault("prefetched", []).extend([*papers, *sources])  # the identity map holds rows weakly
    taken_keys, taken_pids = {k.key for k in key_rows}, {p.id for p in papers}
    taken_pairs = {(r.source, r.source_id) for r in sources}
    return {i for i, (rec, ks) in enumerate(zip(chunk, keys, strict=True))
            if all(count[k] == 1 and k not in taken_keys for k in ks) and pids[i] not in taken_pids
            and pairs[(rec.source, rec.source_id)] == 1 and (rec.source, rec.source_id) not in taken_pairs}


def rows_in(s: Session, model, column, values: list[str]) -> list:
    """The model's rows whose column holds one of `values` (statements of at most 500 parameters)."""
    found: list = []
    for at in range(0, len(values), 500):
        found += s.scalars(select(model).where(column.in_(values[at:at + 500]))).all()
    return found


def insert_new(s: Session, rec: PaperRecord, keys: list[str], children: list) -> PaperUpsert:
    """A record `fresh_records` chose: its paper is added now, its keys and source row go to `children`,
    for the caller to add once the paper is flushed."""
    row = _new_paper(make_paper_id(keys[0]), keys[0], rec)
    s.add(row)
    children += [PaperKeyRow(key=k, paper_id=row.id) for k in keys]
    children.append(PaperSourceRow(source=rec.source, source_id=rec.source_id, paper_id=row.id))
    return PaperUpsert(row.id, "new")


def lock_keys(s: Session, keys: list[str]) -> None:
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
