"""`questlog dead-letters list|retry|purge`, as an operator types them."""

from __future__ import annotations

import json

import redis

from shared.broker import to_redis_py
from shared.ledger import Ledger
from tests.test_cli import ql


def _letters(data_dir) -> tuple[str, str]:
    led = Ledger(f"sqlite:///{data_dir / 'ledger.sqlite3'}")
    good = led.dead_letter("questlog.link.link", "passages:p1", {"mode": "passages", "ids": ["p1"]},
                           "TransientError: store down", 6)
    bad = led.dead_letter("questlog.link.link", "invalid:1", {"not": "a message"}, "invalid message: ...", 1)
    led.close()
    return good, bad


def test_dead_letters_are_listed_with_their_task_attempts_and_reason(tmp_path):
    good, bad = _letters(tmp_path)
    table = ql(tmp_path, "dead-letters", "list", env={"COLUMNS": "200"})
    assert table.returncode == 0 and good[:8] in table.stdout and "store down" in table.stdout
    listed = json.loads(ql(tmp_path, "dead-letters", "list", "--json").stdout)
    assert {d["id"] for d in listed} == {good, bad} and {d["attempts"] for d in listed} == {6, 1}


def test_a_retried_dead_letter_is_sent_to_its_queue_and_removed_and_an_invalid_one_is_kept(tmp_path, broker_url):
    good, bad = _letters(tmp_path)
    client = redis.Redis.from_url(to_redis_py(broker_url))
    client.delete("link")
    r = ql(tmp_path, "dead-letters", "retry", "--all", env={"QUESTLOG_BROKER__URL": broker_url})
    assert r.returncode == 0, r.stderr
    assert "1 sent again, 1 kept" in r.stdout and "cannot retry" in r.stderr
    queued = [json.loads(m) for m in client.lrange("link", 0, -1)]
    assert [m["headers"]["task"] for m in queued] == ["questlog.link.link"]
    left = json.loads(ql(tmp_path, "dead-letters", "list", "--json").stdout)
    assert [d["id"] for d in left] == [bad]
    client.delete("link")


def test_purge_removes_named_dead_letters_and_refuses_an_unknown_id(tmp_path):
    good, bad = _letters(tmp_path)
    assert ql(tmp_path, "dead-letters", "purge", good[:8]).stdout.strip() == "1 removed"
    unknown = ql(tmp_path, "dead-letters", "purge", "ffffffff")
    assert unknown.returncode == 2 and "no dead letter with id 'ffffffff'" in unknown.stderr
    assert ql(tmp_path, "dead-letters", "purge", "--all", "--yes").stdout.strip() == "1 removed"
    assert ql(tmp_path, "dead-letters", "retry").returncode == 2  # neither ids nor --all
