"""Reading evidence JSONL files and scoring stance and rationale."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.errors import PermanentError
from shared.stance.base import Judgement
from shared.stance.evaluate import (
    EvidencePair,
    evaluate_evidence,
    rationale_metrics,
    read_evidence,
    split_of,
    stance_metrics,
)


def pair(i: int, label: str = "supports", rationale=(0,), **extra) -> dict:
    return {"id": f"p{i}", "query": f"claim {i}", "title": "t", "sentences": ["a.", "b.", "c."],
            "label": label, "rationale": list(rationale), **extra}


def write(tmp_path: Path, rows: list) -> Path:
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


class Oracle:
    """A judge that answers from a table, so the metrics can be checked by hand."""

    name = "oracle"

    def __init__(self, answers: dict[str, tuple[str, list[int]]]):
        self.answers = answers

    def judge(self, query, sentences):
        stance, rationale = self.answers[query]
        return Judgement(stance, 1.0, rationale, [0.0] * len(sentences), self.name)

    def judge_many(self, pairs):
        return [self.judge(q, s) for q, s in pairs]


def test_it_names_the_line_of_a_malformed_pair(tmp_path):
    path = write(tmp_path, [pair(1), pair(2), '{"id": "p3", "query": ', pair(4)])
    with pytest.raises(PermanentError, match=r"pairs\.jsonl:3: not a JSON object"):
        read_evidence(path)


def test_it_refuses_an_unknown_label_naming_file_and_line(tmp_path):
    path = write(tmp_path, [pair(1), pair(2, label="refutes")])
    with pytest.raises(PermanentError, match=r"pairs\.jsonl:2: bad pair \(label"):
        read_evidence(path)


def test_it_refuses_a_pair_without_sentences(tmp_path):
    row = pair(1)
    del row["sentences"]
    with pytest.raises(PermanentError, match=r":1: bad pair \(sentences"):
        read_evidence(write(tmp_path, [row]))


def test_it_refuses_a_rationale_index_outside_the_passage(tmp_path):
    with pytest.raises(PermanentError, match=r":1: .*rationale indices \[3\]"):
        read_evidence(write(tmp_path, [pair(1, rationale=[0, 3])]))


def test_it_ignores_unknown_extra_keys_and_blank_lines(tmp_path):
    path = write(tmp_path, [pair(1, question="why?", source="x"), "", pair(2, "neutral", [])])
    pairs = read_evidence(path)
    assert [p.id for p in pairs] == ["p1", "p2"]
    assert not hasattr(pairs[0], "question")


def test_a_missing_file_is_a_permanent_error_naming_it(tmp_path):
    with pytest.raises(PermanentError, match="nowhere.jsonl"):
        read_evidence(tmp_path / "nowhere.jsonl")


def test_the_split_keeps_every_pair_of_one_claim_together_and_is_about_20_percent_validation():
    assert split_of("Aspirin lowers  blood pressure.") == split_of("aspirin lowers blood pressure.")
    splits = [split_of(f"claim number {i}") for i in range(2000)]
    assert 0.17 < splits.count("validation") / 2000 < 0.23
    assert 0.08 < splits.count("tune") / 2000 < 0.12


def test_reading_one_split_returns_only_its_pairs(tmp_path):
    rows = [pair(i) for i in range(50)]
    path = write(tmp_path, rows)
    validation = read_evidence(path, "validation")
    assert validation and all(split_of(p.query) == "validation" for p in validation)
    assert len(validation) + len(read_evidence(path, "train")) + len(read_evidence(path, "tune")) == 50


def test_stance_metrics_match_a_hand_computed_example():
    gold = ["supports", "supports", "contradicts", "neutral"]
    predicted = ["supports", "neutral", "contradicts", "contradicts"]
    m = stance_metrics(gold, predicted)
    assert m["per_label"]["supports"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2}
    assert m["per_label"]["contradicts"]["precision"] == 0.5
    assert m["per_label"]["contradicts"]["f1"] == pytest.approx(2 / 3)
    assert m["per_label"]["neutral"]["f1"] == 0.0
    assert m["stance_macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 0) / 3)


def test_rationale_f1_counts_only_pairs_with_a_gold_rationale():
    m = rationale_metrics([[0, 1], [], [2]], [[0], [0, 1, 2], []])
    # pair 2 has no gold rationale and is skipped; TP 1, predicted 1, gold 3
    assert m["rationale_precision"] == 1.0
    assert m["rationale_recall"] == pytest.approx(1 / 3)
    assert m["rationale_f1"] == pytest.approx(0.5)
    assert m["rationale_pairs"] == 2


def test_a_judge_that_agrees_with_the_gold_scores_one(tmp_path):
    rows = [pair(1, "supports", [0]), pair(2, "contradicts", [1, 2]), pair(3, "neutral", [])]
    answers = {r["query"]: (r["label"], r["rationale"]) for r in rows}
    m = evaluate_evidence(Oracle(answers), write(tmp_path, rows))
    assert (m["n"], m["stance_macro_f1"], m["rationale_f1"]) == (3, 1.0, 1.0)
    assert m["per_label"]["contradicts"]["support"] == 1


def test_a_judge_that_calls_everything_neutral_scores_a_third_of_one_label(tmp_path):
    rows = [pair(1, "supports", [0]), pair(2, "contradicts", [1]), pair(3, "neutral", [])]
    m = evaluate_evidence(Oracle({r["query"]: ("neutral", []) for r in rows}), write(tmp_path, rows))
    assert m["stance_macro_f1"] == pytest.approx(1 / 3 * 2 * (1 / 3) / (1 / 3 + 1))
    assert m["rationale_f1"] == 0.0


def test_it_reports_progress_up_to_the_total(tmp_path):
    rows = [pair(i, "neutral", []) for i in range(5)]
    seen = []
    evaluate_evidence(Oracle({r["query"]: ("neutral", []) for r in rows}), write(tmp_path, rows), batch_size=2,
                      progress=lambda done, total: seen.append((done, total)))
    assert seen == [(2, 5), (4, 5), (5, 5)]


def test_limit_scores_only_the_first_pairs(tmp_path):
    rows = [pair(i, "neutral", []) for i in range(5)]
    m = evaluate_evidence(Oracle({r["query"]: ("neutral", []) for r in rows}), write(tmp_path, rows), limit=3)
    assert m["n"] == 3


def test_an_evidence_pair_is_frozen():
    p = EvidencePair.model_validate(pair(1))
    with pytest.raises(Exception):
        p.label = "neutral"
