"""Learning from verdicts in the live linker: a question's verdicts re-rank its links and move its gate
for new papers, through the production agents on real rq-cs-dev abstracts, the real judge and the
embedded vector store."""

from __future__ import annotations

import json
import shutil

import pytest

from agents.linker import graph as linker
from questlog.evals.links import _ask, _link_new
from questlog.evals.retrieval import ingest, throwaway_deps
from shared.messages import LinkRequested
from tests.test_eval_links import RQ_DEV, small_rq


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """One rq-cs-dev question asked over its judged documents and some others; a few of its evidence
    documents held back to arrive as new papers later."""
    folder = small_rq(tmp_path_factory.mktemp("rq"), questions=1, others=30)
    corpus = [json.loads(line) for line in (folder / "corpus.jsonl").read_text().splitlines() if line.strip()]
    grades = {r.split("\t")[1]: int(r.split("\t")[2])
              for r in (folder / "qrels" / "test.tsv").read_text().splitlines()[1:]}
    later = [d for d in corpus if grades.get(d["_id"]) == 2][-4:]
    first = [d for d in corpus if d not in later]
    work, deps = throwaway_deps()
    ingest(deps, first)
    question = json.loads((RQ_DEV / "queries.jsonl").read_text().splitlines()[0])["text"]
    qid = _ask(deps, question)
    yield deps, qid, later
    deps.close()
    shutil.rmtree(work, ignore_errors=True)


def _links(deps, qid):
    return {e.id: e for e in deps.ledger.evidence(qid)}


def _feedback(deps, qid):
    linker.run(LinkRequested(mode="feedback", ids=(str(qid),), basis=deps.ledger.verdict_basis(qid)), deps)


def test_rejecting_links_lowers_the_rest_and_clearing_the_verdicts_restores_the_judges_ranking(library):
    deps, qid, _ = library
    before = _links(deps, qid)
    assert len(before) >= 3, "the backfill should have linked several passages"
    assert all("learned" not in e.scores and e.score == pytest.approx(e.relevance, abs=1e-6) for e in before.values())
    rejected = sorted(before.values(), key=lambda e: -e.score)[:1]
    basis = deps.ledger.verdict_basis(qid)
    for e in rejected:
        deps.ledger.set_verdict(e.id, "rejected")
    assert deps.ledger.verdict_basis(qid) != basis  # a new verdict state is a new request, not a repeat

    _feedback(deps, qid)
    after = _links(deps, qid)
    others = [eid for eid in before if eid not in {e.id for e in rejected}]
    for eid in others:
        assert after[eid].scores["learned_from"] == 1
        assert after[eid].relevance == before[eid].relevance  # the judge's own relevance is kept
        assert after[eid].score < before[eid].score  # what the user rejected, the rest resembles less
    for e in rejected:
        deps.ledger.set_verdict(e.id, None)
    _feedback(deps, qid)
    cleared = _links(deps, qid)
    assert all("learned" not in e.scores and e.score == pytest.approx(before[eid].score, abs=1e-6)
               for eid, e in cleared.items() if eid in before)


def test_new_papers_pass_the_gate_by_the_relevance_the_questions_verdicts_taught(library):
    deps, qid, later = library
    links = sorted(_links(deps, qid).values(), key=lambda e: -e.score)
    for e in links[:2]:
        deps.ledger.set_verdict(e.id, "accepted")
    _link_new(deps, later, None)
    new = [e for e in _links(deps, qid).values() if e.retrieval == "passages"]
    assert new, "the held-back evidence papers should be linked when they arrive"
    for e in new:
        assert e.scores["learned_from"] == 2
        assert e.score == pytest.approx(e.scores["learned"], abs=1e-6)
        assert e.score >= deps.judge_threshold  # the learned relevance is what passed the gate
        assert e.rationale and e.rationale != e.passage  # explained like any link
    # accepting evidence raised what new evidence like it scores over the judge's own relevance
    assert all(e.score > e.relevance for e in new)


def test_a_verdict_in_the_web_app_or_the_cli_asks_the_linker_to_learn_from_it(library):
    from questlog.writes import verdict_messages

    deps, qid, _ = library
    link = next(iter(_links(deps, qid).values()))
    deps.ledger.set_verdict(link.id, "rejected")
    sent = verdict_messages(deps.settings, deps.ledger, link.id)
    assert [(m.mode, m.ids, m.basis) for m in sent if isinstance(m, LinkRequested)] == [
        ("feedback", (str(qid),), deps.ledger.verdict_basis(qid))]
    off = deps.settings.model_copy(update={"link": deps.settings.link.model_copy(update={"learn_from_verdicts": False})})
    assert not [m for m in verdict_messages(off, deps.ledger, link.id) if isinstance(m, LinkRequested)]


def test_a_verdict_whose_re_rank_request_was_lost_is_found_again_by_the_reconciler(library):
    from workers.reconcile import backlog

    deps, qid, _ = library

    def lost():
        return [m for m in backlog(deps) if isinstance(m, LinkRequested) and m.mode == "feedback"]

    _feedback(deps, qid)  # whatever the tests before left: ranked by the verdicts as they are now
    assert not lost()
    link = next(e for e in _links(deps, qid).values() if e.verdict is None)
    deps.ledger.set_verdict(link.id, "accepted")  # and its request never reaches the linker
    assert [(m.ids, m.basis) for m in lost()] == [((str(qid),), deps.ledger.verdict_basis(qid))]
    linker.run(lost()[0], deps)
    assert not lost()
    assert all(e.scores.get("learned_basis") == deps.ledger.verdict_basis(qid) for e in _links(deps, qid).values())


def test_a_re_rank_request_for_verdicts_changed_since_is_left_to_the_newer_one(library):
    deps, qid, _ = library
    _feedback(deps, qid)
    ranked_by = deps.ledger.verdict_basis(qid)
    link = next(e for e in _links(deps, qid).values() if e.verdict is None)
    deps.ledger.set_verdict(link.id, "rejected")
    stale = LinkRequested(mode="feedback", ids=(str(qid),), basis=deps.ledger.verdict_basis(qid))
    deps.ledger.set_verdict(link.id, "accepted")  # the user changed their mind before the linker got to it
    before = {eid: (e.score, e.scores) for eid, e in _links(deps, qid).items()}
    linker.run(stale, deps)
    assert {eid: (e.score, e.scores) for eid, e in _links(deps, qid).items()} == before
    assert all(e.scores.get("learned_basis") == ranked_by for e in _links(deps, qid).values())
    _feedback(deps, qid)  # the newer request does the work
    now = deps.ledger.verdict_basis(qid)
    assert now != ranked_by and all(e.scores.get("learned_basis") == now for e in _links(deps, qid).values())
