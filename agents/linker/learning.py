"""Learning from verdicts in the linker: a question's accepted and rejected links move its gate for
new papers and re-rank the links it already has.

The model is `shared.relevance.feedback`'s (the judge's log-odds as offset, a per-question shift and
weights over the passage's embedding, fit to the verdicts); this module feeds it from the ledger
(the judge's relevance and the verdict of each link) and the vector store (the primary model's
passage embeddings), and applies it. A link's `relevance` always stays the judge's own, so each
refit starts from the judge again and verdicts never compound; `score` becomes the learned
relevance, which is what lists, digests and the gate use.

Only with the judge's gate (`link.gate = "judge"`) and `link.learn_from_verdicts` on; a link the
judge never scored (an imported paper) or whose passage has no vector yet teaches nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shared.relevance.feedback import QuestionModel, fit, logit

VERDICTS = {"accepted": True, "rejected": False}


@dataclass(frozen=True)
class Learned:
    """A question's model and how many verdicts it was fit on."""

    model: QuestionModel
    labels: int
    basis: str  # the verdict state it was fit on (`Ledger.verdict_basis`)


def learning_on(deps) -> bool:
    return deps.settings.link.gate == "judge" and deps.settings.link.learn_from_verdicts


def learned_model(deps, question_id: int, model_name: str) -> Learned | None:
    """The question's model from its verdicts so far (`labels` 0: none of them can teach, so the judge's
    own ranking stands); None when the question has no verdicts or learning is off."""
    if not learning_on(deps):
        return None
    basis = deps.ledger.verdict_basis(question_id)
    if not basis:
        return None
    labelled = [j for j in deps.ledger.judged_links(question_id)
                if j.verdict in VERDICTS and j.relevance is not None]
    vectors = deps.store.vectors("passages", [j.passage_id for j in labelled], model_name) if labelled else {}
    labelled = [j for j in labelled if j.passage_id in vectors]
    if not labelled:  # verdicts that teach nothing (imported papers, no vectors yet): the judge's own ranking
        return Learned(QuestionModel(np.zeros(0)), 0, basis)
    model = fit([j.relevance for j in labelled], np.array([vectors[j.passage_id] for j in labelled]),
                {i: VERDICTS[j.verdict] for i, j in enumerate(labelled)})
    return Learned(model, len(labelled), basis)


def apply(deps, learned: Learned, relevance: list[float], passage_ids: list[str], model_name: str) -> list[float]:
    """The learned relevance of each passage, given the judge's; a passage without a vector keeps the judge's."""
    vectors = deps.store.vectors("passages", passage_ids, model_name)
    have = [i for i, pid in enumerate(passage_ids) if pid in vectors]
    out = list(relevance)
    if have:
        values = learned.model.relevance([relevance[i] for i in have], np.array([vectors[passage_ids[i]] for i in have]))
        for i, v in zip(have, values, strict=True):
            out[i] = float(v)
    return out


def lifted_bound(learned: Learned, bound: list[float]) -> list[float]:
    """Upper bounds of the learned relevance from upper bounds of the judge's: the model adds `shift +
    w . x` to the log-odds, at most `shift + |w|` over unit-length embeddings."""
    lift = learned.model.shift + float(np.linalg.norm(learned.model.weights))
    z = logit(bound) + lift
    return (1.0 / (1.0 + np.exp(-z))).tolist()


def relearn(deps, question_id: int, model_name: str) -> int:
    """Re-rank the question's links by what its verdicts teach now (with none left: by the judge's own
    relevance again). Returns how many links' scores changed."""
    if not learning_on(deps):
        return 0
    links = [j for j in deps.ledger.judged_links(question_id) if j.relevance is not None]
    if not links:
        return 0
    learned = learned_model(deps, question_id, model_name)
    if learned is None or not learned.labels:
        return deps.ledger.rescore({j.id: j.relevance for j in links}, 0, learned.basis if learned else "")
    values = apply(deps, learned, [j.relevance for j in links], [j.passage_id for j in links], model_name)
    return deps.ledger.rescore({j.id: v for j, v in zip(links, values, strict=True)}, learned.labels,
                               learned.basis)
