"""The answer rule's training pieces and the judge's precision setting."""

import math

import numpy as np
import pytest

from shared.relevance.reading import Reading, answer_features
from training.answer_rule import decide, folded


def test_the_answer_rule_applied_to_raw_features_gives_the_probabilities_of_the_standardised_fit():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(3)
    x = rng.normal(5, 3, size=(300, 4)) * np.array([1, 10, 0.1, 2])
    y = np.array(["yes", "no", "mixed", "unclear"])[(x[:, 0] + x[:, 1] / 10 > 10).astype(int) + 2 * (x[:, 3] > 10)]
    mu, sd = x.mean(0), x.std(0)
    model = LogisticRegression(C=0.3, max_iter=5000).fit((x - mu) / sd, y)
    w, b = folded(model, mu, sd)
    z = x @ w.T + b
    raw = np.exp(z - z.max(1, keepdims=True))
    raw /= raw.sum(1, keepdims=True)
    assert np.allclose(raw, model.predict_proba((x - mu) / sd), atol=1e-9)


def test_an_answer_below_the_bar_is_unclear_and_unclear_itself_is_never_chosen_over_an_answer():
    classes = ["mixed", "no", "unclear", "yes"]
    probs = np.array([[0.1, 0.1, 0.2, 0.6], [0.2, 0.1, 0.6, 0.1], [0.35, 0.3, 0.05, 0.3]])
    assert decide(probs, classes, 0.5) == ["yes", "unclear", "unclear"]
    assert decide(probs, classes, 0.0) == ["yes", "mixed", "mixed"]


def test_answer_features_carry_the_gates_log_odds_only_when_asked():
    r = Reading(["Title.", "We find that it helps."], [0.2, 0.6], 0.5, True,
                stance=[[0.1, 0.1, 0.8], [0.7, 0.1, 0.2]])
    plain, with_relevance = answer_features(r, 1), answer_features(r, 1, 0.8)
    assert with_relevance[:-1] == plain
    assert with_relevance[-1] == pytest.approx(math.log(0.8 / 0.2))


def test_the_judge_in_bf16_reads_real_passages_as_it_does_in_fp32():
    from shared.embedder import cpu_has_native_bf16
    from shared.relevance.base import JudgeSettings
    from shared.relevance.judge import EvidenceRulesJudge

    if not cpu_has_native_bf16():
        pytest.skip("this CPU has no native bf16: the judge runs fp32 (emulated bf16 would only be slower)")
    question = "Does continued pretraining on in-domain text improve encoder models?"
    passages = ["Domain-adaptive pretraining. We continue pretraining RoBERTa on biomedical and legal text. "
                "Continued pretraining improves downstream accuracy in all four domains.",
                "A survey of graph neural networks. We review message passing architectures and their uses."]
    got = {p: EvidenceRulesJudge(JudgeSettings(precision=p)).assess_many(question, passages, explain_all=True)
           for p in ("fp32", "bf16")}
    for a32, a16 in zip(got["fp32"], got["bf16"], strict=True):
        assert abs(a32.relevance - a16.relevance) < 0.01
        assert a32.answer == a16.answer and a32.rationale == a16.rationale
    assert got["bf16"][0].relevance > got["bf16"][1].relevance
