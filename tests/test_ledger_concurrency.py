"""Several worker processes merging the same papers into one ledger at once (SQLite, and PostgreSQL
where it answers): one row per paper, every way each was found kept."""

from __future__ import annotations

import multiprocessing

from sqlalchemy import func, select

from shared.ledger import Ledger
from shared.ledger.models import PaperRow
from shared.records import PaperRecord

PAPERS = 150
PROCESSES = 4


def _records(worker: int) -> list[PaperRecord]:
    # each worker finds every paper through its own feed, half of them by arXiv id and DOI in turn
    return [PaperRecord(source="arxiv" if i % 2 else "crossref", source_id=f"w{worker}-{i}",
                        arxiv_id=f"2606.{i:05d}" if i % 2 else None, doi=None if i % 2 else f"10.1/{i}",
                        title=f"A study of concurrent merges number {i}", authors=("Ada Lovelace",),
                        found_via=f"firehose:feed{worker}")
            for i in range(PAPERS)]


def _merge(url: str, worker: int, start, page: int) -> None:
    ledger = Ledger(url)
    records = _records(worker)
    if worker % 2:  # half the workers meet the papers in the other order: their pages' keys cross
        records.reverse()
    start.wait()
    if page:
        for at in range(0, len(records), page):
            ledger.upsert_papers(records[at:at + page])
    else:
        for rec in records:
            ledger.upsert_paper(rec)
    ledger.close()


def _merge_in_four_processes_and_check(url: str, page: int = 0) -> None:
    Ledger(url).close()
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(PROCESSES)
    procs = [ctx.Process(target=_merge, args=(url, w, start, page)) for w in range(PROCESSES)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(180)
    assert [p.exitcode for p in procs] == [0] * PROCESSES
    ledger = Ledger(url)
    with ledger.session() as s:
        assert s.scalar(select(func.count()).select_from(PaperRow)) == PAPERS
        found = [set(row.found_via) for row in s.scalars(select(PaperRow))]
    assert all(f == {f"firehose:feed{w}" for w in range(PROCESSES)} for f in found)
    ledger.close()


def test_four_processes_merging_the_same_papers_on_sqlite_leave_one_row_each_and_every_found_via(tmp_path):
    _merge_in_four_processes_and_check(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")


def test_four_processes_merging_the_same_papers_on_postgresql_leave_one_row_each_and_every_found_via(
        postgres_url):
    _merge_in_four_processes_and_check(postgres_url)


def test_four_processes_storing_crossing_pages_of_the_same_papers_on_sqlite_leave_one_row_each(tmp_path):
    _merge_in_four_processes_and_check(f"sqlite:///{tmp_path / 'ledger.sqlite3'}", page=25)


def test_four_processes_storing_crossing_pages_of_the_same_papers_on_postgresql_neither_deadlock_nor_duplicate(
        postgres_url):
    _merge_in_four_processes_and_check(postgres_url, page=25)
