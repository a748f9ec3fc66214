"""`questlog eval evidence FILE`: the production evidence judge on judged (query, passage) pairs.

Each pair's passage is put together as the reader stores it ("Title. sentence sentence …")
and given to the judge the linker uses (`shared.relevance.build_judge`), so the figures are
the linker's own. What the judge says is mapped back to the file's sentences and scored:

- stance_macro_f1 over supports / contradicts / neutral: a claim's stance; a yes/no
  question's answer (yes -> supports, no -> contradicts, else neutral); neutral for an
  open question and for any pair below the judge's relevance bar (not linked);
- answer_macro_f1 over yes / no / mixed, on the pairs with a gold answer of a yes/no
  question that are graded >= 1 (research-question sets only; unclear counts against);
- rationale_f1: sentence F1 over pairs with a gold rationale, of the sentences the judge
  picks for the pair (for a claim: none when it is not linked, as SciFact is scored);
- relevance: with graded pairs, precision / recall of the judge's bar (linked = graded >= 1
  / graded 2 found) on these pairs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from shared.passages import join_passage, map_sentences
from shared.questions import question_kind
from shared.stance.evaluate import rationale_metrics, read_evidence, stance_metrics

Progress = Callable[[int, int], None]


def to_file_sentences(passage: str, file_spans: list[tuple[int, int]], picked: list[int]) -> list[int]:
    """Our sentence indices (split_sentences of the passage) -> the file's sentence indices they overlap."""
    from shared.stance.cross_encoder import split_sentences

    return map_sentences(picked, split_sentences(passage), file_spans)


def evaluate_pairs(judge, path: Path, *, split=None, limit: int | None = None, progress: Progress | None = None
                   ) -> dict:
    """Judge every pair of an evidence file (or one split, or its first `limit`) and score it (module docstring)."""
    pairs = read_evidence(path, split)[:limit]
    bar = judge.bar_for(False)
    started = time.perf_counter()
    verdicts = []
    by_query: dict[str, list[int]] = {}
    for i, p in enumerate(pairs):
        by_query.setdefault(p.query, []).append(i)
    assembled = [join_passage(p.title, p.sentences) for p in pairs]
    results: list = [None] * len(pairs)
    done = 0
    for query, idx in by_query.items():
        for i, a in zip(idx, judge.assess_many(query, [assembled[i][0] for i in idx],
                                                          explain_all=True), strict=True):
            results[i] = a
        done += len(idx)
        if progress:
            progress(done, len(pairs))
    elapsed = time.perf_counter() - started
    predicted, rationales, answers_gold, answers_pred = [], [], [], []
    linked_rel = linked = evidence_found = evidence_total = 0
    for p, a, (text, spans) in zip(pairs, results, assembled, strict=True):
        kind = question_kind(p.query)
        is_linked = a.relevance >= bar
        if kind == "claim":
            label = a.stance if is_linked else "neutral"
            picked = a.rationale if is_linked and label != "neutral" else []
        else:
            label = {"yes": "supports", "no": "contradicts"}.get(a.answer, "neutral") if is_linked else "neutral"
            picked = a.rationale
        predicted.append(label)
        rationales.append(to_file_sentences(text, spans, picked))
        if p.grade is not None:
            linked += is_linked
            linked_rel += is_linked and p.grade >= 1
            evidence_total += p.grade >= 2
            evidence_found += is_linked and p.grade >= 2
            if kind == "yesno" and p.grade >= 1 and p.answer in ("yes", "no", "mixed", "unclear"):
                answers_gold.append(p.answer)
                answers_pred.append(a.answer or "unclear")
        verdicts.append(a)
    out = {
        "n": len(pairs),
        **stance_metrics([p.label for p in pairs], predicted),
        **rationale_metrics([p.rationale for p in pairs], rationales),
        "pairs_per_s": len(pairs) / elapsed if elapsed else 0.0,
        "judge": getattr(judge, "name", ""),
    }
    if answers_gold:
        out["answer_macro_f1"] = answer_macro_f1(answers_gold, answers_pred)
        out["answer_pairs"] = len(answers_gold)
    if evidence_total or linked:
        p_ = linked_rel / linked if linked else 0.0
        r_ = evidence_found / evidence_total if evidence_total else 0.0
        out["relevance"] = {"bar": bar, "linked": linked, "precision": round(p_, 4), "recall": round(r_, 4)}
    return out


def answer_macro_f1(gold: list[str], pred: list[str]) -> float:
    """Macro-F1 over yes / no / mixed (an 'unclear' answer or gold counts only as a miss or a false alarm)."""
    f1s = []
    for label in ("yes", "no", "mixed"):
        tp = sum(g == p == label for g, p in zip(gold, pred, strict=True))
        n_pred, n_gold = pred.count(label), gold.count(label)
        pr, rc = (tp / n_pred if n_pred else 0.0), (tp / n_gold if n_gold else 0.0)
        f1s.append(2 * pr * rc / (pr + rc) if pr + rc else 0.0)
    return sum(f1s) / 3
