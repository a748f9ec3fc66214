"""The per-question model learnt from verdicts, warm-started from the judge: what it learns from a
verdict depends on what the judge had predicted, and its shift moves the question's gate for new papers."""

from __future__ import annotations

import numpy as np

from shared.relevance.feedback import fit, logit
from tests.test_eval_feedback import _two_topics


def test_an_accept_the_judge_was_sure_of_teaches_less_than_one_it_doubted():
    prior, vectors = _two_topics()
    sure = fit([0.99 if i == 0 else p for i, p in enumerate(prior)], vectors, {0: True})
    doubted = fit([0.2 if i == 0 else p for i, p in enumerate(prior)], vectors, {0: True})
    assert np.linalg.norm(sure.weights) < 0.1 * np.linalg.norm(doubted.weights)
    assert abs(sure.shift) < 0.1 * abs(doubted.shift)


def test_rejecting_what_the_judge_passed_lowers_the_relevance_of_new_papers_for_that_question():
    prior, vectors = _two_topics()
    passed = [0.8] * 4
    model = fit(passed + prior, np.vstack([vectors[:4], vectors]), {0: False, 1: False, 2: False, 3: False})
    assert model.shift < 0
    new_prior, new_vectors = [0.5, 0.5], np.random.default_rng(7).standard_normal((2, 8))
    assert (model.relevance(new_prior, new_vectors) < 0.5).all()


def test_accepting_what_the_judge_doubted_raises_the_relevance_of_new_papers_like_it():
    prior, vectors = _two_topics()
    model = fit(prior, vectors, {0: True, 2: True, 1: False})
    like_accepted, like_rejected = vectors[4], vectors[5]
    after = model.relevance([0.3, 0.3], np.vstack([like_accepted, like_rejected]))
    assert after[0] > 0.3 and after[0] > after[1] + 0.1


def test_without_verdicts_the_model_leaves_the_judges_relevance_as_it_was():
    prior, vectors = _two_topics()
    model = fit(prior, vectors, {})
    assert model.shift == 0 and np.allclose(model.scores(prior, vectors), logit(prior))
