"""The research-question pairs judged by reading, as training examples for the evidence judge's rules.

An example is one (question, passage) pair: its grade (0 not relevant, 1 related, 2 evidence,
under `../shared/data/eval/rq-cs-GUIDE.md`), its answer (yes / no / mixed / unclear for a
yes/no question) and its rationale (the judged sentence, as indices of `split_sentences` of
the passage as the reader stores it). Two sources: `../shared/data/train/rq-cs-train` (20
questions, 881 pairs) and the pools judged for this project (`training/data/rq-pools`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from shared.passages import join_passage, map_sentences
from shared.stance.cross_encoder import split_sentences

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
ANSWERS = ("yes", "no", "mixed", "unclear")
POOLS = Path(__file__).resolve().parent / "data" / "rq-pools"


@dataclass
class Example:
    question: str
    passage: str
    spans: list[tuple[int, int]]
    grade_ge1: float | None = None
    grade_ge2: float | None = None
    answer: int | None = None
    rationale: list[int] | None = None
    weight: float = 1.0
    source: str = ""
    group: str = ""  # the question, for splitting by question


def map_rationale(passage: str, gold_spans: list[tuple[int, int]], gold: list[int]) -> list[int]:
    """Indices of our sentences (split_sentences of the passage) covering the gold sentences."""
    return map_sentences(gold, gold_spans, split_sentences(passage))


def example(question: str, title: str, sentences: list[str], **labels) -> Example:
    passage, gold_spans = join_passage(title, sentences)
    gold = labels.pop("gold", None)
    rationale = map_rationale(passage, gold_spans, gold) if gold else None
    return Example(question, passage, split_sentences(passage), rationale=rationale or None, **labels)


def _answer(value: str) -> int | None:
    return ANSWERS.index(value) if value in ANSWERS else None


def graded_pairs(path: Path, source: str) -> list[Example]:
    """Pairs judged under the rq-cs guide (evidence format plus grade and answer)."""
    out = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        r = json.loads(line)
        g = int(r["grade"])
        out.append(example(r["query"], r.get("title", ""), r["sentences"], grade_ge1=float(g >= 1),
                           grade_ge2=float(g >= 2), answer=_answer(r.get("answer", "")) if g else None,
                           gold=r.get("rationale") if g else None, source=source, group=r["query"]))
    return out


def judged_pools(folder: Path = POOLS) -> list[Example]:
    """Pools judged for this project: pool_NN.jsonl (question line, then papers) + judged_NN.jsonl."""
    from shared.stance.cross_encoder import sentences_of

    out = []
    for pool in sorted(folder.glob("pool_*.jsonl")):
        judged = folder / pool.name.replace("pool_", "judged_")
        if not judged.exists():
            continue
        lines = pool.read_text().splitlines()
        question = json.loads(lines[0])["question"]
        papers = {p["id"]: p for p in map(json.loads, lines[1:])}
        for j in map(json.loads, judged.read_text().splitlines()):
            p, g = papers[j["id"]], int(j["grade"])
            sents = sentences_of(p["abstract"])
            gold = [i for i, s in enumerate(sents) if g and j.get("sentence") and
                    " ".join(j["sentence"].split()) in " ".join(s.split())] or None
            out.append(example(question, p["title"], sents, grade_ge1=float(g >= 1), grade_ge2=float(g >= 2),
                               answer=_answer(j.get("answer", "")) if g else None, gold=gold,
                               source="rq-pools", group=question))
    return out
