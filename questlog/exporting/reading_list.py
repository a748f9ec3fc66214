"""A reading list the user already keeps (CSV or XLSX): questions and, per question, the papers they
have found — by arXiv id, DOI, or title (+ year) — with their own notes.

    question,arxiv_id,doi,title,year,note
    How many dimensions does text need?,2205.13147,,,,"Matryoshka: nested dims"
    How many dimensions does text need?,,10.18653/v1/2021.emnlp-main.552,,,

Each paper is resolved through the sources (an arXiv id through arXiv's API, a DOI through Crossref)
and becomes accepted evidence for its question, with the note; a question not asked yet is added.
A row that cannot be resolved (no such id, a source that does not answer, a title alone) is kept as
an unresolved entry — the title or id as the paper, the reason in its note — and reported by its row
number, never dropped. Rows are numbered as a spreadsheet shows them (the header is row 1).
"""

from __future__ import annotations

import csv
import hashlib
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from shared.errors import NotFound, PermanentError, QuestlogError
from shared.passages import abstract_passage
from shared.records import PaperRecord

ID_COLUMNS = ("arxiv_id", "doi", "title")
MAX_FILE_MB = 20
MAX_XLSX_UNPACKED_MB = 100  # a small .xlsx that unpacks to gigabytes is a zip bomb
ARXIV = re.compile(r"^(?:arxiv:|https?://arxiv\.org/(?:abs|pdf)/)?(\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7})"
                   r"(?:v\d+)?$", re.IGNORECASE)


@dataclass(frozen=True)
class ListEntry:
    row: int
    question: str
    arxiv_id: str = ""
    doi: str = ""
    title: str = ""
    year: str = ""
    note: str = ""

    @property
    def named(self) -> str:
        return (f"arXiv {self.arxiv_id}" if self.arxiv_id else f"DOI {self.doi}" if self.doi
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
                          doi=get.get("doi", ""), title=get.get("title", ""), year=get.get("year", ""),
                          note=get.get("note", ""))
        if not entry.question:
            errors.append(f"row {n}: no question")
        elif not (entry.arxiv_id or entry.doi or entry.title):
            errors.append(f"row {n}: no arxiv_id, doi or title to find the paper by")
        elif entry.arxiv_id and not ARXIV.match(entry.arxiv_id):
            errors.append(f"row {n}: arxiv_id {entry.arxiv_id!r} is not an arXiv id (e.g. 2205.13147)")
        else:
            entries.append(entry)
    return entries, errors


def resolve(entries: list[ListEntry], arxiv=None, crossref=None, progress=lambda _m: None) -> list[Resolution]:
    """Each entry's paper through the sources given (None: not available). Never raises for one row."""
    out = []
    for e in entries:
        try:
            record, reason = _lookup(e, arxiv, crossref)
        except NotFound as err:
            record, reason = None, f"not found: {err}"
        except QuestlogError as err:
            record, reason = None, f"lookup failed: {err}"
        if record is None:
            out.append(Resolution(e, _unresolved_record(e), False, reason))
        else:
            out.append(Resolution(e, record, True))
        progress(f"row {e.row}: {e.named} -> " + (record.title[:70] if record else f"unresolved ({reason})"))
    return out


def _lookup(e: ListEntry, arxiv, crossref) -> tuple[PaperRecord | None, str]:
    if e.arxiv_id:
        if arxiv is None:
            return None, "arXiv is disabled (QUESTLOG_ARXIV__ENABLED)"
        found = arxiv.lookup(ARXIV.match(e.arxiv_id).group(1), found_via="import")
        return (found, "") if found else (None, f"arXiv has no paper {e.arxiv_id}")
    if e.doi:
        if crossref is None:
            return None, "Crossref is disabled (QUESTLOG_CROSSREF__ENABLED)"
        return crossref.work(e.doi, found_via="import"), ""
    return None, "a title alone is not looked up; add its arXiv id or DOI to resolve it"


def _unresolved_record(e: ListEntry) -> PaperRecord:
    key = hashlib.sha256(f"{e.arxiv_id}|{e.doi}|{e.title}|{e.year}".encode()).hexdigest()[:16]
    arxiv = ARXIV.match(e.arxiv_id).group(1) if e.arxiv_id else None
    # its ids are kept: when a crawl meets the paper later, the two merge
    return PaperRecord(source="import", source_id=f"unresolved:{key}", title=e.title or e.named,
                       arxiv_id=arxiv if arxiv and "." in arxiv else None, doi=e.doi or None,
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
