"""The offline evidence judge: small learned rules over how a passage reads against the question.

For each candidate (`shared.relevance.reading`):
- relevance = sigmoid(b + w . features), the features being the best body sentence's cosine
  to the question, the share of the question's words the passage has, and — when the linker
  found it by retrieval — where dense retrieval and BM25 placed it for this question
  (`shared.relevance.features`). Logistic regression on the training questions' candidates
  (graded 2 = evidence), so the number is a probability; a passage is linked when it reaches
  `min_relevance`. Pairs judged without retrieval (`eval evidence`) have their own fit and bar.
- rationale: a logistic rule over each sentence (cosine, position, stance, cue words) picks the
  sentence that carries the finding, plus close seconds (`ratio` of its score), at most three,
  never every sentence of a passage;
- answer (yes/no questions): a multinomial rule over the rationale sentence's and the body's
  stance, cue words and the bare-pair gate's log-odds (`training.answer_rule`); yes / no / mixed only when its probability reaches `threshold`, else
  unclear. A claim's stance and rationale are the stance cross-encoder's own rule
  (`shared.stance.decide`), as measured on SciFact.
The rules live in `rules.json` beside the model files (`training.evidence_rules` writes them).
Raises PermanentError at construction when the folder, its rules or the stance model are
missing or broken, naming the path.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from shared.errors import PermanentError
from shared.questions import question_kind
from shared.relevance.base import DEFAULT_MODEL_DIR, Assessment, JudgeSettings
from shared.relevance.reading import (
    Reading,
    SentenceEncoder,
    add_stance,
    answer_features,
    read,
    relevance_features,
    sentence_features,
)
from shared.stance.cross_encoder import CrossEncoderJudge, decide
from shared.vectors.lexical import document_vector, query_vector

RULES_FILE = "rules.json"
MAX_RATIONALE = 3
# How far a passage's best body sentence's cosine to the question may lie above the whole passage's
# cosine in the retrieval model, when that model is the judge's own sentence model: above the 99.9th
# percentile (0.396) of 17,400 rq-cs-train (question, abstract) pairs, largest seen 0.595. So the bound
# before reading is no longer "a sentence could match perfectly" (cosine 1) for a passage retrieval
# already scored (`max_relevance`); docs/evidence.md, "Reading only what can pass".
SENTENCE_MARGIN = 0.4


def default_threads() -> int:
    """The judge's torch threads when none are set: a quarter of the cores, at least one. It reads small
    batches (tens of passages) while the embed worker encodes on the same cores; on two cores one thread
    made `bench ingest` 1.4x faster than torch's default of every core (README, "Measured")."""
    from shared.embedder import usable_cores

    return max(1, usable_cores() // 4)


def linear(rule: dict, values: dict[str, float]) -> float:
    return rule["b"] + sum(w * values[name] for name, w in rule["w"].items())


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))


def choose_rationale(scores: list[float], ratio: float, allowed: range | None = None) -> list[int]:
    """The best sentence and those scoring at least `ratio` of it, at most three, never all of several."""
    idx = [i for i in (allowed if allowed is not None else range(len(scores)))
           if scores[i] is not None and math.isfinite(scores[i])]
    if not idx:
        return []
    best = max(idx, key=lambda i: scores[i])
    picked = [i for i in sorted(idx, key=lambda i: -scores[i]) if scores[i] >= ratio * scores[best]]
    return sorted(picked[:min(MAX_RATIONALE, max(1, len(scores) - 1))])


class EvidenceRulesJudge:
    """The shipped evidence judge. Cheap to construct; the two small models load on first use."""

    def __init__(self, settings: JudgeSettings | None = None, stance: CrossEncoderJudge | None = None) -> None:
        settings = settings or JudgeSettings()
        self.model_dir = Path(settings.model_dir or DEFAULT_MODEL_DIR)
        try:
            self.rules = json.loads((self.model_dir / RULES_FILE).read_text())
            for key in ("relevance", "min_relevance", "min_relevance_alone", "rationale", "answer"):
                self.rules[key]
        except (OSError, ValueError, KeyError) as e:
            raise PermanentError(f"no usable evidence judge in {self.model_dir}: {e!r} (expected {RULES_FILE}; "
                                 "`questlog train evidence` writes it)") from e
        self.settings = settings
        from shared.embedder import cpu_has_native_bf16

        bf16 = settings.precision == "bf16" or (settings.precision == "auto" and cpu_has_native_bf16())
        threads = settings.threads or default_threads()
        self.stance = stance or CrossEncoderJudge(threads=threads, bf16=bf16)
        self.encoder = SentenceEncoder(threads=threads, bf16=bf16)
        self.min_relevance = settings.min_relevance if settings.min_relevance is not None else self.rules["min_relevance"]
        self.answer_threshold = (settings.answer_threshold if settings.answer_threshold is not None
                                 else self.rules["answer"]["threshold"])
        self.name = f"evidence-rules:{self.rules.get('name', 'unnamed')}+{self.stance.name}"
        # the library the gate learned placement on (agents.linker.candidates.scales); 0: unknown
        self.library_passages = int(self.rules.get("library_passages", 0))

    def warm(self) -> None:
        """Load both models and judge one pair now, so the first real judgement pays for neither."""
        self.assess_many("Does a warm-up help?", ["Warm-up. We find that it helps."], explain_all=True)

    def bar_for(self, retrieval: bool) -> float:
        """The relevance a pair needs to be linked (pairs judged without retrieval have their own bar)."""
        return self.min_relevance if retrieval else self.rules["min_relevance_alone"]

    def max_relevance(self, question: str, passages: list[str], retrieval: list[dict],
                      cosines: list[float | None] | None = None) -> list[float]:
        """An upper bound of each passage's relevance, known before it is read: the rule with the best
        sentence's cosine at its largest value (the share of the question's words and where retrieval
        placed the passage cost no model). That value is 1, or, where `cosines` gives the whole passage's
        cosine to the question in the judge's own sentence model (`reading.SENTENCE_MODEL_SOURCES`), that cosine
        plus `SENTENCE_MARGIN` (a bound for all but about 1 pair in 1,000). A passage whose bound is below
        the bar is not linked, so the linker does not read it (`agents.linker.graph`)."""
        rule = self.rules["relevance"]["with_retrieval"]
        terms = set(query_vector(question).indices)
        cosines = cosines if cosines is not None else [None] * len(passages)
        out = []
        for passage, placed, cosine in zip(passages, retrieval, cosines, strict=True):
            coverage = len(terms & set(document_vector(passage).indices)) / len(terms) if terms else 0.0
            # 1.01: a unit-length cosine is at most 1, and bf16 rounding may pass it by a little
            best = 1.01 if cosine is None else min(1.01, cosine + SENTENCE_MARGIN)
            feats = {"sentence": best if rule["w"]["sentence"] >= 0 else -1.0, "coverage": coverage,
                     "dense": max(placed["dense"], -1.0), "bm25": placed["bm25"]}
            out.append(sigmoid(linear(rule, feats)))
        return out

    def relevance(self, reading: Reading, retrieval: dict | None) -> float:
        rule = self.rules["relevance"]["with_retrieval" if retrieval is not None else "alone"]
        return sigmoid(linear(rule, relevance_features(reading, retrieval)))

    def assess_many(self, question: str, passages: list[str], retrieval: list[dict] | None = None,
                    title_first: list[bool] | None = None, explain_all: bool = False) -> list[Assessment]:
        """Judge each passage. `retrieval`: per passage, where the retrievers placed it (the linker's
        candidates); `title_first`: whether its first sentence is the paper's title (default: yes);
        rationale and answer are worked out for the passages that reach the bar, or all with `explain_all`."""
        if not passages:
            return []
        kind = question_kind(question)
        readings = read(self.encoder, question, passages, title_first or [True] * len(passages))
        feats = retrieval if retrieval is not None else [None] * len(passages)
        relevance = [self.relevance(r, f) for r, f in zip(readings, feats, strict=True)]
        bar = self.bar_for(retrieval is not None)
        explained = [i for i, p in enumerate(relevance) if explain_all or p >= bar]
        add_stance(self.stance, question, [readings[i] for i in explained])
        out = []
        for i, (reading, p) in enumerate(zip(readings, relevance, strict=True)):
            scores = {"relevance": round(p, 6), "best_sentence": round(max(reading.cosines), 4),
                      "coverage": round(reading.coverage, 4)}
            if reading.stance is None:
                out.append(Assessment(relevance=p, answer="unclear" if kind == "yesno" else "", model=self.name,
                                      scores=scores))
                continue
            out.append(self._explain(kind, reading, p, scores))
        return out

    def _explain(self, kind: str, reading: Reading, relevance: float, scores: dict) -> Assessment:
        rule = self.rules["rationale"]
        sentence_scores = [sigmoid(rule["b"] + sum(w * x for w, x in zip(rule["w"], row, strict=True)))
                           for row in sentence_features(reading)]
        rationale = choose_rationale(sentence_scores, rule["ratio"], reading.body)
        answer, answer_score, stance = "", None, "neutral"
        if kind == "yesno":
            best = max(rationale, key=sentence_scores.__getitem__) if rationale else 0
            answer, answer_score = self._answer(reading, best)
        elif kind == "claim":
            verdict = decide(reading.stance, self.stance.evidence_threshold, self.stance.rationale_threshold)
            stance, answer_score = verdict.stance, verdict.score
            # a claim's evidence is often spread over several sentences: the stance model's own rationale
            # (SciFact's kind), the title left out, and never every sentence of the passage
            claimed = [i for i in verdict.rationale if i in reading.body]
            if stance != "neutral" and claimed and len(claimed) < len(reading.sentences):
                rationale = claimed
        return Assessment(relevance=relevance, answer=answer, answer_score=answer_score, stance=stance,
                          rationale=rationale, sentence_scores=[round(s, 4) for s in sentence_scores],
                          model=self.name, scores=scores)

    def _answer(self, reading: Reading, best: int) -> tuple[str, float]:
        rule = self.rules["answer"]
        x = answer_features(reading, best, self.relevance(reading, None) if rule.get("with_relevance") else None)
        logits = [b + sum(w * v for w, v in zip(row, x, strict=True)) for row, b in zip(rule["W"], rule["b"],
                                                                                         strict=True)]
        top = max(logits)
        exp = [math.exp(z - top) for z in logits]
        probs = dict(zip(rule["classes"], (e / sum(exp) for e in exp), strict=True))
        choice = max(("yes", "no", "mixed"), key=probs.__getitem__)
        return (choice if probs[choice] >= self.answer_threshold else "unclear"), probs[choice]
