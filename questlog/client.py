"""The CLI's side of the broker: send messages, read queue depths, wait for the pipeline to drain."""

from __future__ import annotations

import time
from collections.abc import Callable

import redis

from shared.broker import to_redis_py
from shared.messages import Message
from workers.app import make_app
from workers.routes import QUEUES
from workers.tasks import send


class Pipeline:
    def __init__(self, settings, broker_url: str | None = None) -> None:
        self.app = make_app(settings, broker_url)
        self.redis = redis.Redis.from_url(to_redis_py(self.app.conf.broker_url))

    def send(self, messages: list[Message]) -> None:
        send(self.app, messages)

    def tick(self, task: str) -> None:
        self.app.send_task(task)

    def depths(self) -> dict[str, int]:
        """Messages waiting per queue, and 'in_flight': taken by a worker, not yet acknowledged."""
        out = {q: int(self.redis.llen(q)) for q in QUEUES}
        out["in_flight"] = int(self.redis.hlen("unacked"))
        return out

    def workers(self, timeout_s: float = 1.0) -> list[str]:
        replies = self.app.control.ping(timeout=timeout_s) or []
        return sorted(name for r in replies for name in r)

    def wait_idle(self, timeout_s: float = 1800, settle_checks: int = 3, poll_s: float = 0.5,
                  progress: Callable[[dict[str, int]], None] | None = None) -> bool:
        """Block until every queue is empty and nothing is in flight, `settle_checks` polls in a row."""
        deadline = time.monotonic() + timeout_s
        quiet = 0
        while time.monotonic() < deadline:
            depths = self.depths()
            if progress:
                progress(depths)
            quiet = quiet + 1 if not any(depths.values()) else 0
            if quiet >= settle_checks:
                return True
            time.sleep(poll_s)
        return False

    def close(self) -> None:
        self.redis.close()
        self.app.close()
