"""A stance judge behind an OpenAI-compatible chat-completions endpoint.

The passage goes out as numbered sentences; the model must answer one JSON object
    {"stance": "supports"|"contradicts"|"neutral", "rationale": [sentence indices],
     "quote": "verbatim words from the passage", "confidence": 0..1}
A supporting or contradicting answer must quote the passage: a quote that is not in
it (after folding case and whitespace) is refused as ungrounded.

Errors, at the HTTP boundary:
    TransientError   timeouts, connection failures, 429 (with Retry-After), 5xx
    PermanentError   other 4xx, a body that is not a chat completion, an oversized body,
                     an answer that is not the JSON above
    └── UngroundedAnswer   the quote is not in the passage
The client is injected (or built from `transport`), so tests point it at a local server.
"""

from __future__ import annotations

import httpx

from shared.errors import PermanentError
from shared.llm_client import ChatClient, clamp, json_object, locate
from shared.stance.base import STANCES, Judgement, LLMSettings

SYSTEM_PROMPT = (
    "You check scientific evidence. Given a QUERY (a claim or a question) and a PASSAGE split into "
    "numbered sentences, decide whether the passage supports the query (for a question: answers yes), "
    "contradicts it (answers no), or neither (neutral: off-topic, inconclusive, or not addressed). "
    "Answer with one JSON object and nothing else: "
    '{"stance": "supports" | "contradicts" | "neutral", "rationale": [numbers of the sentences that carry '
    'the evidence], "quote": "the decisive words, copied verbatim from the passage", "confidence": 0.0-1.0}. '
    'For neutral use "rationale": [] and "quote": "".'
)

class UngroundedAnswer(PermanentError):
    """The model's quote is not in the passage, so its answer cannot be trusted."""


class LLMJudge:
    """StanceJudge over an OpenAI-compatible `/chat/completions` endpoint. One request per pair."""

    def __init__(
        self,
        settings: LLMSettings,
        *,
        client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
    ):
        self.settings = settings
        self.name = f"llm:{settings.model}"
        self.chat = ChatClient(settings, client=client, transport=transport)

    def close(self) -> None:
        self.chat.close()

    def judge_many(self, pairs: list[tuple[str, list[str]]]) -> list[Judgement]:
        return [self.judge(query, sentences) for query, sentences in pairs]

    def judge(self, query: str, sentences: list[str]) -> Judgement:
        """Ask the model about one pair. Raises TransientError or PermanentError (see the module docstring)."""
        passage = "\n".join(f"[{i}] {s}" for i, s in enumerate(sentences))
        return self._read_answer(self.chat.ask(SYSTEM_PROMPT, f"QUERY: {query}\n\nPASSAGE:\n{passage}"), sentences)

    def _read_answer(self, content: str, sentences: list[str]) -> Judgement:
        try:
            answer = json_object(content)
            stance = str(answer["stance"]).strip().lower()
            rationale = sorted({int(i) for i in answer.get("rationale") or []})
            quote = str(answer.get("quote") or "").strip().strip('"').strip()
            confidence = float(answer.get("confidence", 1.0))
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise PermanentError(f"{self.name}: answer is not the JSON asked for: {content[:300]!r}") from e
        if stance not in STANCES:
            raise PermanentError(f"{self.name}: unknown stance {stance!r}")
        if any(not 0 <= i < len(sentences) for i in rationale):
            raise PermanentError(f"{self.name}: rationale {rationale} outside a passage of {len(sentences)} sentences")
        if stance == "neutral":
            return Judgement("neutral", clamp(confidence), [], [0.0] * len(sentences), self.name)
        quoted = locate(quote, sentences)
        if not quoted:
            raise UngroundedAnswer(f"{self.name}: quote {quote[:200]!r} is not in the passage")
        rationale = rationale or quoted
        scores = [1.0 if i in rationale else 0.0 for i in range(len(sentences))]
        return Judgement(stance, clamp(confidence), rationale, scores, self.name)
