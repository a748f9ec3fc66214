"""The optional reranking stage after fusion, behind one small interface.

A cross-encoder reads the question and each fused candidate together and
re-orders them. None ships offline, so the stage is off by default; set
`QUESTLOG_LINK__RERANKER` to a sentence-transformers CrossEncoder (a local
folder, or a hub name such as cross-encoder/ms-marco-MiniLM-L-6-v2 where the
hub is reachable) to turn it on. sentence-transformers is imported only when
a reranker is configured.
"""

from __future__ import annotations

import threading
from typing import Protocol

from shared.errors import PermanentError


class Reranker(Protocol):
    name: str

    def scores(self, question: str, passages: list[str]) -> list[float]:
        """One relevance score per passage, higher is better."""


class CrossEncoderReranker:
    def __init__(self, model: str, device: str = "cpu", max_length: int = 512) -> None:
        self.name = model
        self._device = device
        self._max_length = max_length
        self._model = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._model is None:
                from sentence_transformers import CrossEncoder

                try:
                    self._model = CrossEncoder(self.name, device=self._device, max_length=self._max_length)
                except (OSError, ValueError) as err:
                    raise PermanentError(f"cannot load reranker {self.name!r}: {err}") from err
        return self._model

    def scores(self, question: str, passages: list[str]) -> list[float]:
        if not passages:
            return []
        return [float(s) for s in self._load().predict([(question, p) for p in passages], show_progress_bar=False)]


def rerank(reranker: Reranker, question: str, candidates: list, texts: dict[str, str], top: int) -> list:
    """Re-order the first `top` candidates by the reranker (its score kept as scores['rerank']);
    the rest keep their fused order behind them."""
    head, tail = candidates[:top], candidates[top:]
    scored = reranker.scores(question, [texts[c.passage_id] for c in head])
    for cand, score in zip(head, scored, strict=True):
        cand.scores["rerank"] = round(score, 6)
    return sorted(head, key=lambda c: -c.scores["rerank"]) + tail
