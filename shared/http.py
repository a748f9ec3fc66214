"""Polite HTTP for sources: per-host rate limits, capped retries with jitter, size caps.

`PoliteClient.get` is the one place where a source's HTTP errors become
`TransientError` / `PermanentError`:

    timeout, connection error, 5xx, 429   -> retried here (Retry-After honoured), then TransientError
    404                                    -> NotFound (a PermanentError)
    other 4xx                              -> PermanentError at once (the body, markup stripped, in the message)
    body larger than max_bytes             -> PermanentError (the source sent something we will not parse)

Retries live in this layer only; callers never loop on top of it.
"""

from __future__ import annotations

import random
import re
import threading
import time
from email.utils import parsedate_to_datetime
from typing import Protocol
from urllib.parse import urlsplit

import httpx

from shared.errors import NotFound, PermanentError, TransientError


class RateLimiter(Protocol):
    def wait(self, key: str, interval_s: float) -> None:
        """Block until a request to `key` may go out, at least interval_s after the last one."""


class LocalRateLimiter:
    """Spacing within one process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next: dict[str, float] = {}

    def wait(self, key: str, interval_s: float) -> None:
        if interval_s <= 0:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next.get(key, 0.0))
            self._next[key] = start + interval_s
        if start > now:
            time.sleep(start - now)


class RedisRateLimiter:
    """Spacing across every worker process: one Redis key per host, taken with SET NX PX."""

    def __init__(self, redis_client, prefix: str = "questlog:rate:") -> None:
        self.redis = redis_client
        self.prefix = prefix

    def wait(self, key: str, interval_s: float) -> None:
        if interval_s <= 0:
            return
        name = self.prefix + key
        while not self.redis.set(name, "1", nx=True, px=max(1, int(interval_s * 1000))):
            ttl = self.redis.pttl(name)
            time.sleep(max(ttl, 10) / 1000 + random.uniform(0, 0.05))


def secrets_stay_home(home: str, names: tuple[str, ...]):
    """An httpx request hook that drops the named headers (API keys) from any request leaving the
    origin of `home` (a redirect elsewhere): httpx itself strips only Authorization."""
    base = urlsplit(home)
    origin = (base.scheme, base.hostname, base.port)
    lowered = tuple(n.lower() for n in names)

    def hook(request: httpx.Request) -> None:
        if (request.url.scheme, request.url.host, request.url.port) != origin:
            for name in lowered:
                request.headers.pop(name, None)

    return hook


def backoff_delay(attempt: int, base_s: float, cap_s: float) -> float:
    """Full jitter: uniform(0, min(cap, base * 2**attempt))."""
    return random.uniform(0, min(cap_s, base_s * (2**attempt)))


def body_summary(text: str, limit: int = 300) -> str:
    """An error body in one line: markup and the XML declaration dropped."""
    text = re.sub(r"<\?xml[^>]*\?>|<[^>]+>", " ", text)
    return " ".join(text.split())[:limit]


def retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


class PoliteClient:
    def __init__(self, client: httpx.Client, *, limiter: RateLimiter, interval_s: float, max_attempts: int = 4,
                 max_bytes: int = 20_000_000, backoff_base_s: float = 1.0, backoff_cap_s: float = 60.0,
                 sleep=time.sleep) -> None:
        self.client = client
        self.limiter = limiter
        self.interval_s = interval_s
        self.max_attempts = max_attempts
        self.max_bytes = max_bytes
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.sleep = sleep

    def get(self, url: str, params: dict | None = None, headers: dict | None = None) -> httpx.Response:
        return self.request("GET", url, params=params, headers=headers)

    def post(self, url: str, json: object, params: dict | None = None, headers: dict | None = None
             ) -> httpx.Response:
        return self.request("POST", url, params=params, headers=headers, json=json)

    def request(self, method: str, url: str, params: dict | None = None, headers: dict | None = None,
                json: object = None) -> httpx.Response:
        host = urlsplit(str(self.client.base_url.join(url))).netloc or "default"
        last: TransientError | None = None
        for attempt in range(self.max_attempts):
            if last is not None:
                wait = last.retry_after if last.retry_after is not None else backoff_delay(
                    attempt - 1, self.backoff_base_s, self.backoff_cap_s)
                self.sleep(min(wait, self.backoff_cap_s))
            self.limiter.wait(host, self.interval_s)
            try:
                response = self._fetch(method, url, params, headers, json)
            except TransientError as err:
                last = err
                continue
            return response
        raise TransientError(f"{host}: gave up after {self.max_attempts} attempts: {last}",
                             retry_after=last.retry_after if last else None, exhausted=True)

    def _fetch(self, method: str, url: str, params: dict | None, headers: dict | None,
               json: object) -> httpx.Response:
        try:
            with self.client.stream(method, url, params=params, headers=headers, json=json) as r:
                declared = int(r.headers.get("content-length") or 0)
                if declared > self.max_bytes:
                    raise PermanentError(f"{r.url}: response of {declared} bytes is over the {self.max_bytes} cap")
                chunks, size = [], 0
                for chunk in r.iter_bytes():
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise PermanentError(f"{r.url}: response is over the {self.max_bytes}-byte cap")
                    chunks.append(chunk)
                body = b"".join(chunks)
        except httpx.TimeoutException as err:
            raise TransientError(f"{url}: timed out ({type(err).__name__})") from err
        except httpx.TransportError as err:
            raise TransientError(f"{url}: {type(err).__name__}: {err}") from err
        response = httpx.Response(r.status_code, headers=r.headers, content=body, request=r.request)
        status = response.status_code
        if status == 429 or status >= 500:
            raise TransientError(f"{response.url}: HTTP {status}",
                                 retry_after=retry_after_seconds(response.headers.get("retry-after")))
        if status == 404:
            raise NotFound(f"{response.url}: HTTP 404: {body_summary(response.text)}")
        if status >= 400:
            raise PermanentError(f"{response.url}: HTTP {status}: {body_summary(response.text)}")
        return response
