"""The evidence-linker's graph: pick questions -> find candidates -> judge them -> record links.

Four modes: 'passages' links newly indexed passages against every open question;
'backfill' links the whole corpus against a newly added question; 'feedback', sent after the
user's verdicts change, links one question against the corpus again with what its verdicts
taught and re-ranks its links (`agents.linker.learning`); 'relink', sent once the library has
grown `link.relink_growth` times over since a question was last linked over all of it, judges
the question's candidates and its links again in the library now and withdraws the links that
are no longer evidence (`shared.ledger.relinking`: a judgement depends on the library it was
made in). The candidates are the
union of every retriever's best passages (`agents.linker.candidates`), so no single
model's blind spot decides what is read. The evidence judge then gives each candidate a
calibrated probability of being evidence for the question; a candidate becomes a link
when it reaches `judge.min_relevance` (`link.gate = "judge"`, the default), the judge's
relevance moved by the question's own verdicts when it has some. The old gate,
the primary dense model's cosine >= `link.min_score`, stays as `link.gate = "cosine"` for
comparison. Idempotent: one link per (question, passage), upserted.
"""

from __future__ import annotations

import logging
from typing import TypedDict

from langgraph.runtime import Runtime

from agents.context import AgentContext, straight_line
from agents.deps import Deps
from agents.linker import learning
from agents.linker.candidates import backfill_candidates, new_passage_candidates, scales
from agents.linker.relinking import relink_due, relink_requests
from agents.linker.retrieval import Candidate, retrieve_for
from shared.ids import evidence_id, question_point_id
from shared.ledger import EvidenceDraft
from shared.messages import FullTextRequested, LinkRequested, Message
from shared.relevance.features import retrieval_features
from shared.relevance.reading import SENTENCE_MODEL_SOURCES
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
    withdrawn: list[str]
    library: int  # passages in the corpus when the candidates were found
    deeper: list[str]  # papers whose abstract reached the full-text bar for some question


WHOLE_CORPUS = ("backfill", "feedback", "relink")  # modes that link questions over the whole corpus


def question_models(deps: Deps, chosen: list[str]) -> list[str]:
    configured = [m.name for m in deps.settings.embed.models]
    picked = [m for m in chosen if m in configured]
    return picked or configured


def pick_questions(state: LinkState, runtime: Runtime[AgentContext]) -> dict:
    deps = runtime.context.deps
    if state["mode"] in WHOLE_CORPUS:
        questions = [deps.ledger.question(int(i)) for i in state["ids"]]
        questions = [q for q in questions if q.status == "open"]
    else:
        questions = [q for q in deps.ledger.questions(status="open") if q.indexed_at is not None]
    return {"jobs": [Job(question_id=q.id, text=q.text, models=question_models(deps, q.models or []),
                         candidates=[], scales={}) for q in questions]}


def find_candidates(state: LinkState, runtime: Runtime[AgentContext]) -> dict:
    deps = runtime.context.deps
    jobs = []
    library = deps.ledger.library_size()
    for job in state["jobs"]:
        point = question_point_id(job["question_id"])
        vectors = {m: deps.store.vectors("questions", [point], m).get(point) for m in job["models"]}
        vectors = {m: v for m, v in vectors.items() if v is not None}
        if not vectors:
            continue  # not embedded yet: its backfill will cover these passages
        cut = scales(deps, job["text"], vectors)
        if state["mode"] in WHOLE_CORPUS:
            cands = backfill_candidates(deps, job["text"], vectors)
            if state["mode"] == "relink":
                cands += _own_links(deps, job, vectors, {c.passage_id for c in cands})
        else:
            cands = new_passage_candidates(deps, job["text"], vectors, list(state["ids"]), cut)
        jobs.append(Job(**{**job, "candidates": cands, "scales": cut}))
    return {"jobs": jobs, "library": library}


def _own_links(deps: Deps, job: Job, vectors: dict, found: set[str]) -> list[Candidate]:
    """The question's links outside the candidates just found, scored by every retriever, so a relink judges
    them again too (those the user has worked with stay as they are, so they are not read)."""
    kept = deps.ledger.kept_by_user(job["question_id"])
    ids = [j.passage_id for j in deps.ledger.judged_links(job["question_id"])
           if j.passage_id not in found and evidence_id(job["question_id"], j.passage_id) not in kept]
    return retrieve_for(deps, job["text"], vectors, limit=len(ids), ids=ids, rerank_stage=False) if ids else []


def judge_candidates(state: LinkState, runtime: Runtime[AgentContext]) -> dict:
    """Judge every candidate; keep those the gate admits, with relevance, answer and rationale."""
    deps = runtime.context.deps
    link = deps.settings.link
    drafts: list[EvidenceDraft] = []
    bar = deps.judge_threshold if link.gate == "judge" else 0.0
    deeper: set[str] = set()
    fulltext = deps.settings.fulltext
    deeper_bar = fulltext.min_relevance if fulltext.min_relevance is not None else deps.judge_threshold / 2
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
        learned = learning.learned_model(deps, job["question_id"], primary) if cands else None
        if link.gate == "judge" and cands:
            read_bar = min(bar, deeper_bar) if fulltext.fetch != "off" else bar
            cands, features = _readable(deps, job["text"], cands, passages, features, learned, read_bar)
        verdicts = (deps.judge.assess_many(job["text"], [passages[c.passage_id].text for c in cands], features,
                                           title_first=[passages[c.passage_id].kind == "abstract" for c in cands])
                    if cands else [])
        relevance = _learned_relevance(deps, job, cands, passages, features, verdicts, learned, bar)
        for cand, verdict, feats, rel in zip(cands, verdicts, features, relevance, strict=True):
            if fulltext.fetch != "off" and rel >= deeper_bar and passages[cand.passage_id].kind == "abstract":
                deeper.add(passages[cand.passage_id].paper_id)
            if link.gate == "judge" and rel < bar:
                continue
            passage = passages[cand.passage_id]
            sents = sentences_of(passage.text)
            scores = {**cand.scores, **verdict.scores, **{f"{k}_scaled": round(v, 4) for k, v in feats.items()}}
            if learned is not None and learned.labels:
                scores |= {"learned": round(rel, 6), "learned_from": learned.labels}
            if learned is not None:
                scores["learned_basis"] = learned.basis
            drafts.append(EvidenceDraft(
                question_id=job["question_id"], passage_id=cand.passage_id, paper_id=passage.paper_id,
                score=round(rel, 6) if link.gate == "judge" else cand.scores[primary],
                scores=scores, retrieval=state["mode"], model=primary,
                model_version=f"{_model_version(deps, primary)}+{verdict.model}", stance=verdict.stance,
                stance_score=verdict.answer_score, rationale=" ".join(sents[i] for i in verdict.rationale
                                                                      if i < len(sents)),
                rationale_sentences=list(verdict.rationale), relevance=round(verdict.relevance, 6),
                answer=verdict.answer))
    return {"drafts": drafts, "deeper": sorted(deeper)}


def _readable(deps: Deps, question: str, cands: list[Candidate], passages: dict, features: list[dict],
              learned: learning.Learned | None, read_bar: float) -> tuple[list[Candidate], list[dict]]:
    """The candidates that could reach `read_bar` once read: the judge's upper bound before reading
    (`max_relevance`, for judges that have one), lifted as far as the question's verdicts could lift it.
    The rest cannot become links (nor full-text reads), so reading them would only cost time: in a
    small or fast-growing library most new passages enter some retriever's top N without being close."""
    bound_of = getattr(deps.judge, "max_relevance", None)
    if bound_of is None:
        return cands, features
    primary = deps.settings.embed.models[0]
    # the primary model's cosine bounds the judge's sentence cosines only where they share the model
    cosines = [c.scores.get(primary.name) for c in cands] if primary.source in SENTENCE_MODEL_SOURCES else None
    bound = bound_of(question, [passages[c.passage_id].text for c in cands], features, cosines)
    if learned is not None and learned.labels:
        bound = learning.lifted_bound(learned, bound)
    keep = [i for i, b in enumerate(bound) if b >= read_bar]
    if len(keep) < len(cands):
        log.debug("read %d of %d candidates; the rest cannot reach %.3f", len(keep), len(cands), read_bar)
    return [cands[i] for i in keep], [features[i] for i in keep]


def _learned_relevance(deps: Deps, job: Job, cands: list[Candidate], passages: dict, features: list[dict],
                       verdicts: list, learned: learning.Learned | None, bar: float) -> list[float]:
    """Each candidate's relevance as the gate sees it: the judge's, moved by what the question's verdicts
    taught (`agents.linker.learning`). A candidate that learning lifts over the bar is explained
    (answer, rationale) like one the judge passed; the verdicts are replaced in place."""
    judged = [v.relevance for v in verdicts]
    if learned is None or not learned.labels:
        return judged
    relevance = learning.apply(deps, learned, judged, [c.passage_id for c in cands], job["models"][0])
    lifted = [i for i, (j, r) in enumerate(zip(judged, relevance, strict=True)) if r >= bar > j]
    if lifted:
        explained = deps.judge.assess_many(job["text"], [passages[cands[i].passage_id].text for i in lifted],
                                           [features[i] for i in lifted], explain_all=True,
                                           title_first=[passages[cands[i].passage_id].kind == "abstract"
                                                        for i in lifted])
        for i, verdict in zip(lifted, explained, strict=True):
            verdicts[i] = verdict
    return relevance


def _model_version(deps: Deps, name: str) -> str:
    return next(m for m in deps.settings.embed.models if m.name == name).version


def record_links(state: LinkState, runtime: Runtime[AgentContext]) -> dict:
    """Upsert the links; after a verdict ('feedback'), re-rank every link of the question too."""
    deps = runtime.context.deps
    drafts, library = state.get("drafts", []), state.get("library", 0)
    if state["mode"] == "relink":
        new_ids, withdrawn = [], []
        for job in state["jobs"]:
            new, gone = deps.ledger.relink(job["question_id"], [d for d in drafts if d.question_id == job["question_id"]],
                                           library, {c.passage_id for c in job["candidates"]})
            log.info("relinked question %d over %d passages: %d links, %d new, %d withdrawn", job["question_id"],
                     library, sum(d.question_id == job["question_id"] for d in drafts), len(new), len(gone))
            new_ids, withdrawn = new_ids + new, withdrawn + gone
        return {"new_ids": new_ids, "withdrawn": withdrawn}
    new_ids = deps.ledger.upsert_evidence(drafts)
    if state["mode"] == "feedback":
        for job in state["jobs"]:
            learning.relearn(deps, job["question_id"], job["models"][0])
    if state["mode"] == "backfill":
        for job in state["jobs"]:
            deps.ledger.set_linked_over(job["question_id"], library)
    return {"new_ids": new_ids}


GRAPH = straight_line(LinkState, pick_questions, find_candidates, judge_candidates, record_links)


def run(msg: LinkRequested, deps: Deps) -> list[Message]:
    """Record evidence links; sends on a FullTextRequested for the papers whose abstract reached the
    full-text bar and that were never read in full (digests are scheduled by beat)."""
    if msg.mode == "feedback" and msg.basis and all(deps.ledger.verdict_basis(int(q)) != msg.basis for q in msg.ids):
        # the verdicts changed again since: the request for the newer state (or, were it lost, the
        # reconciler's) does this work; fast triage sends one request per keypress
        log.info("feedback for %s skipped: its verdicts changed since it was sent", ",".join(msg.ids))
        return []
    ids = list(msg.ids)
    if msg.mode == "relink":
        ids = relink_due(deps, ids)
        if not ids:
            log.info("relink of %s skipped: relinked since it was sent", ",".join(msg.ids))
            return []
    state = GRAPH.invoke({"mode": msg.mode, "ids": ids}, context=AgentContext(deps))
    out: list[Message] = []
    if msg.mode == "passages":  # after the links are recorded: a lost request is found by the reconciler
        deps.ledger.mark_linked(ids)
        out += relink_requests(deps)
    if state["new_ids"]:
        log.info("linked %d new evidence items (%s)", len(state["new_ids"]), msg.mode)
    deeper = state.get("deeper") or []
    known = deps.ledger.fulltexts(deeper) if deeper else {}
    deeper = [p for p in deeper if p not in known]
    return out + ([FullTextRequested(paper_ids=tuple(deeper))] if deeper else [])

