"""One OpenAI-compatible chat-completions client, shared by every judge that asks an LLM.

Errors, at the HTTP boundary:
    TransientError   timeouts, connection failures, 429 (with Retry-After), 5xx
    PermanentError   other 4xx, a body that is not a chat completion, an oversized body
The httpx client is injected (or built from `transport`), so tests point it at a local server.
"""

from __future__ import annotations

import json
import re

import httpx

from shared.errors import PermanentError, TransientError
from shared.stance.base import LLMSettings

_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


class ChatClient:
    def __init__(self, settings: LLMSettings, *, client: httpx.Client | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.settings = settings
        headers = {"Authorization": f"Bearer {settings.api_key.get_secret_value()}"} if settings.api_key else {}
        self.client = client or httpx.Client(
            base_url=settings.base_url.rstrip("/") + "/", timeout=settings.timeout_s, transport=transport,
            headers=headers,
        )

    def close(self) -> None:
        self.client.close()

    def ask(self, system: str, user: str) -> str:
        """The assistant's text for one system + user exchange, with the settings' model and temperature."""
        body = {
            "model": self.settings.model,
            "temperature": self.settings.temperature,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
        }
        if self.settings.json_mode:
            body["response_format"] = {"type": "json_object"}
        return self.complete(body)

    def complete(self, body: dict) -> str:
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


def json_object(content: str) -> dict:
    """The one JSON object in a model's answer (bare, fenced, or with words around it). Raises ValueError."""
    text = content.strip()
    fenced = _FENCE.match(text)
    text = fenced.group(1) if fenced else text[text.find("{") : text.rfind("}") + 1]
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def fold(text: str) -> str:
    return " ".join(text.lower().replace("\u201c", '"').replace("\u201d", '"').replace("\u2019", "'").split())


def locate(quote: str, sentences: list[str]) -> list[int]:
    """Indices of the sentences the quote falls in (it may span several); [] when it is not there."""
    folded = [fold(s) for s in sentences]
    at = " ".join(folded).find(fold(quote)) if fold(quote) else -1
    if at < 0:
        return []
    end, start, found = at + len(fold(quote)), 0, []
    for i, s in enumerate(folded):
        if start < end and at < start + len(s):
            found.append(i)
        start += len(s) + 1
    return found


def clamp(x: float) -> float:
    return min(max(x, 0.0), 1.0)


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers["retry-after"])
    except (KeyError, ValueError):
        return None
