"""What retrieval says about a candidate, put on a scale that means the same for every question.

A raw cosine of 0.45 is a strong match for one question and a weak one for another, and a
raw BM25 score depends on the question's words and the corpus. So each retriever's score is
placed between two of that retriever's own scores for the question over the corpus now:
its `N`-th best (the candidate cut, "bar": 0) and its best ("top": 1). A passage BM25 did not
score shares no word with the question: its score is 0. A retriever the question has no
scale for (nothing found) gives MISSING, below every bar.

    dense: the mean over the question's dense models;  bm25: BM25's.

The evidence judge weighs these with its own reading of the pair (`shared.relevance.judge`).
"""

from __future__ import annotations

from dataclasses import dataclass

MISSING = -0.5
SPARSE = "bm25"


@dataclass(frozen=True)
class Scale:
    """One retriever's best and N-th best score for a question over the corpus; `full` is False when
    it found fewer than N passages (then `bar` is its last hit's score and no passage it scores is cut)."""

    top: float
    bar: float
    full: bool = True

    def admits(self, score: float | None) -> bool:
        """Would a passage with this score be among the retriever's candidates?"""
        return score is not None and (not self.full or score >= self.bar)

    def place(self, score: float | None) -> float:
        if score is None:
            return MISSING
        span = self.top - self.bar
        return (score - self.bar) / span if span > 1e-9 else (1.0 if score >= self.top else MISSING)


def scale_of(scores: list[float], n: int) -> Scale | None:
    """The scale of a retriever from its top-`n` hits' scores (best first), or None when it found nothing."""
    return Scale(top=scores[0], bar=scores[-1], full=len(scores) >= n) if scores else None


def retrieval_features(scores: dict[str, float], scales: dict[str, Scale]) -> dict[str, float]:
    """{"dense": ..., "bm25": ...} for one candidate's raw scores (by retriever name)."""
    dense = [scale.place(scores.get(name)) for name, scale in scales.items() if name != SPARSE]
    # BM25 scores nothing without a shared word: that is a score of 0, not an unknown
    bm25 = scales[SPARSE].place(scores.get(SPARSE, 0.0)) if SPARSE in scales else MISSING
    return {"dense": sum(dense) / len(dense) if dense else MISSING, "bm25": bm25}
