"""The reconciler re-sends a stage's lost work once its queue is empty and the work is older than the
configured grace; while the stage's queue still holds messages, its pending work is left to them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import redis

from agents.deps import Deps
from shared.broker import EmbeddedRedis, to_redis_py
from shared.ledger import Ledger
from shared.messages import LinkRequested
from shared.settings import ScheduleSettings, Settings
from tests.test_reconcile import _indexed_passage
from workers.reconcile import backlog


def _links(deps: Deps) -> list[tuple]:
    return [m.ids for m in backlog(deps) if isinstance(m, LinkRequested)]


def test_unlinked_passages_wait_while_the_link_queue_holds_messages_and_are_resent_once_it_is_empty(tmp_path):
    # a broker of its own: the session's workers would consume (and choke on) the stand-in message
    broker = EmbeddedRedis(Settings(data_dir=tmp_path / "broker"))
    client = redis.Redis.from_url(to_redis_py(broker.start()))
    settings = Settings(data_dir=tmp_path)
    led = Ledger(settings.ledger_url)
    try:
        pid = _indexed_passage(led, datetime.now(timezone.utc) - timedelta(hours=1))
        deps = Deps(settings=settings, ledger=led, redis=client)
        client.rpush("link", b"a link request still waiting")
        assert _links(deps) == []
        client.delete("link")
        assert _links(deps) == [(pid,)]
    finally:
        led.close()
        broker.stop()


def test_the_reconcilers_grace_is_the_configured_one(tmp_path):
    settings = Settings(data_dir=tmp_path, schedule=ScheduleSettings(reconcile_grace_s=30))
    led = Ledger(settings.ledger_url)
    pid = _indexed_passage(led, datetime.now(timezone.utc) - timedelta(seconds=90))
    assert _links(Deps(settings=settings, ledger=led)) == [(pid,)]
    assert _links(Deps(settings=Settings(data_dir=tmp_path), ledger=led)) == []  # the default: 10 minutes
    led.close()
