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

import math
from dataclasses import dataclass

MISSING = -0.5
SPARSE = "bm25"
# How fast the placement rank shrinks with the library: 1 keeps the same share of it (rq-cs-dev with
# 600 of its documents: precision 0.25 -> 0.50, recall 0.83 -> 0.50; whole: recall 0.76 -> 0.58), 0.5
# keeps recall (600: precision 0.40, recall 0.83; whole: precision 0.66, recall 0.68). Chosen on rq-cs-dev.
PLACEMENT_EXPONENT = 0.5


@dataclass(frozen=True)
class Scale:
    """One retriever's best and N-th best score for a question over the corpus; `full` is False when
    it found fewer than N passages (then `bar` is its last hit's score and no passage it scores is cut).
    `cut`: the candidate cut's score when the placement bar sits higher (a small library, `scale_of`)."""

    top: float
    bar: float
    full: bool = True
    cut: float | None = None

    def admits(self, score: float | None) -> bool:
        """Would a passage with this score be among the retriever's candidates?"""
        return score is not None and (not self.full or score >= (self.bar if self.cut is None else self.cut))

    def place(self, score: float | None) -> float:
        if score is None:
            return MISSING
        span = self.top - self.bar
        return (score - self.bar) / span if span > 1e-9 else (1.0 if score >= self.top else MISSING)


def scale_of(scores: list[float], n: int, placed_at: int | None = None) -> Scale | None:
    """The scale of a retriever from its top-`n` hits' scores (best first), or None when it found nothing.
    `placed_at`: the rank whose score is placement 0 when it is not the n-th (see `placement_rank`)."""
    if not scores:
        return None
    if placed_at is None or placed_at >= len(scores):
        return Scale(top=scores[0], bar=scores[-1], full=len(scores) >= n)
    return Scale(top=scores[0], bar=scores[placed_at - 1], full=len(scores) >= n, cut=scores[-1])


def placement_rank(n: int, passages: int, reference: int) -> int | None:
    """The rank that plays the N-th's part in a library smaller than the one the judge learned on.

    The judge learned what "among a question's top N" means over about `reference` passages; in a
    library of 600 every question's top 40 reach far down into the off-topic papers, and its best
    is rarely evidence. So placement 0 moves up to rank n * (passages / reference) ** 0.5 (at least
    2). None: the library is as large as the reference."""
    if not reference or passages >= reference:
        return None
    return max(2, math.ceil(n * (passages / reference) ** PLACEMENT_EXPONENT))


def retrieval_features(scores: dict[str, float], scales: dict[str, Scale]) -> dict[str, float]:
    """{"dense": ..., "bm25": ...} for one candidate's raw scores (by retriever name)."""
    dense = [scale.place(scores.get(name)) for name, scale in scales.items() if name != SPARSE]
    # BM25 scores nothing without a shared word: that is a score of 0, not an unknown
    bm25 = scales[SPARSE].place(scores.get(SPARSE, 0.0)) if SPARSE in scales else MISSING
    return {"dense": sum(dense) / len(dense) if dense else MISSING, "bm25": bm25}
