"""The evidence-linker's graph: pick questions -> find candidates -> judge them -> record links.

Two modes: 'passages' links newly indexed passages against every open question;
'backfill' links the whole corpus against a newly added question. The candidates are the
union of every retriever's best passages (`agents.linker.candidates`), so no single
model's blind spot decides what is read. The evidence judge then gives each candidate a
calibrated probability of being evidence for the question; a candidate becomes a link
when it reaches `judge.min_relevance` (`link.gate = "judge"`, the default). The old gate,
the primary dense model's cosine >= `link.min_score`, stays as `link.gate = "cosine"` for
comparison. Idempotent: one link per (question, passage), upserted.
"""

from __future__ import annotations

import logging
from typing import TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import RunnableConfig

from agents.deps import Deps
from agents.linker.candidates import backfill_candidates, new_passage_candidates, scales
from agents.linker.retrieval import Candidate
from shared.ids import question_point_id
from shared.ledger import EvidenceDraft
from shared.messages import LinkRequested, Message
from shared.relevance.features import retrieval_features
from shared.stance import sentences_of

log = logging.getLogger(__name__)


class Job(TypedDict):
    question_id: int
    text: str
    models: list[str]
    candidates: list[Candidate]
    scales: dict  # retriever -> Scale over the corpus now (agents.linker.candidates.scales)


class LinkState(TypedDict, total=False):
    mode: str
    ids: list[str]
    jobs: list[Job]
    drafts: list[EvidenceDraft]
    new_ids: list[str]


def _deps(config: RunnableConfig) -> Deps:
    return config["configurable"]["deps"]


def question_models(deps: Deps, chosen: list[str]) -> list[str]:
    configured = [m.name for m in deps.settings.embed.models]
    picked = [m for m in chosen if m in configured]
    return picked or configured


def pick_questions(state: LinkState, config: RunnableConfig) -> dict:
    deps = _deps(config)
    if state["mode"] == "backfill":
        questions = [deps.ledger.question(int(i)) for i in state["ids"]]
        questions = [q for q in questions if q.status == "open"]
    else:
        questions = [q for q in deps.ledger.questions(status="open") if q.indexed_at is not None]
    return {"jobs": [Job(question_id=q.id, text=q.text, models=question_models(deps, q.models or []),
                         candidates=[], scales={}) for q in questions]}


def find_candidates(state: LinkState, config: RunnableConfig) -> dict:
    deps = _deps(config)
    jobs = []
    for job in state["jobs"]:
        point = question_point_id(job["question_id"])
        vectors = {m: deps.store.vectors("questions", [point], m).get(point) for m in job["models"]}
        vectors = {m: v for m, v in vectors.items() if v is not None}
        if not vectors:
            continue  # not embedded yet: its backfill will cover these passages
        cut = scales(deps, job["text"], vectors)
        if state["mode"] == "backfill":
            cands = backfill_candidates(deps, job["text"], vectors)
        else:
            cands = new_passage_candidates(deps, job["text"], vectors, list(state["ids"]), cut)
        jobs.append(Job(**{**job, "candidates": cands, "scales": cut}))
    return {"jobs": jobs}


def judge_candidates(state: LinkState, config: RunnableConfig) -> dict:
    """Judge every candidate; keep those the gate admits, with relevance, answer and rationale."""
    deps = _deps(config)
    link = deps.settings.link
    drafts: list[EvidenceDraft] = []
    bar = deps.judge_threshold if link.gate == "judge" else 0.0
    for job in state["jobs"]:
        if not job["candidates"]:
            continue
        primary = job["models"][0]
        cands = job["candidates"]
        if link.gate == "cosine":
            cands = [c for c in cands if c.scores.get(primary, 0.0) >= link.min_score]
        passages = {p.id: p for p in deps.ledger.passages([c.passage_id for c in cands])}
        cands = [c for c in cands if c.passage_id in passages]
        features = [retrieval_features(c.scores, job["scales"]) for c in cands]
        verdicts = (deps.judge.assess_many(job["text"], [passages[c.passage_id].text for c in cands], features,
                                           title_first=[passages[c.passage_id].kind == "abstract" for c in cands])
                    if cands else [])
        for cand, verdict, feats in zip(cands, verdicts, features, strict=True):
            if link.gate == "judge" and verdict.relevance < bar:
                continue
            passage = passages[cand.passage_id]
            sents = sentences_of(passage.text)
            scores = {**cand.scores, **verdict.scores, **{f"{k}_scaled": round(v, 4) for k, v in feats.items()}}
            drafts.append(EvidenceDraft(
                question_id=job["question_id"], passage_id=cand.passage_id, paper_id=passage.paper_id,
                score=round(verdict.relevance, 6) if link.gate == "judge" else cand.scores[primary],
                scores=scores, retrieval=state["mode"], model=primary,
                model_version=f"{_model_version(deps, primary)}+{verdict.model}", stance=verdict.stance,
                stance_score=verdict.answer_score, rationale=" ".join(sents[i] for i in verdict.rationale
                                                                      if i < len(sents)),
                rationale_sentences=list(verdict.rationale), relevance=round(verdict.relevance, 6),
                answer=verdict.answer))
    return {"drafts": drafts}


def _model_version(deps: Deps, name: str) -> str:
    return next(m for m in deps.settings.embed.models if m.name == name).version


def record_links(state: LinkState, config: RunnableConfig) -> dict:
    return {"new_ids": _deps(config).ledger.upsert_evidence(state.get("drafts", []))}


def build_graph():
    g = StateGraph(LinkState)
    steps = [("pick_questions", pick_questions), ("find_candidates", find_candidates),
             ("judge_candidates", judge_candidates), ("record_links", record_links)]
    for name, fn in steps:
        g.add_node(name, fn)
    g.add_edge(START, steps[0][0])
    for (a, _), (b, _) in zip(steps, steps[1:]):
        g.add_edge(a, b)
    g.add_edge(steps[-1][0], END)
    return g.compile()


GRAPH = build_graph()


def run(msg: LinkRequested, deps: Deps) -> list[Message]:
    """Record evidence links; sends nothing on (digests are scheduled by beat)."""
    state = GRAPH.invoke({"mode": msg.mode, "ids": list(msg.ids)}, config={"configurable": {"deps": deps}})
    if msg.mode == "passages":  # after the links are recorded: a lost request is found by the reconciler
        deps.ledger.mark_linked(list(msg.ids))
    if state["new_ids"]:
        log.info("linked %d new evidence items (%s)", len(state["new_ids"]), msg.mode)
    return []
