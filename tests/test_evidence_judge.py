"""The shipped evidence judge: relevance that means what it says, answers, rationales; its rules and failures."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from shared.errors import PermanentError
from shared.relevance import DEFAULT_MODEL_DIR, EvidenceJudge, JudgeSettings
from shared.relevance.judge import RULES_FILE, EvidenceRulesJudge, choose_rationale
from shared.stance import split_sentences

PASSAGE = (
    "Continued Pretraining for Clinical Text Classification. We study domain-adaptive continued pretraining of "
    "BERT-style encoders on 2 billion tokens of clinical notes. Continued pretraining improved F1 on all five "
    "clinical classification tasks, by 3.1 points on average. Gains were largest for the smallest training sets. "
    "We release our code and models."
)
OFF_TOPIC = (
    "Graph Neural Networks for Traffic Forecasting. We propose a spatio-temporal graph network for road traffic. "
    "On two city datasets it lowers forecasting error by 8 percent. The model runs in real time."
)
YES_NO = "Does continued pretraining on in-domain text improve encoder models on domain-specific tasks?"


@pytest.fixture(scope="module")
def judge() -> EvidenceRulesJudge:
    return EvidenceRulesJudge()


def test_importing_the_relevance_package_does_not_import_torch():
    code = "import sys, shared.relevance, shared.relevance.judge, shared.relevance.llm; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_rules_record_their_training_data_and_bars_chosen_out_of_fold():
    rules = json.loads((DEFAULT_MODEL_DIR / RULES_FILE).read_text())
    assert {"relevance", "min_relevance", "min_relevance_alone", "rationale", "answer", "trained_on", "report",
            "date"} <= set(rules)
    assert rules["trained_on"]["questions"] >= 20 and rules["trained_on"]["candidate_rows"] > 1000
    gate = rules["report"]["gate"]
    assert gate["out_of_fold"]["bar"] == rules["min_relevance"]
    assert gate["reliability"], "the reliability table is recorded"
    # the library the gate learned placement on: the training questions' papers and 7,000 others
    assert rules["library_passages"] > 7000


def test_the_judge_is_an_evidence_judge_named_after_its_model(judge):
    assert isinstance(judge, EvidenceJudge) and judge.name.startswith("evidence-rules:")


def test_a_passage_reporting_findings_on_the_question_outranks_one_about_something_else(judge):
    on, off = judge.assess_many(YES_NO, [PASSAGE, OFF_TOPIC])
    assert 0.0 <= off.relevance < on.relevance <= 1.0
    assert on.relevance >= judge.bar_for(False) > off.relevance


def test_a_yes_no_question_gets_an_answer_an_open_one_none_and_a_claim_a_stance(judge):
    yes_no = judge.assess_many(YES_NO, [PASSAGE])[0]
    open_q = judge.assess_many("How much does continued pretraining help clinical text classification?", [PASSAGE])[0]
    claim = judge.assess_many("Continued pretraining improves clinical text classification.", [PASSAGE])[0]
    assert yes_no.answer in ("yes", "no", "mixed", "unclear") and yes_no.stance == "neutral"
    assert open_q.answer == "" and open_q.answer_score is None
    assert claim.answer == "" and claim.stance in ("supports", "contradicts", "neutral")


def test_the_rationale_is_one_to_three_sentences_that_carry_the_finding_never_the_whole_passage(judge):
    a = judge.assess_many(YES_NO, [PASSAGE])[0]
    n = len(split_sentences(PASSAGE))
    assert 1 <= len(a.rationale) <= 3 < n
    assert 2 in a.rationale  # "Continued pretraining improved F1 on all five clinical classification tasks ..."
    assert len(a.sentence_scores) == n


def test_judging_many_passages_at_once_answers_as_judging_one_by_one(judge):
    together = judge.assess_many(YES_NO, [PASSAGE, OFF_TOPIC])
    alone = [judge.assess_many(YES_NO, [p])[0] for p in (PASSAGE, OFF_TOPIC)]
    for a, b in zip(together, alone, strict=True):
        assert a.relevance == pytest.approx(b.relevance, abs=1e-4) and a.rationale == b.rationale


def test_the_rationale_rule_keeps_close_seconds_caps_at_three_and_never_takes_every_sentence():
    assert choose_rationale([0.1, 0.7, 0.2], 0.5) == [1]
    assert choose_rationale([0.4, 0.5, 0.45, 0.42, 0.41], 0.5) == [1, 2, 3]
    assert choose_rationale([0.5, 0.5], 0.5) == [0]  # two sentences: one of them
    assert choose_rationale([None, float("-inf"), 0.3], 0.5) == [2]  # truncated sentences are never chosen
    assert choose_rationale([], 0.5) == []


def test_settings_override_the_tuned_bar(judge):
    strict = EvidenceRulesJudge(JudgeSettings(min_relevance=0.99))
    assert strict.min_relevance == 0.99 != judge.min_relevance


def test_a_missing_rules_file_is_a_permanent_error_naming_the_folder_and_the_command(tmp_path):
    with pytest.raises(PermanentError, match=f"{tmp_path}.*train evidence"):
        EvidenceRulesJudge(JudgeSettings(model_dir=tmp_path))


def test_rules_that_are_not_json_or_lack_a_rule_are_a_permanent_error(tmp_path):
    (tmp_path / RULES_FILE).write_text("{not json")
    with pytest.raises(PermanentError, match=str(tmp_path)):
        EvidenceRulesJudge(JudgeSettings(model_dir=tmp_path))
    rules = json.loads((DEFAULT_MODEL_DIR / RULES_FILE).read_text())
    del rules["answer"]
    (tmp_path / RULES_FILE).write_text(json.dumps(rules))
    with pytest.raises(PermanentError, match="answer"):
        EvidenceRulesJudge(JudgeSettings(model_dir=tmp_path))


def test_the_gate_weighs_where_retrieval_placed_a_passage(judge):
    top = {"dense": 1.0, "bm25": 1.0}
    bottom = {"dense": -0.5, "bm25": -0.5}
    high, low = (judge.assess_many(YES_NO, [PASSAGE], [f])[0] for f in (top, bottom))
    assert high.relevance > low.relevance


def test_only_pairs_that_reach_the_bar_are_explained_unless_asked(judge):
    off = judge.assess_many(YES_NO, [OFF_TOPIC], [{"dense": -0.5, "bm25": -0.5}])[0]
    assert off.relevance < judge.min_relevance and off.rationale == [] and off.answer == "unclear"
    explained = judge.assess_many(YES_NO, [OFF_TOPIC], [{"dense": -0.5, "bm25": -0.5}], explain_all=True)[0]
    assert explained.rationale and explained.answer in ("yes", "no", "mixed", "unclear")


def test_a_bar_of_zero_set_by_the_user_is_the_linker_s_bar_not_replaced_by_a_default():
    from agents.deps import Deps
    from shared.settings import Settings

    zero = EvidenceRulesJudge(JudgeSettings(min_relevance=0.0))
    assert Deps(Settings(), ledger=None, overrides={"judge": zero}).judge_threshold == 0.0


def test_in_a_small_library_placement_is_measured_against_the_same_share_of_it():
    from shared.relevance.features import placement_rank, scale_of

    assert placement_rank(40, 8500, 8500) is None and placement_rank(40, 100_000, 8500) is None
    assert placement_rank(40, 600, 8500) == 11  # 40 * (600 / 8500) ** 0.5 = 10.6, rounded up
    assert placement_rank(40, 10, 8500) == 2  # never the best alone: a scale needs two points
    assert placement_rank(40, 600, 0) is None  # off
    scores = [0.60 - 0.01 * i for i in range(40)]
    big, small = scale_of(scores, 40), scale_of(scores, 40, placed_at=3)
    assert big.place(0.55) > 0 and small.place(0.55) < 0  # the 6th of 600 is not "top" any more
    assert small.place(0.60) == big.place(0.60) == 1.0
    # the candidate cut does not move: the same passages are read, only their placement changes
    assert small.admits(scores[-1]) and big.admits(scores[-1]) and not small.admits(scores[-1] - 0.001)


def test_a_sentence_read_for_one_question_is_not_embedded_again_for_the_next():
    import numpy as np

    from shared.relevance.reading import SentenceEncoder, read

    encoder = SentenceEncoder(cache=100)
    embedded: list[str] = []
    real = encoder._embed
    encoder._embed = lambda texts, batch_size: (embedded.extend(texts), real(texts, batch_size))[1]
    passage = "Domain shift. We find that accuracy drops by 12 points under temporal drift."
    first = read(encoder, "How robust are text classifiers to temporal drift?", [passage], [True])[0]
    before = len(embedded)
    second = read(encoder, "Does domain shift hurt accuracy?", [passage], [True])[0]
    assert len(embedded) == before + 1  # only the new question
    fresh = read(SentenceEncoder(), "Does domain shift hurt accuracy?", [passage], [True])[0]
    assert np.allclose(second.cosines, fresh.cosines) and first.sentences == second.sentences


def test_the_bound_before_reading_is_never_below_the_relevance_after_reading(judge):
    """The linker skips a candidate whose bound is below the bar: exact only if the bound holds."""
    import json
    import random

    from tests.test_eval_links import RQ_DEV

    docs = [json.loads(line) for line in (RQ_DEV / "corpus.jsonl").read_text().splitlines()[:60]]
    question = json.loads((RQ_DEV / "queries.jsonl").read_text().splitlines()[2])["text"]
    rng = random.Random(5)
    placed = [{"dense": rng.uniform(-2, 1), "bm25": rng.uniform(-1, 1)} for _ in docs]
    texts = [f"{d['title']}. {d['text']}" for d in docs]
    bound = judge.max_relevance(question, texts, placed)
    read = judge.assess_many(question, texts, placed)
    assert all(b >= r.relevance for b, r in zip(bound, read, strict=True))
    assert min(b - r.relevance for b, r in zip(bound, read, strict=True)) < 0.05  # and it is not vacuous
    assert sum(b < judge.min_relevance for b in bound) > 0  # some candidates need no reading at all


def test_the_bound_from_a_passages_own_cosine_holds_and_leaves_fewer_to_read(judge):
    """With the whole passage's cosine in the judge's own sentence model, the bound is tighter (cosine +
    SENTENCE_MARGIN, not 1) and still above what reading finds."""
    import json
    import random

    from shared.embedder import build_embedders
    from shared.settings import Settings
    from tests.test_eval_links import RQ_DEV

    docs = [json.loads(line) for line in (RQ_DEV / "corpus.jsonl").read_text().splitlines()[60:140]]
    question = json.loads((RQ_DEV / "queries.jsonl").read_text().splitlines()[5])["text"]
    rng = random.Random(7)
    placed = [{"dense": rng.uniform(-0.5, 1), "bm25": rng.uniform(-0.5, 1)} for _ in docs]
    texts = [f"{d['title']}. {d['text']}" for d in docs]
    embedder = build_embedders(Settings().embed)[0]
    cosines = (embedder.encode(texts) @ embedder.encode([question])[0]).tolist()
    loose = judge.max_relevance(question, texts, placed)
    tight = judge.max_relevance(question, texts, placed, cosines)
    read = judge.assess_many(question, texts, placed)
    assert all(t >= r.relevance for t, r in zip(tight, read, strict=True))
    assert all(t <= b for t, b in zip(tight, loose, strict=True))
    assert sum(t < judge.min_relevance for t in tight) > sum(b < judge.min_relevance for b in loose)
