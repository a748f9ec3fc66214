"""The LLM evidence judge against a real chat-completions server on 127.0.0.1, with its ledger cache."""

from __future__ import annotations

import json

import pytest

from shared.errors import TransientError
from shared.ledger import Ledger
from shared.relevance.llm import LLMEvidenceJudge
from shared.stance.base import LLMSettings
from tests.chat_server import ChatServer

PASSAGE = ("Deduplication and memorization. We train models on deduplicated and raw corpora. "
           "Deduplicated training cut verbatim memorization by a factor of ten. Code is released.")
YES_NO = "Does deduplicating training data reduce memorization in language models?"


@pytest.fixture
def server():
    s = ChatServer()
    yield s
    s.close()


@pytest.fixture
def ledger(tmp_path):
    led = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    yield led
    led.close()


def judge_for(server, ledger=None) -> LLMEvidenceJudge:
    return LLMEvidenceJudge(LLMSettings(base_url=server.url, model="local-model"), cache=ledger)


def reply(**fields) -> str:
    return json.dumps(fields)


def test_a_graded_evidence_answer_becomes_relevance_answer_and_rationale(server):
    server.reply(reply(grade=2, answer="yes", sentences=[2], quote="cut verbatim memorization by a factor of ten",
                       confidence=0.9))
    a = judge_for(server).assess_many(YES_NO, [PASSAGE])[0]
    assert (a.relevance, a.answer, a.rationale, a.stance) == (0.9, "yes", [2], "neutral")
    user = server.requests[0]["json"]["messages"][-1]["content"]
    assert YES_NO in user and "[2] Deduplicated training cut" in user


def test_an_open_question_gets_no_answer_and_a_claim_gets_a_stance(server):
    server.reply(reply(grade=2, answer="n/a", sentences=[2], quote="cut verbatim memorization", confidence=0.8))
    server.reply(reply(grade=2, answer="yes", sentences=[2], quote="cut verbatim memorization", confidence=0.8))
    judge = judge_for(server)
    open_q = judge.assess_many("How does deduplication affect memorization?", [PASSAGE])[0]
    claim = judge.assess_many("Deduplication reduces memorization.", [PASSAGE])[0]
    assert (open_q.answer, open_q.stance, open_q.rationale) == ("", "neutral", [2])
    assert (claim.answer, claim.stance) == ("", "supports")


def test_a_related_passage_stays_below_the_bar(server):
    server.reply(reply(grade=1, answer="unclear", sentences=[1], quote="We train models", confidence=0.9))
    judge = judge_for(server)
    a = judge.assess_many(YES_NO, [PASSAGE])[0]
    assert a.relevance < judge.min_relevance and a.answer == "unclear"


def test_an_ungrounded_quote_is_judged_not_relevant_instead_of_failing_the_batch(server, caplog):
    server.reply(reply(grade=2, answer="yes", sentences=[2], quote="memorization vanished entirely", confidence=1))
    a = judge_for(server).assess_many(YES_NO, [PASSAGE])[0]
    assert (a.relevance, a.rationale) == (0.0, [])
    assert "is not in the passage" in caplog.text


def test_a_second_judgement_of_the_same_pair_is_read_from_the_ledger(server, ledger):
    server.reply(reply(grade=2, answer="yes", sentences=[2], quote="cut verbatim memorization", confidence=0.7))
    first = judge_for(server, ledger).assess_many(YES_NO, [PASSAGE])[0]
    again = judge_for(server, ledger).assess_many(YES_NO, [PASSAGE])[0]  # a new process, the same ledger
    assert first == again and len(server.requests) == 1


def test_a_server_error_is_transient_and_nothing_is_cached(server, ledger):
    server.reply(status=503, raw=b'{"error": "loading model"}')
    with pytest.raises(TransientError):
        judge_for(server, ledger).assess_many(YES_NO, [PASSAGE])
    server.reply(reply(grade=0, answer="n/a", sentences=[], quote="", confidence=0.9))
    assert judge_for(server, ledger).assess_many(YES_NO, [PASSAGE])[0].relevance == 0.0
    assert len(server.requests) == 2
