"""The evidence-linker's graph: pick questions -> retrieve -> judge stance -> record links.

Two modes: 'passages' links newly indexed passages against every open question;
'backfill' links the whole corpus against a newly added question. A candidate
becomes evidence when the question's primary dense model scores it at least
`link.min_score`. Idempotent: one link per (question, passage), upserted.
"""

from __future__ import annotations

import logging
from typing import TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import RunnableConfig

from agents.deps import Deps
from agents.linker.retrieval import Candidate, retrieve_for
from shared.ids import question_point_id
from shared.ledger import EvidenceDraft
from shared.messages import LinkRequested, Message
from shared.stance import sentences_of

log = logging.getLogger(__name__)


class Job(TypedDict):
    question_id: int
    text: str
    models: list[str]
    candidates: list[Candidate]


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
                         candidates=[]) for q in questions]}


def retrieve_candidates(state: LinkState, config: RunnableConfig) -> dict:
    deps = _deps(config)
    ids = None if state["mode"] == "backfill" else list(state["ids"])
    limit = deps.settings.link.backfill_limit if ids is None else len(ids)
    jobs = []
    for job in state["jobs"]:
        point = question_point_id(job["question_id"])
        vectors = {m: deps.store.vectors("questions", [point], m).get(point) for m in job["models"]}
        vectors = {m: v for m, v in vectors.items() if v is not None}
        if not vectors:
            continue  # not embedded yet: its backfill will cover these passages
        cands = retrieve_for(deps, job["text"], vectors, limit=limit, ids=ids)
        primary = job["models"][0]
        keep = [c for c in cands if c.scores.get(primary, 0.0) >= deps.settings.link.min_score]
        jobs.append(Job(**{**job, "candidates": keep}))
    return {"jobs": jobs}


def judge_stance(state: LinkState, config: RunnableConfig) -> dict:
    deps = _deps(config)
    drafts: list[EvidenceDraft] = []
    judge = deps.judge
    for job in state["jobs"]:
        if not job["candidates"]:
            continue
        passages = {p.id: p for p in deps.ledger.passages([c.passage_id for c in job["candidates"]])}
        judgements = [None] * len(job["candidates"])
        if judge is not None:
            pairs = [(job["text"], sentences_of(passages[c.passage_id].text)) for c in job["candidates"]]
            judgements = judge.judge_many(pairs)
        primary = job["models"][0]
        for cand, verdict in zip(job["candidates"], judgements, strict=True):
            passage = passages[cand.passage_id]
            scores = dict(cand.scores)
            stance, stance_score, rationale, sentences = "neutral", None, "", []
            if verdict is not None:
                sents = sentences_of(passage.text)
                stance, stance_score, sentences = verdict.stance, verdict.score, list(verdict.rationale)
                rationale = " ".join(sents[i] for i in sentences if i < len(sents))
                scores["stance"] = round(verdict.score, 6)
            drafts.append(EvidenceDraft(
                question_id=job["question_id"], passage_id=cand.passage_id, paper_id=passage.paper_id,
                score=cand.scores[primary], scores=scores, retrieval=state["mode"],
                model=primary, model_version=_model_version(deps, primary), stance=stance,
                stance_score=stance_score, rationale=rationale, rationale_sentences=sentences))
    return {"drafts": drafts}


def _model_version(deps: Deps, name: str) -> str:
    return next(m for m in deps.settings.embed.models if m.name == name).version


def record_links(state: LinkState, config: RunnableConfig) -> dict:
    return {"new_ids": _deps(config).ledger.upsert_evidence(state["drafts"])}


def build_graph():
    g = StateGraph(LinkState)
    for name, fn in [("pick_questions", pick_questions), ("retrieve_candidates", retrieve_candidates),
                     ("judge_stance", judge_stance), ("record_links", record_links)]:
        g.add_node(name, fn)
    g.add_edge(START, "pick_questions")
    g.add_edge("pick_questions", "retrieve_candidates")
    g.add_edge("retrieve_candidates", "judge_stance")
    g.add_edge("judge_stance", "record_links")
    g.add_edge("record_links", END)
    return g.compile()


GRAPH = build_graph()


def run(msg: LinkRequested, deps: Deps) -> list[Message]:
    """Record evidence links; sends nothing on (digests are scheduled by beat)."""
    state = GRAPH.invoke({"mode": msg.mode, "ids": list(msg.ids)}, config={"configurable": {"deps": deps}})
    if state["new_ids"]:
        log.info("linked %d new evidence items (%s)", len(state["new_ids"]), msg.mode)
    return []
