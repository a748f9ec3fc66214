"""`questlog eval links`: what the production linker records, scored against graded qrels."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SHARED

RQ_DEV = SHARED / "eval" / "rq-cs-dev"


def small_rq(target: Path, questions: int = 2, others: int = 40) -> Path:
    """The first research questions of rq-cs-dev, every document judged for them, and some others."""
    (target / "qrels").mkdir(parents=True)
    queries = (RQ_DEV / "queries.jsonl").read_text().splitlines()[:questions]
    qids = {json.loads(q)["_id"] for q in queries}
    rows = [r for r in (RQ_DEV / "qrels" / "test.tsv").read_text().splitlines()[1:] if r.split("\t")[0] in qids]
    judged = {r.split("\t")[1] for r in rows}
    corpus = [line for line in (RQ_DEV / "corpus.jsonl").read_text().splitlines() if line.strip()]
    keep = [c for c in corpus if json.loads(c)["_id"] in judged]
    keep += [c for c in corpus if json.loads(c)["_id"] not in judged][:others]
    (target / "corpus.jsonl").write_text("\n".join(keep) + "\n")
    (target / "queries.jsonl").write_text("\n".join(queries) + "\n")
    (target / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "\n".join(rows) + "\n")
    return target


def run_eval(folder: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUESTLOG_")}
    return subprocess.run([sys.executable, "-m", "questlog.cli", "eval", "links", str(folder), "--json", *extra],
                          capture_output=True, text=True, env=env, timeout=1200)


@pytest.mark.slow
def test_it_scores_what_the_linker_recorded_in_backfill_and_for_new_papers(tmp_path):
    r = run_eval(small_rq(tmp_path / "rq"))
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout)
    for key in ("questions", "links", "precision", "precision_strict", "recall", "recall_any", "f1", "ndcg@10",
                "answers", "rationale_sentences", "per_question", "candidate_recall"):
        assert key in out, key
    assert out["questions"] == 2 and len(out["per_question"]) == 2
    assert out["held_back_documents"] > 0  # some documents were linked in the new-papers mode
    assert out["links"] > 0 and 0 <= out["precision"] <= 1 and out["precision_strict"] <= out["precision"]
    assert out["candidate_recall"] >= out["recall"]  # the judge reads no more than the candidates
    assert out["whole_passage_rationales"] == 0
    assert 1 <= out["rationale_sentences"] <= 3
    for q in out["per_question"]:
        assert q["kind"] == "yesno"  # the first two dev questions are yes/no questions
        assert set(q["answers"]) <= {"yes", "no", "mixed", "unclear"}
    assert "ingest corpus" in r.stderr  # progress goes to stderr, the JSON alone to stdout


@pytest.mark.slow
def test_a_sample_keeps_that_many_documents_and_counts_only_their_grades(tmp_path):
    folder = small_rq(tmp_path / "rq", questions=1, others=30)
    r = run_eval(folder, "--sample", "25")
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout)
    assert out["documents"] == 25
    graded = {line.split("\t")[1] for line in (folder / "qrels" / "test.tsv").read_text().splitlines()[1:]
              if int(line.split("\t")[2]) >= 1}
    assert 0 < out["per_question"][0]["relevant_docs"] < len(graded)  # the rest were not kept
    bad = run_eval(folder, "--sample", "0")
    assert bad.returncode == 2 and "--sample must be at least 1" in bad.stderr


@pytest.mark.slow
def test_a_new_library_asks_the_questions_first_and_ingests_every_document_after_them(tmp_path):
    r = run_eval(small_rq(tmp_path / "rq", questions=1, others=90), "--new-library")
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout)
    assert out["held_back_documents"] == out["documents"] > 80
    assert out["links"] > 0 and out["whole_passage_rationales"] == 0


def test_a_folder_whose_qrels_grade_nothing_is_refused_naming_the_file(tmp_path):
    folder = small_rq(tmp_path / "rq", others=0)
    lines = (folder / "qrels" / "test.tsv").read_text().splitlines()
    (folder / "qrels" / "test.tsv").write_text("\n".join([lines[0], *(line.rsplit("\t", 1)[0] + "\t0"
                                                                     for line in lines[1:])]) + "\n")
    r = run_eval(folder)
    assert r.returncode == 2 and "test.tsv: no query has a document graded above 0" in r.stderr


def test_a_qrels_line_with_a_score_that_is_not_a_number_is_refused_naming_the_line(tmp_path):
    folder = small_rq(tmp_path / "rq", others=0)
    with (folder / "qrels" / "test.tsv").open("a") as f:
        f.write("q04\t2503.00001\thigh\n")
    r = run_eval(folder)
    assert r.returncode == 2 and "test.tsv:" in r.stderr and "is not a number" in r.stderr


def test_a_missing_qrels_file_is_refused_naming_it(tmp_path):
    folder = small_rq(tmp_path / "rq", others=0)
    (folder / "qrels" / "test.tsv").unlink()
    r = run_eval(folder)
    assert r.returncode == 2 and "qrels/test.tsv: missing" in r.stderr


@pytest.mark.slow
def test_it_runs_unchanged_with_the_llm_judge_of_a_homelab_server(tmp_path):
    """QUESTLOG_STANCE__BACKEND=llm: one chat completion per candidate, answered here by a loopback server."""
    from shared.questions import content_words
    from tests.chat_server import ChatServer

    def responder(request: dict) -> str:
        user = request["messages"][-1]["content"]
        question = user.split("\n", 1)[0].removeprefix("QUESTION: ")
        numbered = [line for line in user.split("PASSAGE:\n", 1)[1].splitlines() if line.startswith("[")]
        body = " ".join(numbered).lower()
        shared = sum(w in body for w in set(content_words(question)))
        if shared < 3 or len(numbered) < 2:
            return json.dumps({"grade": 0, "answer": "n/a", "sentences": [], "quote": "", "confidence": 0.9})
        quote = numbered[1].split("] ", 1)[1][:60]
        return json.dumps({"grade": 2, "answer": "yes", "sentences": [1], "quote": quote, "confidence": 0.8})

    server = ChatServer(responder)
    try:
        env = {"QUESTLOG_STANCE__BACKEND": "llm", "QUESTLOG_LLM__BASE_URL": server.url,
               "QUESTLOG_LLM__MODEL": "homelab-model"}
        folder = small_rq(tmp_path / "rq", questions=1, others=10)
        r = subprocess.run([sys.executable, "-m", "questlog.cli", "eval", "links", str(folder), "--json"],
                           capture_output=True, text=True, timeout=900,
                           env={**{k: v for k, v in os.environ.items() if not k.startswith("QUESTLOG_")}, **env})
    finally:
        server.close()
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout)
    asked = len(server.requests)
    assert asked >= out["links"] > 0  # every link was judged by the server, each candidate once
    assert set(out["answers"]) <= {"yes", "unclear"}
    assert all(req["json"]["model"] == "homelab-model" for req in server.requests)
