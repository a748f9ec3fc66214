"""The command line as a user types it (a subprocess each, against a temporary data directory)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

QUESTLOG = [sys.executable, "-m", "questlog.cli"]


def ql(data_dir: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "QUESTLOG_BROKER__URL": "redis://127.0.0.1:1/0", **(env or {})}
    return subprocess.run([*QUESTLOG, "--data-dir", str(data_dir), *args], capture_output=True, text=True,
                          env=full_env, timeout=120)


def test_asking_stores_the_question_even_when_no_broker_runs(tmp_path):
    r = ql(tmp_path, "ask", "How many embedding dimensions does text need?")
    assert r.returncode == 0, r.stderr
    assert "question 1" in r.stdout
    listed = json.loads(ql(tmp_path, "questions", "--json").stdout)
    assert [q["text"] for q in listed] == ["How many embedding dimensions does text need?"]
    assert listed[0]["status"] == "open"


def test_asking_says_which_arxiv_categories_the_question_is_searched_in(tmp_path):
    r = ql(tmp_path, "ask", "What is a domain in NLP?")
    assert "arXiv is searched within cs.CL, cs.LG, cs.IR" in r.stdout
    r = ql(tmp_path, "ask", "Which proteins fold fastest?", env={"QUESTLOG_ARXIV__SEARCH_CATEGORIES": '["q-bio.BM"]'})
    assert "arXiv is searched within q-bio.BM" in r.stdout
    r = ql(tmp_path, "ask", "Is P equal to NP?", env={"QUESTLOG_ARXIV__SEARCH_CATEGORIES": "[]"})
    assert "arXiv is searched across all its categories" in r.stdout
    r = ql(tmp_path, "ask", "Do scaling laws hold?", env={"QUESTLOG_SCOUT__SEARCH_SOURCES": '["openalex"]'})
    assert r.returncode == 0 and "arXiv is searched" not in r.stdout  # arXiv runs no question search then


def test_an_empty_question_or_one_without_a_word_to_search_for_is_refused_with_a_clear_message(tmp_path):
    r = ql(tmp_path, "ask", "   ")
    assert r.returncode == 2 and "empty question" in r.stderr
    r = ql(tmp_path, "ask", "  ?  ")
    assert r.returncode == 2 and "has no word to search for" in r.stderr


def test_a_duplicate_question_is_refused_naming_the_existing_one(tmp_path):
    ql(tmp_path, "ask", "Can downstream performance be predicted?")
    r = ql(tmp_path, "ask", "can downstream performance be predicted")
    assert r.returncode == 2 and "question 1 already asks this" in r.stderr


def test_evidence_for_an_unknown_question_names_the_id(tmp_path):
    r = ql(tmp_path, "evidence", "42", "--json")
    assert r.returncode == 2 and "no question with id 42" in r.stderr


def test_an_unknown_model_for_a_question_is_refused(tmp_path):
    r = ql(tmp_path, "ask", "What is a domain?", "--model", "nope")
    assert r.returncode == 2 and "unknown model 'nope'" in r.stderr


def test_a_question_can_be_parked_and_bad_statuses_are_refused(tmp_path):
    ql(tmp_path, "ask", "What is a domain in NLP?")
    assert ql(tmp_path, "set-status", "1", "parked").returncode == 0
    assert json.loads(ql(tmp_path, "questions", "--json").stdout)[0]["status"] == "parked"
    r = ql(tmp_path, "set-status", "1", "closed")
    assert r.returncode == 2 and "status must be one of" in r.stderr


def test_status_reports_counts_and_no_broker_as_json(tmp_path):
    ql(tmp_path, "ask", "What is a domain in NLP?")
    report = json.loads(ql(tmp_path, "status", "--json").stdout)
    assert report["counts"]["questions"] == 1 and report["dead_letters"] == []
    assert report["broker"] is None and report["queues"] is None


def test_the_data_dir_comes_from_the_environment_too(tmp_path):
    env = {"QUESTLOG_DATA_DIR": str(tmp_path / "elsewhere")}
    r = subprocess.run([*QUESTLOG, "ask", "Where does my data live?"], capture_output=True, text=True,
                       env={**os.environ, "QUESTLOG_BROKER__URL": "redis://127.0.0.1:1/0", **env}, timeout=120)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "elsewhere" / "ledger.sqlite3").exists()


@pytest.mark.parametrize("command", ["ask", "questions", "status", "evidence"])
def test_the_cli_never_imports_torch(tmp_path, command):
    code = ("import sys, runpy; sys.argv=['questlog','--help']\n"
            "try:\n runpy.run_module('questlog.cli', run_name='__main__')\nexcept SystemExit: pass\n"
            "assert 'torch' not in sys.modules and 'sentence_transformers' not in sys.modules")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def test_the_evidence_table_shows_each_link_s_id_and_verdict_and_a_verdict_takes_that_short_id(tmp_path):
    from shared.ids import passage_id
    from shared.ledger import EvidenceDraft, Ledger, PassageDraft
    from shared.records import PaperRecord

    ql(tmp_path, "ask", "Does deduplication reduce memorization?")
    ledger = Ledger(f"sqlite:///{tmp_path}/ledger.sqlite3")
    paper = ledger.upsert_paper(PaperRecord(source="arxiv", source_id="2601.00001", arxiv_id="2601.00001",
                                            title="Deduplicating training data", abstract="We find it does.")).paper_id
    text = "Deduplicating training data. We find it does."
    pid = passage_id(paper, 0, text)
    ledger.replace_passages(paper, [PassageDraft(0, text, 0, len(text))], [pid])
    ledger.upsert_evidence([EvidenceDraft(1, pid, paper, 0.4, {"minilm": 0.5}, "backfill", "minilm", "test",
                                          rationale="We find it does.", relevance=0.4, answer="yes")])
    full = ledger.evidence(1)[0].id
    table = ql(tmp_path, "evidence", "1")
    assert full[:8] in table.stdout and "yes" in table.stdout
    r = ql(tmp_path, "verdict", full[:8], "reject")
    assert r.returncode == 0 and full in r.stdout
    listed = json.loads(ql(tmp_path, "evidence", "1", "--json", "--verdict", "any").stdout)["evidence"]
    assert listed[0]["verdict"] == "rejected" and listed[0]["answer"] == "yes"
    assert ql(tmp_path, "verdict", "zzzzzzzz", "accept").returncode == 2
    ledger.rescore({full: 0.12}, labels=1, basis="b")  # what the linker does once the verdict taught the question
    table = ql(tmp_path, "evidence", "1", "--verdict", "any").stdout
    assert "0.12~" in table and "learned from this question's 1 verdict" in table


def test_a_question_over_two_thousand_characters_is_refused_in_one_line(tmp_path):
    r = ql(tmp_path, "ask", "Does " + "very " * 500 + "long text help?")
    assert r.returncode == 2 and "at most 2000 characters" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_the_version_is_printed(tmp_path):
    r = ql(tmp_path, "--version")
    assert r.returncode == 0 and r.stdout.startswith("questlog 0.")


def test_listing_questions_by_an_unknown_status_is_refused_naming_the_choices(tmp_path):
    r = ql(tmp_path, "questions", "--status", "bogus")
    assert r.returncode == 2 and "open, parked, answered" in r.stderr
    assert ql(tmp_path, "questions", "--status", "parked", "--json").stdout.strip() == "[]"


def test_reading_a_data_directory_that_does_not_exist_finds_nothing_and_creates_nothing(tmp_path):
    missing = tmp_path / "nothing-here"
    listed = ql(missing, "questions", "--json")
    assert listed.returncode == 0 and listed.stdout.strip() == "[]" and "no questlog data in" in listed.stderr
    assert ql(missing, "evidence", "1").returncode == 2
    assert ql(missing, "dead-letters", "list").stdout.strip() == "no dead letters"
    assert not missing.exists()


def test_a_file_given_as_the_data_directory_is_a_one_line_error(tmp_path):
    afile = tmp_path / "ledger.txt"
    afile.write_text("not a directory")
    r = ql(afile, "ask", "Does instruction tuning transfer across languages?")
    assert r.returncode == 2 and "is a file, not a directory" in r.stderr and "Traceback" not in r.stderr


def test_serving_on_a_busy_port_is_a_one_line_error(tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        ql(tmp_path, "ask", "Does instruction tuning transfer across languages?")
        r = ql(tmp_path, "web", "--port", str(port))
    assert r.returncode == 2 and f"cannot serve on 127.0.0.1:{port}" in r.stderr and "Traceback" not in r.stderr


def test_a_misspelled_setting_is_a_one_line_error_naming_it(tmp_path):
    r = ql(tmp_path, "questions", env={"QUESTLOG_LINK__MIN_SCOR": "0.2"})
    assert r.returncode == 2
    assert r.stderr.strip() == ("error: unknown setting QUESTLOG_LINK__MIN_SCOR (the README's settings table "
                                "lists every one)")
