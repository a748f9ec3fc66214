"""Papers and passages in the ledger: one record per real-world paper, merged from every source
(the merging itself: `shared.ledger.merging`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shared.errors import NotFound
from shared.ledger.merging import PaperUpsert, fresh_records, insert_new, lock_keys, merge_record, rows_in
from shared.ledger.models import PaperKeyRow, PaperRow, PaperSourceRow, PassageRow, utcnow
from shared.records import PaperRecord

__all__ = ["CorpusMixin", "PaperUpsert", "PassageDraft"]


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
        return self.retrying(lambda s: merge_record(s, record))

    def upsert_papers(self, records: list[PaperRecord], batch: int = UPSERT_BATCH) -> list[PaperUpsert]:
        """`upsert_paper` for each record, in order, in transactions of `batch` records: a crawl's
        page costs a commit or a few, not one per paper. A record merges with the ones before it as it
        would one call later. On PostgreSQL every identity key of a transaction's records is locked
        first, in the one global order, so two workers storing overlapping pages wait for each other
        instead of deadlocking; the batch bound keeps those locks well inside the server's lock table
        (an OAI-PMH page holds about 1,000 records). The chunk's records that share nothing with the
        ledger or each other (`merging.fresh_records`: a page of new papers, mostly) are inserted with
        no lookup of their own; the end state is the one record-by-record storing gives."""
        out: list[PaperUpsert] = []
        for at in range(0, len(records), batch):
            chunk = records[at:at + batch]

            def write(s: Session, chunk=chunk) -> list[PaperUpsert]:
                keys = [r.identity_keys() for r in chunk]
                lock_keys(s, [k for ks in keys for k in ks])
                fresh = fresh_records(s, chunk, keys)
                stored, children = [], []

                def settle() -> None:  # papers first: nothing tells the flush that keys depend on them
                    s.flush()
                    s.add_all(children)
                    s.flush()
                    children.clear()

                for i, record in enumerate(chunk):
                    if i in fresh:  # shares nothing with the ledger or the chunk: no lookups to make
                        stored.append(insert_new(s, record, keys[i], children))
                        continue
                    settle()
                    stored.append(merge_record(s, record, locked=True))
                    s.flush()  # the next record's lookups see this one's keys
                settle()
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
        lookup of the passages already stored and one of the papers that have any; returns the ids not yet
        indexed, in the order given."""
        if not papers:
            return []

        def write(s: Session) -> list[str]:
            wanted = [pid for _, _, ids in papers for pid in ids]
            known: dict[str, PassageRow] = {r.id: r for r in rows_in(s, PassageRow, PassageRow.id, wanted)}
            # only a paper with current passages (or met earlier in this call) can have some to retire:
            # a batch of new papers then costs no UPDATE per paper
            retiring = set(s.scalars(select(PassageRow.paper_id).distinct().where(
                PassageRow.paper_id.in_(sorted({p for p, _, _ in papers})), PassageRow.current.is_(True))))
            pending = []
            for paper_id, drafts, ids in papers:
                if paper_id in retiring:
                    s.execute(update(PassageRow).where(PassageRow.paper_id == paper_id, PassageRow.id.not_in(ids))
                              .values(current=False))
                retiring.add(paper_id)
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
