"""Reading back the CSV that `questlog export --format csv` writes, as links the ledger can restore.

Each row must carry its paper itself: canonical id (or DOI), title, authors, year or date,
abstract and the linked passage's text. A row with only a DOI or an arXiv id is refused here: a
reading list (`questlog.exporting.reading_list`) is the format whose papers are looked up. Rows are numbered as a
spreadsheet shows them (the header is row 1). Every bad row is reported; none is returned then.
"""

from __future__ import annotations

import csv
from datetime import date, datetime, timezone
from pathlib import Path

from questlog.exporting.formats import AUTHOR_SEPARATOR
from shared.ledger.restore import RestoredLink
from shared.ledger.store import QUESTION_STATUSES
from shared.records import PaperRecord

REQUIRED = ("question_id", "question", "verdict", "paper", "title", "passage")
_VERDICTS = ("", "accepted", "rejected")


class BadRow(ValueError):
    pass


def read_links(path: Path) -> tuple[list[RestoredLink], list[str]]:
    """(links, errors): one error per bad row ('row 3: ...'), or one for a missing column or an
    unreadable file; when there are errors, the links are not to be used."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:  # -sig: a spreadsheet may add a BOM
            reader = csv.DictReader(f)
            rows = list(reader)
            header = set(reader.fieldnames or ())
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        return [], [f"{path}: cannot be read as CSV: {e}"]
    if not header:
        return [], [f"{path}: is empty (not even a header)"]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        return [], [f"{path}: missing column(s) {', '.join(missing)} (is it a `questlog export --format csv` file?)"]
    links, errors = [], []
    for n, row in enumerate(rows, start=2):
        try:
            links.append(_link(f"row {n}", {k: (v or "").strip() for k, v in row.items() if k}))
        except BadRow as e:
            errors.append(f"row {n}: {e}")
    return links, errors


def _link(origin: str, row: dict[str, str]) -> RestoredLink:
    paper = row["paper"] or (f"doi:{row['doi']}" if row.get("doi") else "")
    if not paper and not row["title"]:
        raise BadRow("no paper (paper, doi and title are empty)")
    if not row["title"] or not row["passage"]:
        raise BadRow(f"only an id ({paper}) without its title and passage text: a row of an export carries its "
                     "paper; to have papers looked up by id, import a reading list (columns question, arxiv_id, "
                     "doi, title, note)")
    if row["verdict"] not in _VERDICTS:
        raise BadRow(f"verdict must be accepted, rejected or empty; got {row['verdict']!r}")
    status = row.get("question_status") or "open"
    if status not in QUESTION_STATUSES:
        raise BadRow(f"question_status must be one of {', '.join(QUESTION_STATUSES)}; got {status!r}")
    if not row["question"]:
        raise BadRow("the question is empty")
    found_at = _parse(row, "found_at", datetime.fromisoformat, None) or datetime.now(timezone.utc)
    return RestoredLink(
        origin=origin, question_id=_parse(row, "question_id", _positive, None), question=row["question"],
        question_status=status, paper=_record(row, paper), passage_index=_parse(row, "passage_index", _natural, 0),
        passage=row["passage"], score=_parse(row, "score", float, 0.0), stance=row.get("stance") or "neutral",
        answer=row.get("answer", ""), rationale=row.get("rationale", ""), verdict=row["verdict"] or None,
        note=row.get("note") or None, model=row.get("model") or "import", retrieval=row.get("retrieval") or "import",
        found_at=found_at if found_at.tzinfo else found_at.replace(tzinfo=timezone.utc))


def _record(row: dict[str, str], paper: str) -> PaperRecord:
    """The paper as one source's record, ids taken from its canonical id and DOI column."""
    kind, _, value = paper.partition(":")
    ids: dict = {}
    source, source_id = "import", paper or row["title"]
    if kind == "arxiv":
        ids = {"arxiv_id": value, "arxiv_version": _parse(row, "version", _positive, None)}
    elif kind in ("s2", "openalex"):
        ids = {f"{kind}_id" if kind == "s2" else "openalex_id": value}
    elif kind == "corpus":  # a local corpus's document keeps its own key (see PaperRecord.identity_keys)
        source, _, local = value.partition(":")
        ids = {"extra": {"local_corpus_id": local}}
    published = _parse(row, "published", date.fromisoformat, None)
    return PaperRecord(
        source=source, source_id=source_id, doi=row.get("doi") or (value if kind == "doi" else None),
        title=row["title"], authors=tuple(a.strip() for a in row.get("authors", "").split(AUTHOR_SEPARATOR.strip())
                                          if a.strip()),
        abstract=row.get("abstract", ""), url=row.get("url") or None, found_via="import",
        published=datetime(published.year, published.month, published.day, tzinfo=timezone.utc) if published else None,
        **ids)


def _parse(row: dict[str, str], column: str, parse, default):
    raw = row.get(column, "")
    if not raw:
        if default is None and column in REQUIRED:
            raise BadRow(f"{column} is empty")
        return default
    try:
        return parse(raw)
    except ValueError:
        raise BadRow(f"{column} is not valid: {raw!r}") from None


def _positive(raw: str) -> int:
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(raw)
    return int(raw)


def _natural(raw: str) -> int:
    if not raw.isdigit():
        raise ValueError(raw)
    return int(raw)
