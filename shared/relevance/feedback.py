"""Learning from verdicts: one question's accepted and rejected links re-rank its other candidates.

ASReview-style active learning, warm-started from the evidence judge. Each candidate passage has
the judge's calibrated `relevance` (the prior) and its embedding. The question's model is a
logistic regression whose offset is the judge's log-odds:

    log-odds(evidence) = logit(relevance) + shift + weights . unit(embedding)

fit to the question's verdicts by penalised maximum likelihood (L2 on `weights`, scaled by
`strength`, and on `shift`). With no verdicts `weights` and `shift` are zero and the ranking
is the judge's. A verdict moves the model only as far as the judge had not predicted it: an
accepted passage the judge was sure of teaches almost nothing, one accepted at 0.2 a lot.
Verdicts of one kind need no special case. `shift` is the question's move of the gate: when
the user rejects what the judge passed, every new paper's odds for that question go down
(`QuestionModel.relevance` gives new papers' relevance to compare with the gate's bar).

What it replaces, and why (docs/evidence.md, "Learning from verdicts"): a regression on the
verdicts alone, classes balanced, whose log-odds were added to the judge's. Fit without the
prior, it learnt again what the judge already knew (the first verdicts are of the judge's
top candidates), and balancing inflated the rare class.

Nothing here reads settings or stores; it is a pure function of its inputs, so the linker and
`questlog eval feedback` share it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Chosen on rq-cs-train (`questlog eval feedback ../shared/data/train/rq-cs-train`, mean precision@10
# at 10 and 20 verdicts over C in 0.1..10; docs/evidence.md), never on rq-cs-dev.
STRENGTH = 1.0  # inverse L2 penalty on the embedding weights (scikit-learn's C)
SHIFT_STRENGTH = 1.0  # inverse L2 penalty on the question's shift of the judge's log-odds
EPS = 1e-4


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), EPS, 1 - EPS)
    return np.log(p / (1 - p))


def _unit(vectors: np.ndarray) -> np.ndarray:
    x = np.asarray(vectors, dtype=float)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


@dataclass(frozen=True)
class QuestionModel:
    """What one question's verdicts taught: a weight per embedding dimension and a shift of log-odds."""

    weights: np.ndarray
    shift: float = 0.0

    def scores(self, prior: list[float], vectors: np.ndarray) -> np.ndarray:
        """Log-odds of evidence for passages with the judge's `prior` and these embeddings."""
        z, x = logit(prior), _unit(vectors)
        if len(z) != len(x):
            raise ValueError(f"{len(z)} priors but {len(x)} vectors")
        return z + self.shift + (x @ self.weights if len(x) else 0.0)

    def relevance(self, prior: list[float], vectors: np.ndarray) -> np.ndarray:
        """The same as probabilities, on the judge's scale: what the gate compares with its bar."""
        return 1.0 / (1.0 + np.exp(-self.scores(prior, vectors)))


def fit(prior: list[float], vectors: np.ndarray, labels: dict[int, bool], *, strength: float = STRENGTH,
        shift_strength: float = SHIFT_STRENGTH) -> QuestionModel:
    """The question's model from its verdicts (module docstring).

    `prior`: the judge's relevance per candidate (0..1); `vectors`: one embedding per candidate (any
    scale: L2-normalised here); `labels`: candidate index -> True (accepted) / False (rejected).
    Deterministic. Raises ValueError when `prior` and `vectors` disagree in length or a label's index
    is out of range."""
    z, x = logit(prior), _unit(vectors)
    if len(z) != len(x):
        raise ValueError(f"{len(z)} priors but {len(x)} vectors")
    if any(not 0 <= i < len(z) for i in labels):
        raise ValueError(f"a label's index is outside 0..{len(z) - 1}")
    dims = x.shape[1] if x.ndim == 2 else 0
    if not labels:
        return QuestionModel(np.zeros(dims))
    idx = sorted(labels)
    xl, zl = x[idx], z[idx]
    y = np.array([1.0 if labels[i] else 0.0 for i in idx])

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = params[:dims], params[dims]
        s = zl + b + xl @ w
        value = np.sum(np.logaddexp(0.0, s) - y * s) + 0.5 * (w @ w) / strength + 0.5 * b * b / shift_strength
        g = 1.0 / (1.0 + np.exp(-s)) - y
        return value, np.concatenate([xl.T @ g + w / strength, [g.sum() + b / shift_strength]])

    from scipy.optimize import minimize  # only where verdicts exist

    # convex and smooth: L-BFGS from zero reaches the one optimum, the same on every run
    params = minimize(loss, np.zeros(dims + 1), jac=True, method="L-BFGS-B").x
    return QuestionModel(params[:dims], float(params[dims]))


def rerank(prior: list[float], vectors: np.ndarray, labels: dict[int, bool], *, strength: float = STRENGTH,
           shift_strength: float = SHIFT_STRENGTH) -> list[float]:
    """Scores (log-odds; higher = more likely evidence) for every candidate, in the order given.

    The question's model (`fit`) applied to its own candidates; labelled candidates are scored too
    (callers usually drop them). With no labels the scores are logit(prior), so the ranking is the
    judge's. Raises ValueError as `fit` does."""
    model = fit(prior, vectors, labels, strength=strength, shift_strength=shift_strength)
    return model.scores(prior, vectors).tolist()
