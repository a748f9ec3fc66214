"""Claims expire with their holder's death and when the broker restarts: a task cut off from Redis by
a restart can neither release its claim nor re-queue its message, and the reconciler's copy must not
wait out the claim's TTL behind it."""

from __future__ import annotations

import os
import signal
import time

import redis

from shared.broker import EmbeddedRedis, to_redis_py
from shared.settings import Settings
from workers.claims import take_claim

KEY = "questlog:claim:questlog.embed.encode:test"


def test_a_claim_held_by_a_live_process_is_refused_to_a_twin_while_the_broker_runs(broker_url):
    client = redis.Redis.from_url(to_redis_py(broker_url))
    client.delete(KEY)
    assert take_claim(client, KEY)
    assert not take_claim(client, KEY)  # the holder (this process) lives and the broker did not restart
    client.delete(KEY)


def test_a_claim_taken_before_the_broker_restarted_is_taken_over_though_its_holder_lives(tmp_path):
    broker = EmbeddedRedis(Settings(data_dir=tmp_path))  # its append-only file brings the claim back
    client = redis.Redis.from_url(to_redis_py(broker.start()))
    try:
        assert take_claim(client, KEY)
        time.sleep(1.5)  # the append-only file is synced every second
        os.kill(broker.proc.pid, signal.SIGKILL)
        broker.proc.wait()
        client = redis.Redis.from_url(to_redis_py(broker.start()))
        assert client.exists(KEY), "the claim came back with the broker's data"
        assert take_claim(client, KEY)  # its holder (this process) is alive, but cut off by the restart
        assert not take_claim(client, KEY)  # taken again under the new run: held as any claim is
    finally:
        broker.stop()
