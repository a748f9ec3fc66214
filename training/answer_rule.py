"""The evidence judge's answer rule (yes / no / mixed / unclear for a yes/no question), and its refit.

    python -m training.answer_rule MODEL_DIR     # refit only the answer rule of MODEL_DIR/rules.json

A multinomial logistic regression over `shared.relevance.reading.answer_features` of each graded
pair of a yes/no question (rq-cs-train and the pools judged for this project; no evaluation set is
read), the gate's log-odds for the bare pair among them. Features are standardised for the fit and
the scaling is folded back into the weights, so the judge applies the rule to raw features.
Regularisation (C) and class weighting were chosen on out-of-fold predictions of these pairs
(questions split into folds): C = 0.3 without class weights, out-of-fold macro-F1 0.30 against 0.23
for the earlier rule. The confidence bar below which the answer is "unclear" is chosen the same way;
between bars within NEAR_TIE of the best, the highest wins (say "unclear" rather than guess, at no cost).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from questlog.evals.evidence import answer_macro_f1
from shared.questions import question_kind
from shared.relevance.judge import RULES_FILE, choose_rationale, linear, sigmoid
from shared.relevance.reading import answer_features, relevance_features, sentence_features
from training.evidence_data import ANSWERS, Example

C = 0.3
NEAR_TIE = 0.005
BARS = [round(0.05 * i, 2) for i in range(17)]


def relevance_alone(alone: dict, reading) -> float:
    """The bare-pair gate's probability (the rule in rules.json's relevance.alone)."""
    return sigmoid(linear(alone, relevance_features(reading, None)))


def _fit(x: np.ndarray, y: np.ndarray):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=5000).fit(x, y)


def folded(model, mu: np.ndarray, sd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weights and biases on raw features of a model fitted on (x - mu) / sd:
    w.(x - mu)/sd + b = (w/sd).x + (b - (w/sd).mu)."""
    w = model.coef_ / sd
    return w, model.intercept_ - w @ mu


def decide(probs: np.ndarray, classes: list[str], bar: float) -> list[str]:
    out = []
    for p in probs:
        d = dict(zip(classes, p, strict=True))
        c = max(("yes", "no", "mixed"), key=lambda k: d.get(k, 0.0))
        out.append(c if d.get(c, 0.0) >= bar else "unclear")
    return out


def learn_answer(examples: list[Example], readings, rationale: dict, alone: dict,
                 fold_of: Callable[[str], int], folds: int) -> tuple[dict, dict]:
    """The answer rule from the graded pairs of yes/no questions, with its out-of-fold report."""
    pairs = [(e, r) for e, r in zip(examples, readings, strict=True)
             if e.answer is not None and question_kind(e.question) == "yesno"]
    x = []
    for _, r in pairs:
        s = [sigmoid(rationale["b"] + sum(w * v for w, v in zip(rationale["w"], row, strict=True)))
             for row in sentence_features(r)]
        picked = choose_rationale(s, rationale["ratio"], r.body)
        best = max(picked, key=s.__getitem__) if picked else max(r.body, key=s.__getitem__)
        x.append(answer_features(r, best, relevance_alone(alone, r)))
    x = np.array(x)
    mu, sd = x.mean(0), x.std(0) + 1e-6
    z = (x - mu) / sd
    y = np.array([ANSWERS[e.answer] for e, _ in pairs])
    gold = list(y)
    fold = np.array([fold_of(e.question) for e, _ in pairs])
    classes = sorted(set(y))
    oof = np.zeros((len(y), len(classes)))
    for k in range(folds):
        test = fold == k
        if test.any():
            m = _fit(z[~test], y[~test])
            cols = [classes.index(c) for c in m.classes_]
            oof[np.ix_(test, cols)] = m.predict_proba(z[test])
    sweep = [(answer_macro_f1(gold, decide(oof, classes, bar)), bar) for bar in BARS]
    best_f1 = max(f for f, _ in sweep)
    bar = max(b for f, b in sweep if f >= best_f1 - NEAR_TIE)
    model = _fit(z, y)
    w, b = folded(model, mu, sd)
    rule = {"classes": [str(c) for c in model.classes_], "W": [[round(float(v), 6) for v in row] for row in w],
            "b": [round(float(v), 6) for v in b], "threshold": bar, "with_relevance": True, "C": C}
    counts = {a: int((y == a).sum()) for a in ANSWERS}
    return rule, {"pairs": len(pairs), "answers": counts, "out_of_fold_macro_f1": round(best_f1, 4),
                  "threshold_sweep": [{"bar": b_, "macro_f1": round(f, 4)} for f, b_ in sweep]}


def refit(model_dir: Path, progress: Callable[[str], None] = print) -> dict:
    """Refit the answer rule of MODEL_DIR/rules.json from the judged pairs; other rules are kept as they are."""
    from shared.relevance.reading import SentenceEncoder
    from shared.stance.cross_encoder import CrossEncoderJudge
    from training.evidence_data import DATA, graded_pairs, judged_pools
    from training.evidence_rules import FOLDS, fold_of, read_examples

    path = Path(model_dir) / RULES_FILE
    rules = json.loads(path.read_text())
    encoder, stance = SentenceEncoder(), CrossEncoderJudge()
    examples = [e for e in graded_pairs(DATA / "train/rq-cs-train/rq-cs-train-evidence.jsonl", "rq-cs-train")
                + judged_pools() if e.answer is not None and question_kind(e.question) == "yesno"]
    readings = read_examples(encoder, stance, examples, progress)
    rule, info = learn_answer(examples, readings, rules["rationale"], rules["relevance"]["alone"], fold_of, FOLDS)
    rules["answer"] = rule
    rules["report"]["answer"] = {**info, "refit": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    path.write_text(json.dumps(rules, indent=2) + "\n")
    return rules


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model_dir", type=Path)
    args = ap.parse_args()
    print(json.dumps(refit(args.model_dir)["report"]["answer"], indent=2))


if __name__ == "__main__":
    main()
