"""Question kinds and the rationale shown inside its passage."""

from __future__ import annotations

import pytest

from shared.questions import question_kind, rationale_segments


@pytest.mark.parametrize("text, kind", [
    ("Does continued pretraining on in-domain text improve encoder models?", "yesno"),
    ("Can small models distilled from large language models match them on narrow tasks?", "yesno"),
    ("Is attention all you need", "yesno"),
    ("How does the choice of tokenizer affect model performance across languages?", "open"),
    ("What causes hallucinations in retrieval-augmented generation, and how can they be measured?", "open"),
    ("Scaling laws for downstream performance?", "open"),
    ("Deduplicating training data reduces memorization.", "claim"),
])
def test_a_question_is_yes_no_open_or_a_claim_by_its_wording(text, kind):
    assert question_kind(text) == kind


def test_rationale_segments_cover_the_passage_once_and_mark_only_the_chosen_sentences():
    passage = "We study a method. Our results show that it helps Y by 3 points. Code is released."
    pieces = rationale_segments(passage, [1, 7])
    assert "".join(t for t, _ in pieces) == passage
    assert [t for t, marked in pieces if marked] == ["Our results show that it helps Y by 3 points."]
    assert rationale_segments(passage, []) == [(passage, False)]
