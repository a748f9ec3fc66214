"""Celery tasks: thin views around the agents.

Each task validates its message, claims it (a concurrent duplicate waits), calls
the agent, sends the resulting messages on, and maps errors: TransientError and
unexpected exceptions are retried with capped, jittered backoff; PermanentError,
an invalid message, or retries spent park the message in the dead-letter record.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timezone

import redis
from celery import Celery, Task
from celery.exceptions import Retry
from celery.signals import beat_init, worker_process_init
from pydantic import ValidationError

from agents.deps import Deps
from shared.broker import to_redis_py
from shared.errors import PermanentError
from shared.http import backoff_delay
from shared.ledger import Ledger
from shared.messages import Message
from workers.app import VISIBILITY_TIMEOUT_S
from workers.claims import release_claim, take_claim
from workers.routes import ROUTES, TASK_FOR, Route

log = logging.getLogger("questlog.worker")

# a countdown past the broker's visibility timeout gets the message redelivered while it waits
# (a second copy runs); a source that asks for longer is asked again later, and counts a retry
MAX_COUNTDOWN_S = VISIBILITY_TIMEOUT_S / 2


class DeadLettered(Exception):
    """Raised once a message is parked in the dead-letter record, so Celery — and Flower — count the
    task failed, with its reason, not a success. Declared in each task's `throws`: no traceback."""


def retry_wait(err: BaseException, retries: int, settings) -> float:
    """Seconds before the next attempt: what the far end asked for, else capped jittered backoff;
    never past MAX_COUNTDOWN_S."""
    asked = getattr(err, "retry_after", None)
    wait = asked if asked else backoff_delay(retries, settings.retry_base_s, settings.retry_max_s)
    return min(wait, MAX_COUNTDOWN_S)


_deps: Deps | None = None


@worker_process_init.connect
def _forget_parent_resources(**_kwargs) -> None:
    """A forked pool process must not reuse its parent's connections or engine locks."""
    global _deps
    _deps = None


@beat_init.connect
def _tick_at_start(sender, **_kwargs) -> None:
    """Beat's first tick would come one interval after it starts: a restart would wait that long (an
    hour by default) to reconcile lost work and crawl. One scout tick now."""
    sender.app.send_task("questlog.scout.tick")


def deps_for(app: Celery) -> Deps:
    global _deps
    if _deps is None or _deps.settings is not app.questlog_settings:
        settings = app.questlog_settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        client = redis.Redis.from_url(to_redis_py(app.conf.broker_url))
        _deps = Deps(settings=settings, ledger=Ledger(settings.ledger_url), redis=client)
    return _deps


def send(app: Celery, messages: list[Message]) -> None:
    for msg in messages:
        app.send_task(TASK_FOR[type(msg)], args=[msg.model_dump(mode="json")])


TWIN_WAITS = 200


def run_step(task: Task, msg_cls: type[Message], payload: dict, agent) -> str:
    """The one shape of every task. Returns a short outcome for Flower; raises DeadLettered once the
    message is in the dead-letter record."""
    app = task.app
    deps = deps_for(app)
    name = task.name
    try:
        msg = msg_cls.model_validate(payload)
    except ValidationError as err:
        key = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:24]
        deps.ledger.dead_letter(name, f"invalid:{key}", payload, f"invalid message: {err}", 1)
        raise DeadLettered(f"invalid message: {err}") from None
    claim = f"questlog:claim:{name}:{msg.dedup_key}"
    if not take_claim(deps.redis, claim):
        if task.request.retries >= TWIN_WAITS:
            deps.ledger.dead_letter(name, msg.dedup_key, payload, "a twin of this message held its claim too long",
                                    task.request.retries + 1)
            raise DeadLettered("a twin of this message held its claim too long")
        raise task.retry(countdown=2 + backoff_delay(0, 2, 5))  # a twin is running this message now
    try:
        out = agent(msg, deps)
    except PermanentError as err:
        deps.ledger.dead_letter(name, msg.dedup_key, payload, str(err), task.request.retries + 1)
        log.warning("%s dead-lettered %s: %s", name, msg.dedup_key, err)
        raise DeadLettered(str(err)) from None
    except Retry:
        raise
    except RecursionError as err:  # input nested too deep to parse: every attempt would fail the same way
        deps.ledger.dead_letter(name, msg.dedup_key, payload, f"input nested too deep to read: {err}",
                                task.request.retries + 1)
        raise DeadLettered("input nested too deep to read") from None
    except Exception as err:  # TransientError and the unexpected: retry, capped
        settings = deps.settings.tasks
        if getattr(err, "exhausted", False):  # retried where it was raised (a source's HTTP attempts)
            deps.ledger.dead_letter(name, msg.dedup_key, payload, f"{err} (the next tick tries again)",
                                    task.request.retries + 1)
            log.warning("%s dead-lettered %s after the retries of the layer below: %s", name, msg.dedup_key, err)
            raise DeadLettered(str(err)) from None
        if task.request.retries >= settings.max_retries:
            deps.ledger.dead_letter(name, msg.dedup_key, payload, f"{type(err).__name__}: {err}",
                                    task.request.retries + 1)
            log.error("%s gave up on %s after %d attempts: %s", name, msg.dedup_key, task.request.retries + 1, err)
            raise DeadLettered(f"{type(err).__name__}: {err}") from None
        wait = retry_wait(err, task.request.retries, settings)
        log.warning("%s will retry %s in %.1fs: %s", name, msg.dedup_key, wait, err)
        raise task.retry(countdown=wait, exc=err) from err
    finally:
        release_claim(deps.redis, claim)  # with the broker gone it stays, until the broker's restart frees it
    send(app, out)
    return f"ok: {len(out)} sent on"


def register(app: Celery) -> None:
    """Register every task on `app` (one app per process; names are explicit so files can move)."""
    from agents.scout import graph as scout
    from agents.summarizer import graph as summarizer

    def step(route: Route):
        agent = route.load_agent()

        # run_step caps retries and dead-letters
        @app.task(name=route.task, bind=True, max_retries=None, throws=(DeadLettered,))
        def _task(self, payload: dict) -> str:
            return run_step(self, route.message, payload, agent)

        return _task

    for route in ROUTES:
        step(route)

    @app.task(name="questlog.scout.tick", bind=True)
    def scout_tick(self) -> str:
        from workers.reconcile import backlog

        deps = deps_for(self.app)
        now = datetime.now(timezone.utc)
        msgs = backlog(deps) + scout.plan(deps, now)
        send(self.app, msgs)
        return f"ok: {len(msgs)} sent on"

    @app.task(name="questlog.reconcile.tick", bind=True)
    def reconcile_tick(self) -> str:
        from workers.reconcile import backlog

        msgs = backlog(deps_for(self.app))
        send(self.app, msgs)
        return f"ok: {len(msgs)} re-sent"

    @app.task(name="questlog.digest.tick", bind=True)
    def digest_tick(self) -> str:
        deps = deps_for(self.app)
        msgs = summarizer.plan(deps, datetime.now(timezone.utc))
        send(self.app, msgs)
        return f"ok: {len(msgs)} digests requested"
