"""`questlog export`, `note`, the evidence filters and `import`, as a user types them, over a real SQLite ledger."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from pathlib import Path

import bibtexparser
import pytest
import rispy
from bibtexparser.middlewares import LatexDecodingMiddleware
from sqlalchemy import create_engine, text, update

from questlog.exporting.items import bibtex_keys
from shared.ids import passage_id
from shared.ledger import EvidenceDraft, Ledger, PassageDraft
from shared.ledger.models import EvidenceRow
from shared.records import PaperRecord
from tests.test_cli import ql

TRICKY_TITLE = "Deduplication & memorization: 50% less_copying in {LMs"


def ledger_of(data_dir: Path) -> Ledger:
    return Ledger(f"sqlite:///{data_dir}/ledger.sqlite3")


def link(ledger: Ledger, question_id: int, arxiv_id: str, title: str, authors: tuple[str, ...], published: str,
         passage: str, score: float, answer: str = "yes", rationale: str = "", doi: str | None = None) -> str:
    """One paper with one passage linked to the question; returns the link's id."""
    paper = ledger.upsert_paper(PaperRecord(
        source="arxiv", source_id=f"{arxiv_id}v2", arxiv_id=arxiv_id, arxiv_version=2, doi=doi, title=title,
        authors=authors, abstract=passage, published=datetime.fromisoformat(published).replace(tzinfo=timezone.utc),
        url=f"https://arxiv.org/abs/{arxiv_id}v2")).paper_id
    pid = passage_id(paper, 0, passage)
    ledger.replace_passages(paper, [PassageDraft(0, passage, 0, len(passage))], [pid])
    ledger.upsert_evidence([EvidenceDraft(question_id, pid, paper, score, {"minilm": score}, "backfill", "minilm",
                                          "test", rationale=rationale, relevance=score, answer=answer)])
    return next(e.id for e in ledger.evidence(question_id) if e.passage_id == pid)


def seed(data_dir: Path) -> dict[str, str]:
    """Q1 with three links (one accepted with a note, one without a verdict, one rejected); Q2 with a
    link to the first paper; Q3 with none. Links found on 2026-01-10, 2026-03-01 and 2026-02-01."""
    led = ledger_of(data_dir)
    q1 = led.add_question("Does deduplication reduce memorization?").id
    q2 = led.add_question("Is tokenisation solved for code?").id
    led.add_question("What is a domain in NLP?")
    ids = {
        "accepted": link(led, q1, "2601.00001", TRICKY_TITLE, ("Ashish Vaswani", "Noam Shazeer"), "2017-06-12",
                         "Deduplicating halves memorization.", 0.9, rationale="It halves it.", doi="10.1000/Dedup.1"),
        "open": link(led, q1, "2601.00002", "Memorization in language models revisited", ("José Müller",),
                     "2026-01-05", "We see no effect of deduplication.", 0.7, answer="no"),
        "rejected": link(led, q1, "2601.00003", "An unrelated paper on vision", ("Ada Lovelace",), "2025-12-01",
                         "Images are pixels.", 0.5, answer="unclear"),
        "other_question": link(led, q2, "2601.00001", TRICKY_TITLE, ("Ashish Vaswani", "Noam Shazeer"),
                               "2017-06-12", "Deduplicating halves memorization.", 0.6),
    }
    led.set_verdict(ids["accepted"], "accepted")
    led.set_note(ids["accepted"], "Key result; cite in chapter 2.")
    led.set_verdict(ids["rejected"], "rejected")
    with led.session() as s:
        for name, day in (("accepted", "2026-01-10"), ("open", "2026-03-01"), ("rejected", "2026-02-01")):
            s.execute(update(EvidenceRow).where(EvidenceRow.id == ids[name])
                      .values(found_at=datetime.fromisoformat(day).replace(tzinfo=timezone.utc)))
    led.close()
    return ids


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("export")
    return data_dir, seed(data_dir)


def parse_bibtex(text_: str):
    library = bibtexparser.parse_string(text_, append_middleware=[LatexDecodingMiddleware()])
    assert not library.failed_blocks
    return library


def test_bibtex_export_parses_into_one_entry_per_kept_link(seeded):
    data_dir, _ = seeded
    r = ql(data_dir, "export", "1", "--format", "bibtex")
    assert r.returncode == 0, r.stderr
    entries = parse_bibtex(r.stdout).entries
    assert len(entries) == 2  # the accepted link and the one without a verdict; the rejected one is left out
    first = {f.key: f.value for f in entries[0].fields}
    assert first["title"] == TRICKY_TITLE and first["doi"] == "10.1000/dedup.1"
    assert first["author"] == "Vaswani, Ashish and Shazeer, Noam" and first["year"] == "2017"
    assert first["eprint"] == "2601.00001v2" and first["url"] == "https://arxiv.org/abs/2601.00001v2"
    assert "verdict: accepted" in first["note"] and "Key result; cite in chapter 2." in first["note"]
    assert "It halves it." in first["note"]
    assert "Images are pixels" not in r.stdout


def test_bibtex_keys_read_surname_year_hash_and_are_the_same_in_two_exports(seeded):
    data_dir, _ = seeded
    once, again = (ql(data_dir, "export", "1", "-f", "bibtex").stdout for _ in range(2))
    keys = [e.key for e in parse_bibtex(once).entries]
    assert keys == [e.key for e in parse_bibtex(again).entries]
    assert keys[0].startswith("vaswani2017") and len(keys[0]) == len("vaswani2017") + 4
    assert keys[1].startswith("muller2026")


def test_two_papers_whose_short_keys_would_collide_get_distinct_keys():
    import hashlib  # find two ids whose sha1s share 4 hex digits: same surname and year give one short key

    seen: dict[str, str] = {}
    pair = None
    for n in range(200000):
        prefix = hashlib.sha1(f"arxiv:{n}".encode()).hexdigest()[:4]
        if prefix in seen:
            pair = (seen[prefix], f"arxiv:{n}")
            break
        seen[prefix] = f"arxiv:{n}"
    keys = bibtex_keys({(pair[0], "Ada Lovelace", 2020), (pair[1], "Ada Lovelace", 2020),
                        ("arxiv:other", "Alan Turing", 1950)})
    assert len(set(keys.values())) == 3
    assert all(k.startswith("lovelace2020") and len(k) > len("lovelace2020") + 4
               for p, k in keys.items() if p in pair)
    assert len(keys["arxiv:other"]) == len("turing1950") + 4  # only the colliding papers get longer keys


def test_ris_export_loads_with_rispy_and_carries_each_link_s_note(seeded):
    data_dir, _ = seeded
    r = ql(data_dir, "export", "1", "--format", "ris")
    assert r.returncode == 0, r.stderr
    refs = rispy.loads(r.stdout)
    assert [ref["title"] for ref in refs] == [TRICKY_TITLE, "Memorization in language models revisited"]
    assert refs[0]["authors"] == ["Ashish Vaswani", "Noam Shazeer"] and refs[0]["doi"] == "10.1000/dedup.1"
    assert any("Key result" in n for n in refs[0]["notes"])
    assert r.stdout.startswith("TY  - JOUR")


def test_csl_json_export_has_the_fields_citation_processors_need(seeded):
    data_dir, _ = seeded
    r = ql(data_dir, "export", "1", "--format", "csljson")
    assert r.returncode == 0, r.stderr
    entries = json.loads(r.stdout)
    assert len(entries) == 2
    for e in entries:
        assert {"id", "type", "title", "author", "issued", "URL", "abstract", "note"} <= set(e)
        assert e["type"] == "article" and all({"family", "given"} == set(a) for a in e["author"])
    assert entries[0]["issued"] == {"date-parts": [[2017, 6, 12]]} and entries[0]["DOI"] == "10.1000/dedup.1"
    assert entries[1]["author"] == [{"family": "Müller", "given": "José"}]


def test_only_accepted_keeps_the_accepted_links_alone(seeded):
    data_dir, _ = seeded
    rows = list(csv.DictReader(io.StringIO(ql(data_dir, "export", "1", "-f", "csv", "--only-accepted").stdout)))
    assert [(r["verdict"], r["note"]) for r in rows] == [("accepted", "Key result; cite in chapter 2.")]


def test_links_to_one_paper_under_two_questions_are_one_reference_but_two_csv_rows(seeded):
    data_dir, _ = seeded
    entries = parse_bibtex(ql(data_dir, "export", "--all", "-f", "bibtex").stdout).entries
    assert len(entries) == 2 and "Q2" in entries[0].fields_dict["note"].value
    rows = list(csv.DictReader(io.StringIO(ql(data_dir, "export", "--all", "-f", "csv").stdout)))
    assert [r["question_id"] for r in rows] == ["1", "1", "2"]
    assert rows[0]["bibtex_key"] == rows[2]["bibtex_key"]


def test_the_markdown_report_gives_each_question_and_cites_each_link_by_its_key(seeded):
    data_dir, _ = seeded
    report = ql(data_dir, "export", "--all", "-f", "markdown").stdout
    key = parse_bibtex(ql(data_dir, "export", "1").stdout).entries[0].key
    assert report.startswith("# Q1: Does deduplication reduce memorization?")
    assert f"[@{key}]" in report and "- Note: Key result; cite in chapter 2." in report
    assert "- Rationale: It halves it." in report and "# Q3: What is a domain in NLP?" in report
    assert "No evidence to export." in report and "Images are pixels" not in report


def test_an_export_to_a_file_is_written_whole_with_nothing_left_beside_it(seeded, tmp_path):
    data_dir, _ = seeded
    target = tmp_path / "out" / "q1.bib"
    r = ql(data_dir, "export", "1", "-o", str(target))
    assert r.returncode == 0 and r.stdout == "" and "wrote 2 link(s)" in r.stderr
    assert len(parse_bibtex(target.read_text()).entries) == 2
    assert [p.name for p in target.parent.iterdir()] == ["q1.bib"]


def test_nothing_to_export_gives_an_empty_valid_file_and_says_so(seeded):
    data_dir, _ = seeded
    r = ql(data_dir, "export", "3", "-f", "csljson")
    assert r.returncode == 0 and json.loads(r.stdout) == [] and "nothing to export" in r.stderr
    assert ql(data_dir, "export", "3", "-f", "bibtex").stdout == ""
    assert ql(data_dir, "export", "3", "-f", "csv").stdout.startswith("question_id,question,")


def test_an_unknown_question_or_format_or_a_missing_question_is_refused(seeded):
    data_dir, _ = seeded
    r = ql(data_dir, "export", "42")
    assert r.returncode == 2 and "no question with id 42" in r.stderr
    r = ql(data_dir, "export", "1", "--format", "endnote")
    assert r.returncode == 2 and "bibtex, ris, csljson, csv, xlsx, markdown" in r.stderr
    assert ql(data_dir, "export").returncode == 2
    assert ql(data_dir, "export", "1", "--all").returncode == 2


def evidence_ids(data_dir: Path, *args: str) -> list[str]:
    r = ql(data_dir, "evidence", "1", "--json", *args)
    assert r.returncode == 0, r.stderr
    return [e["id"] for e in json.loads(r.stdout)["evidence"]]


def test_the_evidence_list_hides_rejected_links_unless_a_verdict_filter_asks_for_them(seeded):
    data_dir, ids = seeded
    assert evidence_ids(data_dir) == [ids["accepted"], ids["open"]]
    assert evidence_ids(data_dir, "--verdict", "rejected") == [ids["rejected"]]
    assert evidence_ids(data_dir, "--verdict", "any") == [ids["accepted"], ids["open"], ids["rejected"]]
    assert evidence_ids(data_dir, "--verdict", "accepted") == [ids["accepted"]]
    assert evidence_ids(data_dir, "--verdict", "none") == [ids["open"]]


def test_the_evidence_list_keeps_links_found_on_or_after_the_since_day(seeded):
    data_dir, ids = seeded
    assert evidence_ids(data_dir, "--since", "2026-01-11") == [ids["open"]]
    assert evidence_ids(data_dir, "--since", "2026-01-10") == [ids["accepted"], ids["open"]]
    assert evidence_ids(data_dir, "--since", "2026-01-11", "--verdict", "any") == [ids["open"], ids["rejected"]]


def test_bad_verdict_or_since_values_are_refused_naming_what_is_expected(seeded):
    data_dir, _ = seeded
    r = ql(data_dir, "evidence", "1", "--verdict", "maybe")
    assert r.returncode == 2 and "kept, accepted, rejected, none, any" in r.stderr
    r = ql(data_dir, "evidence", "1", "--since", "01/02/2026")
    assert r.returncode == 2 and "YYYY-MM-DD" in r.stderr


def test_a_note_is_set_by_short_id_shown_in_json_marked_in_the_table_and_cleared(tmp_path):
    ids = seed(tmp_path)
    r = ql(tmp_path, "note", ids["open"][:8], "Contradicts the [b]accepted[/b] one; check setup.")
    assert r.returncode == 0 and ids["open"] in r.stdout
    listed = {e["id"]: e["note"] for e in json.loads(ql(tmp_path, "evidence", "1", "--json").stdout)["evidence"]}
    assert listed[ids["open"]] == "Contradicts the [b]accepted[/b] one; check setup."
    table = ql(tmp_path, "evidence", "1").stdout
    header = next(line for line in table.splitlines() if "verdict" in line)
    row = next(line for line in table.splitlines() if ids["open"][:8] in line)
    assert "verdict" in header and "*" in row and "* has a note" in table
    assert ql(tmp_path, "note", ids["open"][:8], "").returncode == 0
    assert ledger_of(tmp_path).evidence(1, verdicts=(None,))[0].note is None
    r = ql(tmp_path, "note", "zzzzzzzz", "x")
    assert r.returncode == 2 and "no evidence with id zzzzzzzz" in r.stderr


def test_an_older_ledger_gains_the_note_column_and_keeps_its_verdicts(tmp_path):
    from tests.test_ledger_upgrade import OLD_EVIDENCE

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(OLD_EVIDENCE))
        conn.execute(text("insert into evidence (id, score, verdict) values ('e1', 0.5, 'accepted')"))
    engine.dispose()
    led = Ledger(url)
    try:
        led.set_note("e1", "kept from before")
        with led.engine.connect() as conn:
            assert tuple(conn.execute(text("select verdict, note from evidence")).one()) == ("accepted",
                                                                                             "kept from before")
    finally:
        led.close()


def exported_csv(data_dir: Path, target: Path) -> Path:
    r = ql(data_dir, "export", "--all", "-f", "csv", "--with-rejected", "-o", str(target))
    assert r.returncode == 0, r.stderr
    return target


def test_an_exported_csv_imported_into_a_fresh_data_dir_restores_questions_papers_verdicts_and_notes(
        seeded, tmp_path):
    data_dir, ids = seeded
    backup = exported_csv(data_dir, tmp_path / "backup.csv")
    fresh = tmp_path / "fresh"
    r = ql(fresh, "import", str(backup))
    assert r.returncode == 0, r.stderr
    assert "4 row(s): 2 questions added, 3 papers added" in r.stdout and "4 links added" in r.stdout

    def state(d: Path) -> tuple:
        questions = [(q["id"], q["text"], q["status"]) for q in json.loads(ql(d, "questions", "--json").stdout)]
        links = {q: sorted((e["id"], e["paper"], e["title"], e["verdict"], e["note"], e["answer"], e["found_at"])
                           for e in json.loads(ql(d, "evidence", str(q), "--json", "--verdict", "any").stdout)
                           ["evidence"]) for q in (1, 2)}
        return questions, links

    before, after = state(data_dir), state(fresh)
    assert after[0] == before[0][:2]  # Q3 had no link, so it is not in the export
    assert after[1] == before[1]  # same link ids (same papers, passages), verdicts, notes, days found
    assert ql(fresh, "export", "--all", "-f", "csv", "--with-rejected").stdout == backup.read_text()
    again = ql(fresh, "import", str(backup))
    assert again.returncode == 0
    assert "0 questions added, 0 papers added, 0 passages added, 0 links added" in again.stdout


def test_a_dry_run_import_says_what_would_change_and_writes_nothing(seeded, tmp_path):
    data_dir, _ = seeded
    backup = exported_csv(data_dir, tmp_path / "backup.csv")
    r = ql(tmp_path / "fresh", "import", str(backup), "--dry-run")
    assert r.returncode == 0 and "dry run, nothing written" in r.stdout and "4 links added" in r.stdout
    assert json.loads(ql(tmp_path / "fresh", "questions", "--json").stdout) == []


def rewrite(source: Path, target: Path, change) -> Path:
    rows = list(csv.DictReader(source.open(newline="")))
    fields = list(rows[0])
    rows, fields = change(rows, fields)
    with target.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return target


def test_an_import_with_bad_rows_names_each_row_and_writes_nothing(seeded, tmp_path):
    data_dir, _ = seeded
    backup = exported_csv(data_dir, tmp_path / "backup.csv")

    def spoil(rows, fields):
        rows[1]["verdict"] = "maybe"
        rows[2]["title"] = rows[2]["passage"] = ""  # only its arXiv id and DOI are left
        rows[3]["question_id"] = "x"
        return rows, fields

    r = ql(tmp_path / "fresh", "import", str(rewrite(backup, tmp_path / "bad.csv", spoil)))
    assert r.returncode == 2
    assert "row 3: verdict must be accepted, rejected or empty; got 'maybe'" in r.stderr
    assert "row 4: only an id (arxiv:" in r.stderr and "import a reading list" in r.stderr
    assert "row 5: question_id is not valid: 'x'" in r.stderr and "row 2" not in r.stderr
    assert json.loads(ql(tmp_path / "fresh", "questions", "--json").stdout) == []


def test_an_import_missing_a_column_or_empty_is_refused_naming_why(seeded, tmp_path):
    data_dir, _ = seeded
    backup = exported_csv(data_dir, tmp_path / "backup.csv")

    def drop(rows, fields):
        return [{k: v for k, v in r.items() if k != "passage"} for r in rows], [f for f in fields if f != "passage"]

    r = ql(tmp_path / "fresh", "import", str(rewrite(backup, tmp_path / "cut.csv", drop)))
    assert r.returncode == 2 and "missing column(s) passage" in r.stderr
    (tmp_path / "empty.csv").write_text("")
    r = ql(tmp_path / "fresh", "import", str(tmp_path / "empty.csv"))
    assert r.returncode == 2 and "is empty (not even a header)" in r.stderr


def test_an_import_whose_question_id_holds_another_question_writes_nothing(seeded, tmp_path):
    data_dir, _ = seeded
    backup = exported_csv(data_dir, tmp_path / "backup.csv")
    fresh = tmp_path / "fresh"
    ql(fresh, "ask", "Something else entirely about parsers?")
    r = ql(fresh, "import", str(backup))
    assert r.returncode == 2 and "row 2: question 1 here is another question" in r.stderr
    assert [q["id"] for q in json.loads(ql(fresh, "questions", "--json").stdout)] == [1]
    assert ledger_of(fresh).counts()["evidence"] == 0


def test_the_web_page_shows_a_link_s_note_escaped():
    from questlog.web import _evidence_card
    from shared.ledger import EvidenceView

    card = _evidence_card(EvidenceView(
        id="e1", question_id=1, paper_id="p", passage_id="s", paper_key="arxiv:2601.00001v2", title="T",
        url=None, passage="P", score=0.5, scores={}, stance="neutral", rationale="", retrieval="backfill",
        model="minilm", found_at=datetime(2026, 1, 1, tzinfo=timezone.utc), verdict=None, note="<b>check</b>"))
    assert "Note: &lt;b&gt;check&lt;/b&gt;" in card


def test_an_import_into_postgresql_keeps_question_ids_and_new_questions_follow_them(seeded, tmp_path, postgres_url):
    from questlog.exporting.csv_import import read_links

    links, errors = read_links(exported_csv(seeded[0], tmp_path / "backup.csv"))
    assert not errors
    led = Ledger(postgres_url)
    try:
        assert led.restore(links)["links added"] == 4
        assert [q.id for q in led.questions()] == [1, 2]
        assert led.add_question("A question asked after the import?").id == 3
        assert led.restore(links)["links added"] == 0
    finally:
        led.close()


def test_an_xlsx_export_holds_the_csv_rows_and_imports_back_into_a_fresh_data_dir(seeded, tmp_path):
    from openpyxl import load_workbook

    data_dir, _ = seeded
    assert ql(data_dir, "export", "1", "-f", "xlsx").returncode == 2  # a workbook needs a file
    r = ql(data_dir, "export", "--all", "-f", "xlsx", "--with-rejected", "-o", str(tmp_path / "backup.xlsx"))
    assert r.returncode == 0, r.stderr
    rows = list(load_workbook(tmp_path / "backup.xlsx", read_only=True).worksheets[0].iter_rows(values_only=True))
    as_csv = list(csv.reader(io.StringIO(exported_csv(data_dir, tmp_path / "backup.csv").read_text())))
    assert [[c or "" for c in row] for row in rows] == as_csv
    r = ql(tmp_path / "fresh", "import", str(tmp_path / "backup.xlsx"))
    assert r.returncode == 0 and "4 row(s): 2 questions added, 3 papers added" in r.stdout, r.stderr
