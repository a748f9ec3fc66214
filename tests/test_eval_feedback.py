"""Learning from verdicts: the per-question re-ranker, and `questlog eval feedback` that measures it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from shared.relevance.feedback import logit, rerank
from tests.test_eval_links import small_rq


def _two_topics(n: int = 12, seed: int = 3) -> tuple[list[float], np.ndarray]:
    """Even candidates near one direction, odd ones near another; priors all alike."""
    rng = np.random.default_rng(seed)
    a, b = np.eye(8)[0], np.eye(8)[1]
    vectors = np.array([(a if i % 2 == 0 else b) + 0.1 * rng.standard_normal(8) for i in range(n)])
    return [0.3] * n, vectors


def _rank(scores: list[float], labels: dict[int, bool]) -> list[int]:
    return sorted((i for i in range(len(scores)) if i not in labels), key=lambda i: (-scores[i], i))


def test_without_verdicts_the_scores_are_the_judges_log_odds():
    prior = [0.9, 0.2, 0.5]
    scores = rerank(prior, np.eye(3), {})
    assert np.allclose(scores, logit(prior))


def test_passages_like_the_accepted_ones_move_above_those_like_the_rejected_ones():
    prior, vectors = _two_topics()
    prior = [0.3 if i % 2 else 0.25 for i in range(len(prior))]  # the judge slightly prefers the wrong topic
    labels = {0: True, 1: False, 3: False}
    ranked = _rank(rerank(prior, vectors, labels), labels)
    assert all(i % 2 == 0 for i in ranked[:5])  # the accepted topic first


def test_the_same_verdicts_give_the_same_scores():
    prior, vectors = _two_topics()
    labels = {0: True, 1: False, 2: True}
    assert rerank(prior, vectors, labels) == rerank(prior, vectors, labels)


def test_with_accepts_only_passages_near_them_rise():
    prior, vectors = _two_topics()
    labels = {0: True}
    ranked = _rank(rerank(prior, vectors, labels), labels)
    assert all(i % 2 == 0 for i in ranked[:5])


def test_with_rejects_only_passages_near_them_fall():
    prior, vectors = _two_topics()
    labels = {1: False}
    ranked = _rank(rerank(prior, vectors, labels), labels)
    assert all(i % 2 == 1 for i in ranked[-5:])


def test_a_strong_prior_is_not_overturned_by_a_single_verdict():
    prior, vectors = _two_topics()
    prior[3] = 0.99  # the judge is sure of this one, though it looks like the rejected passage
    labels = {1: False}
    assert _rank(rerank(prior, vectors, labels), labels)[0] == 3


def test_priors_and_vectors_of_different_lengths_are_refused():
    with pytest.raises(ValueError, match="3 priors but 2 vectors"):
        rerank([0.1, 0.2, 0.3], np.eye(2), {0: True})
    with pytest.raises(ValueError, match="outside"):
        rerank([0.1, 0.2], np.eye(2), {5: True})


def run_feedback(folder: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUESTLOG_")}
    return subprocess.run([sys.executable, "-m", "questlog.cli", "eval", "feedback", str(folder), "--json", *extra],
                          capture_output=True, text=True, env=env, timeout=1200)


@pytest.mark.slow
def test_it_replays_verdicts_with_and_without_learning_on_the_same_candidates(tmp_path):
    r = run_feedback(small_rq(tmp_path / "rq", questions=2, others=30), "--labels", "5")
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout)
    assert out["labels"] == 5 and out["questions"] == 2 and len(out["per_question"]) == 2
    for arm in ("with_learning", "without_learning", "same_verdicts"):
        assert set(out[arm]) == {"precision@10", "recall"}
        assert 0 <= out[arm]["precision@10"] <= 1 and 0 < out[arm]["recall"] <= 1
    assert out["same_verdicts"]["recall"] == out["without_learning"]["recall"]  # the same verdicts were given
    for q in out["per_question"]:
        assert q["candidates"] > 5 and q["relevant_candidates"] <= q["relevant_docs"]
        for arm in ("with_learning", "without_learning"):
            # five verdicts can meet at most five relevant documents
            assert q[arm]["recall"] <= 5 / q["relevant_docs"] + 1e-9
    assert "ingest corpus" in r.stderr  # progress goes to stderr, the JSON alone to stdout


def test_fewer_than_one_verdict_is_refused_naming_the_flag(tmp_path):
    r = run_feedback(small_rq(tmp_path / "rq", questions=1, others=0), "--labels", "0")
    assert r.returncode == 2 and "--labels must be at least 1" in r.stderr


def test_a_folder_whose_qrels_grade_nothing_is_refused_naming_the_file(tmp_path):
    folder = small_rq(tmp_path / "rq", questions=1, others=0)
    lines = (folder / "qrels" / "test.tsv").read_text().splitlines()
    (folder / "qrels" / "test.tsv").write_text("\n".join([lines[0], *(line.rsplit("\t", 1)[0] + "\t0"
                                                                     for line in lines[1:])]) + "\n")
    r = run_feedback(folder)
    assert r.returncode == 2 and "test.tsv: no query has a document graded above 0" in r.stderr


def test_a_missing_qrels_file_is_refused_naming_it(tmp_path):
    folder = small_rq(tmp_path / "rq", questions=1, others=0)
    (folder / "qrels" / "test.tsv").unlink()
    r = run_feedback(folder)
    assert r.returncode == 2 and "qrels/test.tsv: missing" in r.stderr


def test_without_learning_the_user_labels_the_judges_ranking_in_order():
    from questlog.evals.feedback import Pool, simulate

    prior, vectors = _two_topics(n=30)
    relevant = [i % 3 == 0 for i in range(30)]
    pool = Pool(id="q", question="?", prior=sorted(prior, reverse=True), vectors=vectors, relevant=relevant,
                relevant_docs=12)  # two relevant documents were never candidates
    out = simulate(pool, labels=6, learn=False)
    assert out["recall"] == sum(relevant[:6]) / 12
    assert out["precision@10"] == sum(relevant[6:16]) / 10


def test_learning_finds_the_accepted_topic_sooner_when_the_judge_mixes_topics():
    from questlog.evals.feedback import Pool, simulate

    _, vectors = _two_topics(n=40)
    prior = [0.5 - 0.01 * i for i in range(40)]  # the judge cannot tell the topics apart
    pool = Pool(id="q", question="?", prior=prior, vectors=vectors, relevant=[i % 2 == 0 for i in range(40)],
                relevant_docs=20)
    learned, plain = simulate(pool, labels=8, learn=True), simulate(pool, labels=8, learn=False)
    assert learned["recall"] > plain["recall"] and learned["precision@10"] > plain["precision@10"]


def test_learning_from_the_same_verdicts_ranks_the_rest_without_changing_what_was_met():
    from questlog.evals.feedback import Pool, score_pools, simulate

    _, vectors = _two_topics(n=40)
    prior = [0.5 - 0.01 * i for i in range(40)]  # the judge cannot tell the topics apart
    pool = Pool(id="q", question="?", prior=prior, vectors=vectors, relevant=[i % 2 == 0 for i in range(40)],
                relevant_docs=20)
    after, plain = simulate(pool, labels=8, learn=False, learn_after=True), simulate(pool, labels=8, learn=False)
    assert after["recall"] == plain["recall"]  # the same eight verdicts, in the judge's order
    assert after["precision@10"] > plain["precision@10"]
    out = score_pools([pool], labels=8)
    assert out["same_verdicts"] == {k: round(v, 4) for k, v in after.items()}
