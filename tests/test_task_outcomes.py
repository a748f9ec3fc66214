"""What a task does with a failure: how long it waits, and how a dead letter shows in Celery (and Flower)."""

from __future__ import annotations

import pytest

from shared.errors import TransientError
from shared.settings import ScheduleSettings, Settings, TaskSettings
from workers.app import VISIBILITY_TIMEOUT_S, make_app
from workers.tasks import MAX_COUNTDOWN_S, DeadLettered, retry_wait


def test_a_retry_after_longer_than_the_visibility_timeout_is_cut_below_it():
    settings = TaskSettings()
    assert MAX_COUNTDOWN_S < VISIBILITY_TIMEOUT_S
    assert retry_wait(TransientError("429", retry_after=86400), 0, settings) == MAX_COUNTDOWN_S
    assert retry_wait(TransientError("429", retry_after=7), 0, settings) == 7  # a short ask is obeyed


def test_without_a_retry_after_the_wait_is_capped_jittered_backoff():
    settings = TaskSettings(retry_base_s=2, retry_max_s=30)
    waits = [retry_wait(RuntimeError("boom"), 10, settings) for _ in range(50)]
    assert all(0 <= w <= 30 for w in waits) and len(set(waits)) > 1


@pytest.fixture()
def new_app(tmp_path, broker_url):
    """Builds the real Celery app (tasks registered as workers do) over a fresh data directory."""
    import workers.tasks

    yield lambda: make_app(Settings(data_dir=tmp_path / "data"), broker_url=broker_url)
    if workers.tasks._deps is not None:
        workers.tasks._deps.close()
        workers.tasks._deps = None


def test_an_invalid_message_is_dead_lettered_and_the_task_counts_as_failed_with_the_reason(new_app):
    app = new_app()
    result = app.tasks["questlog.link.link"].apply(args=[{"not": "a link request"}])
    assert result.state == "FAILURE"
    assert isinstance(result.result, DeadLettered) and "invalid message" in str(result.result)
    from workers.tasks import deps_for

    letters = deps_for(app).ledger.dead_letters()
    assert len(letters) == 1 and letters[0].task == "questlog.link.link"


def test_a_message_nested_too_deep_to_read_is_dead_lettered_at_once_not_retried(new_app):
    from shared.messages import LinkRequested
    from workers.tasks import deps_for, run_step

    app, attempts = new_app(), []

    def too_deep(msg, deps):
        attempts.append(1)
        raise RecursionError("maximum recursion depth exceeded")

    with pytest.raises(DeadLettered, match="nested too deep"):
        run_step(app.tasks["questlog.link.link"], LinkRequested, {"mode": "passages", "ids": ["p1"]}, too_deep)
    assert len(attempts) == 1
    assert "nested too deep" in deps_for(app).ledger.dead_letters()[0].error


def test_beat_sends_a_scout_tick_when_it_starts_not_one_interval_later(tmp_path, broker_url):
    """Heard as beat's own task-sent event (the queue may have a consumer: the session's stack)."""
    import base64
    import json
    import os
    import subprocess
    import sys
    import time

    import redis

    from shared.broker import to_redis_py

    events = redis.Redis.from_url(to_redis_py(broker_url)).pubsub()
    events.psubscribe("*celeryev/task.sent")
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUESTLOG_")}
    env |= {"QUESTLOG_DATA_DIR": str(tmp_path / "data"), "QUESTLOG_BROKER__URL": broker_url,
            "QUESTLOG_SCHEDULE__CRAWL_EVERY_S": "86400"}
    log = tmp_path / "beat.log"
    with open(log, "wb") as out:
        beat = subprocess.Popen([sys.executable, "-m", "questlog.cli", "beat"], env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    sent, deadline = [], time.monotonic() + 60
    try:
        while "questlog.scout.tick" not in sent and time.monotonic() < deadline:
            event = events.get_message(timeout=1.0)
            if event and event["type"] == "pmessage":
                body = json.loads(base64.b64decode(json.loads(event["data"])["body"]))
                sent.append(body.get("name"))
    finally:
        beat.terminate()
        beat.wait(10)
        events.close()
    assert "questlog.scout.tick" in sent, log.read_text()[-3000:]


def test_the_reconciler_has_its_own_beat_tick_every_few_minutes_not_only_the_hourly_crawl(tmp_path, broker_url):
    settings = Settings(data_dir=tmp_path, schedule=ScheduleSettings(reconcile_every_s=120))
    app = make_app(settings, broker_url)
    entry = app.conf.beat_schedule["reconcile"]
    assert entry["task"] == "questlog.reconcile.tick" and entry["schedule"] == 120
    assert "questlog.reconcile.tick" in app.tasks
    assert Settings(data_dir=tmp_path).schedule.reconcile_every_s < Settings(data_dir=tmp_path).schedule.crawl_every_s
