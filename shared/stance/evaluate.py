"""Evidence-and-stance evaluation: the JSONL pair format, the held-out split, and the metrics.

One pair a line (see data/eval/README.md):
    {"id", "query", "title", "sentences": [...], "label": supports|contradicts|neutral, "rationale": [int, ...]}
Unknown extra keys are ignored. Metrics: stance macro-F1 over the three labels, and
rationale sentence F1, micro-averaged over the sentences of the pairs whose gold
rationale is non-empty (a pair the judge calls neutral contributes its gold sentences
as misses).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from shared.errors import PermanentError
from shared.stance.base import STANCES, Judgement, Stance, StanceJudge

Split = Literal["train", "tune", "validation"]
Progress = Callable[[int, int], None]


class EvidencePair(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    query: str
    title: str = ""
    sentences: list[str]
    label: Stance
    rationale: list[int] = []
    grade: int | None = None  # research-question sets: 0 not relevant, 1 related, 2 evidence
    answer: str | None = None  # yes | no | mixed | unclear (yes/no questions), n/a (open ones), "" (grade 0)

    @model_validator(mode="after")
    def _rationale_inside_passage(self) -> EvidencePair:
        bad = [i for i in self.rationale if not 0 <= i < len(self.sentences)]
        if bad:
            raise ValueError(f"rationale indices {bad} outside a passage of {len(self.sentences)} sentences")
        return self


def split_of(query: str) -> Split:
    """The deterministic split of a query: 20% validation, 10% tune, 70% train.

    By a hash of the normalised query text, so every pair about one claim lands in the
    same split, in every dataset, on every machine.
    """
    bucket = int(hashlib.sha1(" ".join(query.lower().split()).encode()).hexdigest(), 16) % 100
    return "validation" if bucket < 20 else "tune" if bucket < 30 else "train"


def read_evidence(path: Path, split: Split | None = None) -> list[EvidencePair]:
    """Every pair of the file (or of one split of it), in file order; blank lines are skipped.

    Raises PermanentError naming the file and line of the first malformed pair.
    """
    pairs = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise PermanentError(f"{path}: cannot read evidence pairs: {e}") from e
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            pair = EvidencePair.model_validate(json.loads(line))
        except json.JSONDecodeError as e:
            raise PermanentError(f"{path}:{n}: not a JSON object: {e.msg}") from e
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "pair"
            raise PermanentError(f"{path}:{n}: bad pair ({where}: {first['msg']})") from e
        if split is None or split_of(pair.query) == split:
            pairs.append(pair)
    return pairs


def stance_metrics(gold: list[str], predicted: list[str]) -> dict:
    """Per-label precision, recall, F1 and support, and their macro-F1 over the three labels."""
    per_label = {}
    for label in STANCES:
        tp = sum(g == p == label for g, p in zip(gold, predicted, strict=True))
        n_pred = sum(p == label for p in predicted)
        n_gold = sum(g == label for g in gold)
        precision = tp / n_pred if n_pred else 0.0
        recall = tp / n_gold if n_gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[label] = {"precision": precision, "recall": recall, "f1": f1, "support": n_gold}
    return {"stance_macro_f1": sum(v["f1"] for v in per_label.values()) / len(STANCES), "per_label": per_label}


def rationale_metrics(gold: Iterable[list[int]], predicted: Iterable[list[int]]) -> dict:
    """Sentence-level precision / recall / F1, micro-averaged over pairs with a gold rationale."""
    tp = n_pred = n_gold = pairs = 0
    for g, p in zip(gold, predicted, strict=True):
        if not g:
            continue
        pairs += 1
        tp += len(set(g) & set(p))
        n_pred += len(set(p))
        n_gold += len(set(g))
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"rationale_f1": f1, "rationale_precision": precision, "rationale_recall": recall, "rationale_pairs": pairs}


def score_judgements(pairs: list[EvidencePair], judgements: list[Judgement]) -> dict:
    """The metrics of judgements against the gold pairs they answer, in the same order."""
    return {
        "n": len(pairs),
        **stance_metrics([p.label for p in pairs], [j.stance for j in judgements]),
        **rationale_metrics([p.rationale for p in pairs], [j.rationale for j in judgements]),
    }


def evaluate_evidence(
    judge: StanceJudge,
    path: Path,
    *,
    split: Split | None = None,
    limit: int | None = None,
    batch_size: int = 16,
    progress: Progress | None = None,
) -> dict:
    """Judge every pair of an evidence file (or of one split, or its first `limit` pairs) and score it.

    Returns {"n", "stance_macro_f1", "per_label": {label: {precision, recall, f1, support}},
    "rationale_f1", "rationale_precision", "rationale_recall", "rationale_pairs",
    "pairs_per_s"}. `progress(done, total)` is called after each batch of pairs.
    Raises PermanentError for a malformed file, and whatever the judge raises.
    """
    pairs = read_evidence(path, split)[:limit]
    judgements: list[Judgement] = []
    started = time.perf_counter()
    for at in range(0, len(pairs), batch_size):
        chunk = pairs[at : at + batch_size]
        judgements += judge.judge_many([(p.query, p.sentences) for p in chunk])
        if progress:
            progress(len(judgements), len(pairs))
    elapsed = time.perf_counter() - started
    return {**score_judgements(pairs, judgements), "pairs_per_s": len(pairs) / elapsed if elapsed else 0.0}
