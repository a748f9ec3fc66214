"""A reading list the user already keeps (CSV or XLSX): questions and, per question, the papers they
have found — by arXiv id, DOI, Semantic Scholar id, OpenAlex id, or title + year — with their own notes.

    question,arxiv_id,doi,s2_id,openalex_id,title,year,note
    How many dimensions does text need?,2205.13147,,,,,,"Matryoshka: nested dims"
    How many dimensions does text need?,,10.18653/v1/2021.emnlp-main.552,,,,,
    How many dimensions does text need?,,,CorpusId:470667,,,,
    How many dimensions does text need?,,,,,Augmenting large language models with chemistry tools,2024,

Each paper is resolved through the sources (`questlog.exporting.resolving`: arXiv ids through arXiv's
API, DOIs through Crossref, Semantic Scholar ids through S2, OpenAlex ids and title + year through
OpenAlex) and becomes accepted evidence for its question, with the note; a question not asked yet is
added. A row that cannot be resolved (no such id, a source that does not answer, a title with no
close match in its year, a title without a year) is kept as an unresolved entry — the title or id as
the paper, the reasons in its note — and reported by its row number, never dropped. Rows are numbered
as a spreadsheet shows them (the header is row 1).
"""

from __future__ import annotations

import csv
import hashlib
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from questlog.exporting.resolving import ARXIV, Lookups, batch_s2, find, openalex_ref, s2_ref
from shared.errors import PermanentError
from shared.passages import abstract_passage
from shared.records import PaperRecord

ID_COLUMNS = ("arxiv_id", "doi", "s2_id", "openalex_id", "title")
MAX_FILE_MB = 20
MAX_XLSX_UNPACKED_MB = 100  # a small .xlsx that unpacks to gigabytes is a zip bomb


@dataclass(frozen=True)
class ListEntry:
    row: int
    question: str
    arxiv_id: str = ""
    doi: str = ""
    s2_id: str = ""
    openalex_id: str = ""
    title: str = ""
    year: str = ""
    note: str = ""

    @property
    def named(self) -> str:
        return (f"arXiv {self.arxiv_id}" if self.arxiv_id else f"DOI {self.doi}" if self.doi
                else f"S2 {self.s2_id}" if self.s2_id else f"OpenAlex {self.openalex_id}" if self.openalex_id
                else f"{self.title!r}" + (f" ({self.year})" if self.year else ""))


@dataclass(frozen=True)
class Resolution:
    entry: ListEntry
    record: PaperRecord
    resolved: bool
    reason: str = ""  # why it is unresolved

    @property
    def passage(self) -> str:
        return abstract_passage(self.record.title, self.record.abstract)


def is_reading_list(header: set[str]) -> bool:
    """A reading list names questions by text and papers by id; an export names questions by id."""
    return "question" in header and not header & {"question_id", "passage"} and bool(header & set(ID_COLUMNS))


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """(header, rows) of a CSV or XLSX file. Raises PermanentError naming what is wrong with the file."""
    if not path.is_file():
        raise PermanentError(f"no such file: {path}")
    size = path.stat().st_size
    if size == 0:
        raise PermanentError(f"{path} is empty (not even a header)")
    if size > MAX_FILE_MB * 1e6:
        raise PermanentError(f"{path} is {size / 1e6:.0f} MB; a reading list is at most {MAX_FILE_MB} MB")
    if path.suffix.lower() == ".xlsx":
        return _xlsx_rows(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            rows = [{k: (v or "") for k, v in r.items() if k is not None} for r in reader]
            return [h.strip() for h in reader.fieldnames or []], rows
    except (UnicodeDecodeError, csv.Error) as e:
        raise PermanentError(f"{path} cannot be read as CSV: {e}") from e


def _xlsx_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    try:
        with zipfile.ZipFile(path) as z:
            unpacked = sum(i.file_size for i in z.infolist())
    except zipfile.BadZipFile as e:
        raise PermanentError(f"{path} is not an XLSX file (not a zip archive): {e}") from e
    if unpacked > MAX_XLSX_UNPACKED_MB * 1e6:
        raise PermanentError(f"{path} unpacks to {unpacked / 1e6:.0f} MB (over {MAX_XLSX_UNPACKED_MB} MB): "
                             "refused as a possible zip bomb")
    from openpyxl import load_workbook

    try:
        sheet = load_workbook(path, read_only=True, data_only=True).worksheets[0]
        values = [["" if v is None else str(v).strip() for v in row] for row in sheet.iter_rows(values_only=True)]
    except Exception as e:  # openpyxl raises many kinds for a damaged workbook
        raise PermanentError(f"{path} cannot be read as XLSX: {type(e).__name__}: {e}") from e
    if not values:
        raise PermanentError(f"{path} is empty (not even a header)")
    header = values[0]
    return header, [dict(zip(header, row, strict=False)) for row in values[1:]]


def parse_entries(rows: list[dict[str, str]]) -> tuple[list[ListEntry], list[str]]:
    """(entries, errors): one error per bad row; a row with no question or no way to name its paper
    is bad (the whole file is then refused, nothing written)."""
    entries, errors = [], []
    for n, r in enumerate(rows, start=2):
        get = {k.strip().lower(): " ".join(str(v).split()) for k, v in r.items()}
        if not any(get.values()):
            continue  # a blank line in a spreadsheet
        entry = ListEntry(row=n, question=get.get("question", ""), arxiv_id=get.get("arxiv_id", ""),
                          doi=get.get("doi", ""), s2_id=get.get("s2_id", ""), openalex_id=get.get("openalex_id", ""),
                          title=get.get("title", ""), year=_year(get.get("year", "")), note=get.get("note", ""))
        if not entry.question:
            errors.append(f"row {n}: no question")
        elif not (entry.arxiv_id or entry.doi or entry.s2_id or entry.openalex_id or entry.title):
            errors.append(f"row {n}: no arxiv_id, doi, s2_id, openalex_id or title to find the paper by")
        elif entry.arxiv_id and not ARXIV.match(entry.arxiv_id):
            errors.append(f"row {n}: arxiv_id {entry.arxiv_id!r} is not an arXiv id (e.g. 2205.13147)")
        elif entry.s2_id and not s2_ref(entry.s2_id):
            errors.append(f"row {n}: s2_id {entry.s2_id!r} is not a Semantic Scholar id (a 40-hex paperId, "
                          "S2:<paperId> or CorpusId:<number>)")
        elif entry.openalex_id and not openalex_ref(entry.openalex_id):
            errors.append(f"row {n}: openalex_id {entry.openalex_id!r} is not an OpenAlex work id (e.g. W2741809807)")
        elif entry.year and not (entry.year.isdigit() and len(entry.year) == 4):
            errors.append(f"row {n}: year {entry.year!r} is not a year (e.g. 2024)")
        else:
            entries.append(entry)
    return entries, errors


def _year(raw: str) -> str:
    """'2024', a spreadsheet's number '2024.0' or a date '2024-05-08' as '2024'; anything else as written."""
    m = re.fullmatch(r"(\d{4})(?:\.0+|-\d{2}(?:-\d{2})?)?", raw)
    return m.group(1) if m else raw


def resolve(entries: list[ListEntry], lookups: Lookups, progress=lambda _m: None) -> list[Resolution]:
    """Each entry's paper through the sources in `lookups` (`resolving.find`). Never raises for one row."""
    s2_found = batch_s2(entries, lookups)
    out = []
    for e in entries:
        record, reason = find(e, lookups, s2_found)
        if record is None:
            out.append(Resolution(e, _unresolved_record(e), False, reason))
        else:
            out.append(Resolution(e, record, True))
        progress(f"row {e.row}: {e.named} -> " + (record.title[:70] if record else f"unresolved ({reason})"))
    return out


def _unresolved_record(e: ListEntry) -> PaperRecord:
    ids = f"{e.arxiv_id}|{e.doi}|{e.title}|{e.year}"
    if e.s2_id or e.openalex_id:  # rows without them keep the key they had before these columns
        ids += f"|{e.s2_id}|{e.openalex_id}"
    key = hashlib.sha256(ids.encode()).hexdigest()[:16]
    arxiv = ARXIV.match(e.arxiv_id).group(1) if e.arxiv_id else None
    s2 = s2_ref(e.s2_id) if e.s2_id else None
    # its ids are kept: when a crawl meets the paper later, the two merge
    return PaperRecord(source="import", source_id=f"unresolved:{key}", title=e.title or e.named,
                       arxiv_id=arxiv if arxiv and "." in arxiv else None, doi=e.doi or None,
                       s2_id=s2 if s2 and ":" not in s2 else None,
                       openalex_id=openalex_ref(e.openalex_id) if e.openalex_id else None,
                       published=datetime(int(e.year), 1, 1, tzinfo=timezone.utc) if e.year.isdigit() else None,
                       found_via="import:unresolved")


def to_links(resolutions: list[Resolution], known_questions: dict[str, int], next_id: int) -> list:
    """The resolutions as links `Ledger.restore` adds in one transaction: accepted, with the row's note
    (an unresolved one says why in its note). `known_questions`: normalised text -> id; a question not
    known gets the next free id."""
    from shared.ids import normalize_text
    from shared.ledger.restore import RestoredLink

    ids = dict(known_questions)
    links, now = [], datetime.now(timezone.utc)
    for r in resolutions:
        norm = normalize_text(r.entry.question)
        if norm not in ids:
            ids[norm], next_id = next_id, next_id + 1
        note = r.entry.note if r.resolved else "; ".join(filter(None, (f"unresolved: {r.reason}", r.entry.note)))
        links.append(RestoredLink(origin=f"row {r.entry.row}", question_id=ids[norm], question=r.entry.question,
                                  question_status="open", paper=r.record, passage_index=0, passage=r.passage,
                                  score=1.0, stance="neutral", answer="", rationale="", verdict="accepted",
                                  note=note or None, model="user", retrieval="import", found_at=now))
    return links
