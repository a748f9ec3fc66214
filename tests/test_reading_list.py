"""Importing the reading list a user already keeps (CSV or XLSX): papers looked up by arXiv id
(arXiv's API) and DOI (Crossref), both replayed on 127.0.0.1, become accepted evidence with the
user's notes; what cannot be found is kept as an unresolved entry, never dropped. Semantic Scholar
ids, OpenAlex ids and titles with their year: tests/test_reading_list_lookups.py."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest

from tests.test_cli import ql

DOI = "10.1371/journal.pone.0033693"  # recorded from Crossref
Q1 = "How do stimulants affect dopamine neurons?"
Q2 = "Which retrieval methods work for scientific text?"


@pytest.fixture
def env(arxiv_server, replay):
    _, recorded = replay
    return {"QUESTLOG_ARXIV__BASE_URL": f"{arxiv_server.url}/api/query", "QUESTLOG_ARXIV__MIN_INTERVAL_S": "0",
            "QUESTLOG_CROSSREF__BASE_URL": f"{recorded.url}/api.crossref.org", "QUESTLOG_CROSSREF__MIN_INTERVAL_S": "0",
            # a reading list may name papers any of these ways: no source may reach a real host from a test
            "QUESTLOG_SEMANTICSCHOLAR__BASE_URL": f"{recorded.url}/api.semanticscholar.org",
            "QUESTLOG_SEMANTICSCHOLAR__MIN_INTERVAL_NO_KEY_S": "0",
            "QUESTLOG_OPENALEX__BASE_URL": f"{recorded.url}/api.openalex.org", "QUESTLOG_OPENALEX__MIN_INTERVAL_S": "0"}


def rows(known_arxiv: str) -> list[dict[str, str]]:
    return [
        {"question": Q1, "arxiv_id": "", "doi": DOI, "title": "", "year": "", "note": "the key paper"},
        {"question": Q2, "arxiv_id": known_arxiv, "doi": "", "title": "", "year": "", "note": ""},
        {"question": Q2, "arxiv_id": "", "doi": "", "title": "A paper I saw at a workshop", "year": "",
         "note": "ask Ana"},
        {"question": Q2, "arxiv_id": "2501.99999", "doi": "", "title": "", "year": "", "note": ""},
    ]


def write_csv(path: Path, data: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(data[0]))
        w.writeheader()
        w.writerows(data)
    return path


def test_a_reading_list_becomes_accepted_evidence_and_what_cannot_be_found_is_kept_and_reported(
        tmp_path, env, snapshot):
    known = snapshot[-5].arxiv_id  # listed before the replay's today
    data = tmp_path / "data"
    listing = write_csv(tmp_path / "list.csv", rows(known))
    r = ql(data, "import", str(listing), env=env)
    assert r.returncode == 0, r.stderr
    assert "4 row(s), 2 resolved, 2 unresolved" in r.stdout
    assert "row 4: 'A paper I saw at a workshop' kept unresolved: a title is searched only with its year" in r.stderr
    assert "row 5: arXiv 2501.99999 kept unresolved: arXiv has no paper 2501.99999" in r.stderr
    questions = json.loads(ql(data, "questions", "--json").stdout)
    assert [q["text"] for q in questions] == [Q1, Q2]
    first = json.loads(ql(data, "evidence", "1", "--json").stdout)["evidence"]
    assert [(e["title"][:40], e["verdict"], e["note"], e["retrieval"]) for e in first] == [
        ("Methylphenidate Exposure Induces Dopamin", "accepted", "the key paper", "import")]
    second = {e["title"]: e for e in json.loads(ql(data, "evidence", "2", "--json").stdout)["evidence"]}
    assert snapshot[-5].title in second and second[snapshot[-5].title]["paper"].startswith(f"arxiv:{known}")
    assert second["A paper I saw at a workshop"]["note"] == (
        "unresolved: a title is searched only with its year; add the year, or an arXiv id, DOI, S2 or OpenAlex id; "
        "ask Ana")
    again = ql(data, "import", str(listing), env=env)  # the same list twice changes nothing
    assert again.returncode == 0 and "0 questions added, 0 papers added, 0 passages added, 0 links added" in again.stdout


def test_a_dry_run_resolves_and_reports_but_writes_nothing(tmp_path, env, snapshot):
    listing = write_csv(tmp_path / "list.csv", rows(snapshot[-5].arxiv_id))
    r = ql(tmp_path / "data", "import", str(listing), "--dry-run", env=env)
    assert r.returncode == 0 and "dry run, nothing written: would make 4 row(s), 2 resolved" in r.stdout
    assert not (tmp_path / "data" / "ledger.sqlite3").exists()


def test_an_xlsx_reading_list_is_read_like_a_csv(tmp_path, env, snapshot):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    data = rows(snapshot[-5].arxiv_id)
    sheet.append(list(data[0]))
    for row in data:
        sheet.append(list(row.values()))
    book.save(tmp_path / "list.xlsx")
    r = ql(tmp_path / "data", "import", str(tmp_path / "list.xlsx"), env=env)
    assert r.returncode == 0 and "4 row(s), 2 resolved, 2 unresolved" in r.stdout, r.stderr


def test_bad_rows_and_an_xlsx_zip_bomb_are_refused_naming_why_and_nothing_is_written(tmp_path, env):
    bad = write_csv(tmp_path / "bad.csv", [
        {"question": "", "arxiv_id": "2205.13147", "doi": "", "title": "", "note": ""},
        {"question": Q1, "arxiv_id": "not-an-id", "doi": "", "title": "", "note": ""},
        {"question": Q1, "arxiv_id": "", "doi": "", "title": "", "note": "just a note"},
    ])
    r = ql(tmp_path / "data", "import", str(bad), env=env)
    assert r.returncode == 2
    assert "row 2: no question" in r.stderr and "row 3: arxiv_id 'not-an-id' is not an arXiv id" in r.stderr
    assert "row 4: no arxiv_id, doi, s2_id, openalex_id or title" in r.stderr
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * 150_000_000)
    (tmp_path / "bomb.xlsx").write_bytes(bomb.getvalue())
    r = ql(tmp_path / "data", "import", str(tmp_path / "bomb.xlsx"), env=env)
    assert r.returncode == 2 and "refused as a possible zip bomb" in r.stderr
    (tmp_path / "fake.xlsx").write_text("question,doi\n")
    r = ql(tmp_path / "data", "import", str(tmp_path / "fake.xlsx"), env=env)
    assert r.returncode == 2 and "is not an XLSX file" in r.stderr
    assert not (tmp_path / "data" / "ledger.sqlite3").exists()
