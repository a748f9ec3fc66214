"""The LLM judge against a real HTTP server on 127.0.0.1 that speaks chat completions."""

from __future__ import annotations

import json

import pytest
from pydantic import SecretStr

from shared.errors import PermanentError, TransientError
from shared.stance.base import LLMSettings
from shared.stance.llm import LLMJudge, UngroundedAnswer
from tests.chat_server import ChatServer

SENTENCES = [
    "We enrolled 120 adults with mild hypertension.",
    "Daily aspirin did not lower systolic blood pressure compared with placebo.",
    "Adverse events were rare.",
]
QUERY = "Aspirin lowers blood pressure in adults with hypertension."


@pytest.fixture
def server():
    s = ChatServer()
    yield s
    s.close()


def judge_for(server: ChatServer, **overrides) -> LLMJudge:
    settings = LLMSettings(base_url=server.url, model="test-model", api_key=SecretStr("sk-test"), **overrides)
    return LLMJudge(settings)


def answer(**fields) -> str:
    return json.dumps(fields)


def test_it_reads_stance_rationale_and_confidence_from_a_chat_completion(server):
    server.reply(answer(stance="contradicts", rationale=[1], quote="did not lower systolic blood pressure",
                        confidence=0.8))
    j = judge_for(server).judge(QUERY, SENTENCES)
    assert (j.stance, j.rationale, j.score, j.model) == ("contradicts", [1], 0.8, "llm:test-model")
    assert j.sentence_scores == [0.0, 1.0, 0.0]


def test_it_sends_the_key_the_model_and_the_numbered_sentences(server):
    server.reply(answer(stance="neutral", rationale=[], quote=""))
    judge_for(server).judge(QUERY, SENTENCES)
    request = server.requests[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == "Bearer sk-test"
    assert request["json"]["model"] == "test-model"
    user = request["json"]["messages"][-1]["content"]
    assert QUERY in user and "[1] Daily aspirin did not lower" in user


def test_a_neutral_answer_has_no_rationale(server):
    server.reply(answer(stance="neutral", rationale=[0], quote="", confidence=0.6))
    j = judge_for(server).judge(QUERY, SENTENCES)
    assert (j.stance, j.rationale, j.score) == ("neutral", [], 0.6)


def test_it_reads_the_json_inside_a_code_fence(server):
    server.reply('```json\n{"stance": "contradicts", "rationale": [1], "quote": "did not lower"}\n```')
    assert judge_for(server).judge(QUERY, SENTENCES).stance == "contradicts"


def test_it_finds_the_rationale_from_the_quote_when_the_model_gives_none(server):
    server.reply(answer(stance="supports", rationale=[], quote="120 adults with mild hypertension. Daily aspirin"))
    assert judge_for(server).judge(QUERY, SENTENCES).rationale == [0, 1]


def test_it_refuses_a_quote_that_is_not_in_the_passage(server):
    server.reply(answer(stance="supports", rationale=[1], quote="aspirin lowered blood pressure by 10 mmHg"))
    with pytest.raises(UngroundedAnswer, match="not in the passage"):
        judge_for(server).judge(QUERY, SENTENCES)


def test_it_refuses_a_rationale_index_outside_the_passage(server):
    server.reply(answer(stance="contradicts", rationale=[7], quote="did not lower"))
    with pytest.raises(PermanentError, match="outside"):
        judge_for(server).judge(QUERY, SENTENCES)


def test_an_answer_that_is_not_json_is_permanent(server):
    server.reply("I think the passage contradicts the claim.")
    with pytest.raises(PermanentError, match="not the JSON"):
        judge_for(server).judge(QUERY, SENTENCES)


def test_an_unknown_stance_is_permanent(server):
    server.reply(answer(stance="maybe", rationale=[], quote=""))
    with pytest.raises(PermanentError, match="unknown stance"):
        judge_for(server).judge(QUERY, SENTENCES)


def test_a_body_that_is_not_a_chat_completion_is_permanent(server):
    server.reply(raw=b'{"object": "list", "data": []}')
    with pytest.raises(PermanentError, match="not a chat completion"):
        judge_for(server).judge(QUERY, SENTENCES)


def test_a_bad_request_is_permanent(server):
    server.reply(status=400, raw=b'{"error": {"message": "unknown model"}}')
    with pytest.raises(PermanentError, match="HTTP 400") as raised:
        judge_for(server).judge(QUERY, SENTENCES)
    assert not isinstance(raised.value, TransientError)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_server_error_is_transient(server, status):
    server.reply(status=status, raw=b'{"error": "overloaded"}')
    with pytest.raises(TransientError, match=f"HTTP {status}"):
        judge_for(server).judge(QUERY, SENTENCES)


def test_a_rate_limit_is_transient_and_carries_retry_after(server):
    server.reply(status=429, raw=b'{"error": "slow down"}', headers={"Retry-After": "7"})
    with pytest.raises(TransientError) as raised:
        judge_for(server).judge(QUERY, SENTENCES)
    assert raised.value.retry_after == 7.0


def test_a_timeout_is_transient(server):
    server.reply(answer(stance="neutral", rationale=[], quote=""), delay=1.0)
    with pytest.raises(TransientError, match="timed out"):
        judge_for(server, timeout_s=0.2).judge(QUERY, SENTENCES)


def test_a_refused_connection_is_transient():
    with pytest.raises(TransientError):
        LLMJudge(LLMSettings(base_url="http://127.0.0.1:9/v1", timeout_s=2)).judge(QUERY, SENTENCES)


def test_an_oversized_response_is_permanent(server):
    server.reply("x" * 5000)
    with pytest.raises(PermanentError, match="larger than"):
        judge_for(server, max_response_bytes=1000).judge(QUERY, SENTENCES)


def test_judge_many_answers_each_pair_in_order(server):
    server.reply(answer(stance="contradicts", rationale=[1], quote="did not lower"))
    server.reply(answer(stance="neutral", rationale=[], quote=""))
    got = judge_for(server).judge_many([(QUERY, SENTENCES), ("Aspirin cures cancer.", SENTENCES)])
    assert [j.stance for j in got] == ["contradicts", "neutral"]
    assert server.requests[1]["json"]["messages"][-1]["content"].startswith("QUERY: Aspirin cures cancer.")
