"""`questlog eval retrieval` on BEIR-layout folders, through the production ingest path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from questlog.evals.retrieval import ndcg_at, recall_at
from tests.conftest import SHARED

SCIFACT = SHARED / "eval" / "scifact-train"


def small_beir(target: Path, docs: int = 80) -> Path:
    """The first `docs` SciFact abstracts and every training claim judged against them."""
    (target / "qrels").mkdir(parents=True)
    corpus = (SCIFACT / "corpus.jsonl").read_text().splitlines()[:docs]
    ids = {json.loads(line)["_id"] for line in corpus}
    rows = [r for r in (SCIFACT / "qrels" / "test.tsv").read_text().splitlines()[1:] if r.split("\t")[1] in ids]
    queries = {r.split("\t")[0] for r in rows}
    (target / "corpus.jsonl").write_text("\n".join(corpus) + "\n")
    (target / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "\n".join(rows) + "\n")
    (target / "queries.jsonl").write_text("".join(
        line + "\n" for line in (SCIFACT / "queries.jsonl").read_text().splitlines()
        if json.loads(line)["_id"] in queries))
    return target


def run_eval(folder: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUESTLOG_")}
    return subprocess.run([sys.executable, "-m", "questlog.cli", "eval", "retrieval", str(folder), "--json"],
                          capture_output=True, text=True, env=env, timeout=900)


def test_ndcg_uses_graded_gain_and_the_ideal_ranking():
    assert ndcg_at(["a", "b"], {"a": 1}) == 1.0
    assert ndcg_at(["b", "a"], {"a": 1}) == pytest.approx(1 / 1.5849625, rel=1e-6)
    assert ndcg_at(["b", "a"], {"a": 1, "b": 2}) == 1.0 > ndcg_at(["a", "b"], {"a": 1, "b": 2}) > 0.7
    assert recall_at(["x", "a"], {"a": 1, "b": 1}, 1) == 0.0 and recall_at(["x", "a"], {"a": 1, "b": 1}, 2) == 0.5


@pytest.mark.slow
def test_it_reports_the_default_and_every_component_on_a_real_beir_folder(tmp_path):
    r = run_eval(small_beir(tmp_path / "beir"))
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout)
    assert out["default"]["retriever"] == "hybrid:minilm+bm25"
    assert [c["retriever"] for c in out["components"]] == ["dense:minilm", "bm25"]
    for row in [out["default"], *out["components"]]:
        assert set(row) == {"retriever", "ndcg@10", "recall@10", "recall@100"}
        assert 0.3 < row["ndcg@10"] <= 1.0  # real retrieval, far above chance on 80 documents
        assert row["recall@10"] <= row["recall@100"]


def test_a_malformed_corpus_line_is_refused_naming_the_line(tmp_path):
    folder = small_beir(tmp_path / "beir", docs=5)
    lines = (folder / "corpus.jsonl").read_text().splitlines()
    lines[2] = '{"_id": "x", "text": '
    (folder / "corpus.jsonl").write_text("\n".join(lines) + "\n")
    r = run_eval(folder)
    assert r.returncode == 2 and "corpus.jsonl:3: not valid JSON" in r.stderr


def test_a_qrels_line_without_three_columns_is_refused(tmp_path):
    folder = small_beir(tmp_path / "beir", docs=5)
    with (folder / "qrels" / "test.tsv").open("a") as f:
        f.write("only-one-column\n")
    r = run_eval(folder)
    assert r.returncode == 2 and "test.tsv" in r.stderr and "expected query-id" in r.stderr
