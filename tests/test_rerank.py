"""The reranking stage: off by default, re-orders fused candidates when one is set, clear when it cannot load."""

from __future__ import annotations

import os

import pytest

from agents.linker.retrieval import Candidate
from shared.errors import PermanentError
from shared.rerank import CrossEncoderReranker, rerank
from shared.settings import Settings


class WordOverlap:
    """A reranker at the interface: scores a passage by the question words it contains."""

    name = "word-overlap"

    def scores(self, question: str, passages: list[str]) -> list[float]:
        words = set(question.lower().split())
        return [float(len(words & set(p.lower().split()))) for p in passages]


def test_reranking_is_off_unless_a_reranker_is_set():
    assert Settings().link.reranker is None


def test_the_reranker_reorders_the_head_and_keeps_its_score_beside_the_others():
    cands = [Candidate("a", "pa", {"fused": 0.9}), Candidate("b", "pb", {"fused": 0.8}),
             Candidate("c", "pc", {"fused": 0.1})]
    texts = {"a": "nothing here", "b": "domain shift is measured", "c": "domain shift"}
    out = rerank(WordOverlap(), "how is domain shift measured", cands, texts, top=2)
    assert [c.passage_id for c in out] == ["b", "a", "c"]  # c is outside the head: it stays behind
    assert out[0].scores == {"fused": 0.8, "rerank": 4.0}
    assert "rerank" not in out[2].scores


def test_a_reranker_that_cannot_be_loaded_says_which(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    with pytest.raises(PermanentError, match="cannot load reranker 'no-such/reranker-model'"):
        CrossEncoderReranker("no-such/reranker-model").scores("q", ["p"])
