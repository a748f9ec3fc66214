"""Relinking as the library grows: a question asked of an empty library has its links judged again once
the library has grown well past the one they were judged in, through the production agents on real
rq-cs-dev abstracts, the real judge and the embedded vector store."""

from __future__ import annotations

import json
import shutil

import pytest

from agents.linker import graph as linker
from questlog.evals.links import _ask, _link_new
from questlog.evals.retrieval import ingest, throwaway_deps
from shared.errors import NotFound
from shared.ids import evidence_id
from shared.ledger import EvidenceDraft
from shared.ledger.workbench import cite_key
from shared.messages import LinkRequested
from shared.settings import Settings
from tests.test_eval_links import RQ_DEV, small_rq
from workers.reconcile import backlog

OFF_TOPIC = {"_id": "off-topic-1", "title": "Soil moisture sensing in vineyards with LoRa radio networks",
             "text": "We deploy forty capacitive soil moisture probes across two vineyards and relay their readings "
                     "over a LoRa mesh. Irrigation guided by the probes saved 18% of water over one growing season "
                     "without lowering the grape yield."}


def _settings(candidates: int = 5) -> Settings:
    base = Settings()
    return base.model_copy(update={"link": base.link.model_copy(update={"judge_candidates": candidates})})


@pytest.fixture(scope="module")
def growing(tmp_path_factory):
    """One rq-cs-dev question asked of an empty library (judge's candidate cut 5, so the first relink
    comes at 2 x 5 cuts = 50 passages), and the documents that will arrive."""
    folder = small_rq(tmp_path_factory.mktemp("rq"), questions=1, others=40)
    corpus = [json.loads(line) for line in (folder / "corpus.jsonl").read_text().splitlines() if line.strip()]
    work, deps = throwaway_deps(_settings())
    question = json.loads((RQ_DEV / "queries.jsonl").read_text().splitlines()[0])["text"]
    qid = _ask(deps, question)
    yield deps, qid, corpus
    deps.close()
    shutil.rmtree(work, ignore_errors=True)


def _draft(deps, qid: int, passage_id: str, score: float) -> EvidenceDraft:
    p = deps.ledger.passages([passage_id])[0]
    return EvidenceDraft(question_id=qid, passage_id=passage_id, paper_id=p.paper_id, score=score, scores={},
                         retrieval="passages", model="minilm", model_version="judged-in-a-tiny-library",
                         relevance=score, rationale=p.text.split(". ")[0])


def test_a_question_asked_of_an_empty_library_is_relinked_as_it_doubles_and_stale_links_are_withdrawn(growing):
    deps, qid, corpus = growing
    assert deps.ledger.question(qid).linked_over == 0  # its backfill ran over nothing

    # a tiny library: the off-topic paper and two others, linked as a small library's placement would
    first = ingest(deps, [OFF_TOPIC, *corpus[:2]])
    deps.ledger.upsert_evidence([_draft(deps, qid, first[OFF_TOPIC["_id"]], 0.9),
                                 _draft(deps, qid, first[corpus[0]["_id"]], 0.8),
                                 _draft(deps, qid, first[corpus[1]["_id"]], 0.7)])
    kept_by_verdict, kept_by_note = evidence_id(qid, first[corpus[0]["_id"]]), evidence_id(qid, first[corpus[1]["_id"]])
    deps.ledger.set_verdict(kept_by_verdict, "accepted")
    deps.ledger.set_note(kept_by_note, "check table 3")
    assert deps.ledger.kept_by_user(qid) == {kept_by_verdict, kept_by_note}
    assert deps.ledger.due_for_relink(3, 2.0, 5) == []  # 3 passages: not yet twice a floor of 5
    assert len(corpus) >= 62

    _link_new(deps, corpus[2:35], None)  # 36 passages: under the floor, no relink yet
    assert deps.ledger.question(qid).linked_over == 0
    _link_new(deps, corpus[35:60], None)  # 61 passages: due, relinked by the passages run that saw it
    library = deps.ledger.library_size()
    assert deps.ledger.question(qid).linked_over == library
    links = {e.id: e for e in deps.ledger.evidence(qid)}
    assert evidence_id(qid, first[OFF_TOPIC["_id"]]) not in links, "the stale off-topic link should be withdrawn"
    with pytest.raises(NotFound, match="withdrawn"):  # a digest's link to it says why it is gone
        deps.ledger.link(evidence_id(qid, first[OFF_TOPIC["_id"]]))
    assert links[kept_by_verdict].verdict == "accepted" and links[kept_by_verdict].score == 0.8
    assert links[kept_by_note].note == "check table 3" and links[kept_by_note].score == 0.7
    judged = [e for e in links.values() if e.id not in (kept_by_verdict, kept_by_note)]
    assert judged, "the relink should have linked the question's evidence in the library now"
    bar = deps.judge_threshold
    assert all(e.score >= bar for e in judged)  # the gate admits by learned relevance (one verdict taught)
    assert deps.ledger.due_for_relink(library, 2.0, 5) == []  # done for this size

    # a second request for the same growth (a redelivery) finds nothing to do and changes nothing
    before = {e.id: (e.score, e.found_at) for e in deps.ledger.evidence(qid)}
    assert linker.run(LinkRequested(mode="relink", ids=(str(qid),), basis=str(library)), deps) == []
    assert {e.id: (e.score, e.found_at) for e in deps.ledger.evidence(qid)} == before


def test_a_link_cited_in_a_conclusion_is_never_withdrawn(growing):
    deps, qid, _ = growing
    stale = ingest(deps, [{**OFF_TOPIC, "_id": "off-topic-2", "title": "LoRa soil probes, revisited"}])
    pid = next(iter(stale.values()))
    deps.ledger.upsert_evidence([_draft(deps, qid, pid, 0.95)])
    eid = evidence_id(qid, pid)
    deps.ledger.save_conclusion(qid, f"Not about the question at all [@{cite_key(eid)}].")
    assert eid in deps.ledger.kept_by_user(qid)
    library = deps.ledger.library_size()
    others = {e.passage_id for e in deps.ledger.evidence(qid)} - {pid}
    new, gone = deps.ledger.relink(qid, [], library, {pid})
    assert eid not in gone and eid in {e.id for e in deps.ledger.evidence(qid)}
    assert new == [] and deps.ledger.question(qid).linked_over == library
    # a link to a passage the relink did not judge (linked while it ran) is not the relink's to withdraw
    assert others <= {e.passage_id for e in deps.ledger.evidence(qid)}


def test_a_ledger_without_a_record_starts_counting_now_and_neither_growth_zero_nor_a_large_library_relinks(growing):
    deps, qid, _ = growing
    with deps.ledger.session() as s:
        from shared.ledger.models import QuestionRow

        s.get(QuestionRow, qid).linked_over = None
        s.commit()
    assert deps.ledger.due_for_relink(1000, 2.0, 5) == []  # recorded, not due
    assert deps.ledger.question(qid).linked_over == 1000
    assert deps.ledger.due_for_relink(2000, 2.0, 5) == [qid]
    assert deps.ledger.due_for_relink(5000, 0, 5) == []
    # past the library the judge learned placement on, a link's falling rank is no news: no relink
    deps.ledger.set_linked_over(qid, 9000)
    assert deps.ledger.due_for_relink(20000, 2.0, 5, ceiling=8445) == []
    assert deps.ledger.due_for_relink(20000, 2.0, 5) == [qid]


def test_the_reconciler_sends_a_relink_the_library_outgrew_when_its_request_was_lost(growing):
    deps, qid, _ = growing
    deps.ledger.set_linked_over(qid, 3)
    relinks = [m for m in backlog(deps) if isinstance(m, LinkRequested) and m.mode == "relink"]
    assert [(m.ids, m.basis) for m in relinks] == [((str(qid),), str(deps.ledger.library_size()))]
    linker.run(relinks[0], deps)
    assert deps.ledger.question(qid).linked_over == deps.ledger.library_size()
    assert not [m for m in backlog(deps) if isinstance(m, LinkRequested) and m.mode == "relink"]


def test_a_relink_request_is_its_own_message_per_library_size():
    a = LinkRequested(mode="relink", ids=("3",), basis="80")
    assert a.dedup_key != LinkRequested(mode="relink", ids=("3",), basis="160").dedup_key
    assert a.dedup_key != LinkRequested(mode="backfill", ids=("3",)).dedup_key
