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

import json
import re

import httpx

from shared.errors import PermanentError, TransientError
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
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


class UngroundedAnswer(PermanentError):
    """The model's quote is not in the passage, so its answer cannot be trusted."""


def _fold(text: str) -> str:
    return " ".join(text.lower().replace("\u201c", '"').replace("\u201d", '"').replace("\u2019", "'").split())


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
        headers = {"Authorization": f"Bearer {settings.api_key.get_secret_value()}"} if settings.api_key else {}
        self.client = client or httpx.Client(
            base_url=settings.base_url.rstrip("/") + "/", timeout=settings.timeout_s, transport=transport,
            headers=headers,
        )

    def close(self) -> None:
        self.client.close()

    def judge_many(self, pairs: list[tuple[str, list[str]]]) -> list[Judgement]:
        return [self.judge(query, sentences) for query, sentences in pairs]

    def judge(self, query: str, sentences: list[str]) -> Judgement:
        """Ask the model about one pair. Raises TransientError or PermanentError (see the module docstring)."""
        passage = "\n".join(f"[{i}] {s}" for i, s in enumerate(sentences))
        body = {
            "model": self.settings.model,
            "temperature": self.settings.temperature,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": f"QUERY: {query}\n\nPASSAGE:\n{passage}"},
            ],
        }
        if self.settings.json_mode:
            body["response_format"] = {"type": "json_object"}
        return self._read_answer(self._complete(body), sentences)

    def _complete(self, body: dict) -> str:
        """POST the request; the assistant message's text."""
        url = f"{self.settings.base_url}/chat/completions"
        try:
            with self.client.stream("POST", "chat/completions", json=body) as response:
                raw = b""
                for chunk in response.iter_bytes():
                    raw += chunk
                    if len(raw) > self.settings.max_response_bytes:
                        raise PermanentError(f"{url}: response larger than {self.settings.max_response_bytes} bytes")
        except httpx.TimeoutException as e:
            raise TransientError(f"{url}: timed out: {e!r}") from e
        except httpx.TransportError as e:
            raise TransientError(f"{url}: {e!r}") from e
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientError(f"{url}: HTTP {response.status_code}", retry_after=_retry_after(response))
        if response.status_code >= 400:
            raise PermanentError(f"{url}: HTTP {response.status_code}: {raw[:300].decode(errors='replace')}")
        try:
            content = json.loads(raw)["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as e:
            raise PermanentError(f"{url}: not a chat completion: {raw[:300].decode(errors='replace')!r}") from e
        if not isinstance(content, str):
            raise PermanentError(f"{url}: the completion has no text content")
        return content

    def _read_answer(self, content: str, sentences: list[str]) -> Judgement:
        text = content.strip()
        fenced = _FENCE.match(text)
        text = fenced.group(1) if fenced else text[text.find("{") : text.rfind("}") + 1]
        try:
            answer = json.loads(text)
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
            return Judgement("neutral", _clamp(confidence), [], [0.0] * len(sentences), self.name)
        quoted = _locate(quote, sentences)
        if not quoted:
            raise UngroundedAnswer(f"{self.name}: quote {quote[:200]!r} is not in the passage")
        rationale = rationale or quoted
        scores = [1.0 if i in rationale else 0.0 for i in range(len(sentences))]
        return Judgement(stance, _clamp(confidence), rationale, scores, self.name)


def _locate(quote: str, sentences: list[str]) -> list[int]:
    """Indices of the sentences the quote falls in (it may span several); [] when it is not there."""
    folded = [_fold(s) for s in sentences]
    at = " ".join(folded).find(_fold(quote)) if _fold(quote) else -1
    if at < 0:
        return []
    end, start, found = at + len(_fold(quote)), 0, []
    for i, s in enumerate(folded):
        if start < end and at < start + len(s):
            found.append(i)
        start += len(s) + 1
    return found


def _clamp(x: float) -> float:
    return min(max(x, 0.0), 1.0)


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers["retry-after"])
    except (KeyError, ValueError):
        return None
