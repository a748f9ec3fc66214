"""Run the whole stack on one machine: broker, workers per queue group, beat, Flower.

`Stack` starts each as a child process with the settings passed down through
the environment, logs each to <data_dir>/logs/<name>.log, restarts a child that
dies (`heal`, at most RESTARTS times in RESTART_WINDOW_S), rotates a log that grew past
LOG_MAX_BYTES (`rotate_logs`, keeping LOG_KEEP old ones), and stops them all
(SIGTERM: Celery's warm shutdown, then SIGKILL after a grace period) on exit. One
stack per data directory: a second is refused while the first holds its lock.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from shared.broker import EmbeddedRedis, resolve_broker
from shared.errors import PermanentError
from shared.settings import Settings

PY = sys.executable
RESTARTS = 5  # a child that dies more often than this within the window is left dead: it would only crash again
RESTART_WINDOW_S = 600.0
LOG_MAX_BYTES = 20_000_000  # a child's log past this is rotated: <name>.log.1 .. .LOG_KEEP, oldest dropped
LOG_KEEP = 3


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str] | None = None
    nice: int = 0
    proc: subprocess.Popen | None = None
    log: Path | None = None
    restarts: list[float] | None = None  # when it was restarted (monotonic)


def flower_password(settings: Settings) -> str:
    """The configured Flower password, or one generated once and kept in <data_dir>/flower.secret."""
    if settings.flower.password:
        return settings.flower.password.get_secret_value()
    path = settings.data_dir / "flower.secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(18))
        path.chmod(0o600)
    return path.read_text().strip()


def worker_argv(group: str, settings: Settings, loglevel: str = "INFO") -> list[str]:
    from workers.app import GROUPS

    spec = GROUPS[group]
    concurrency = {"embed": settings.embed.processes, "io": settings.tasks.io_processes}.get(group,
                                                                                            spec["concurrency"])
    return [PY, "-m", "celery", "-A", "workers.app", "worker", "-Q", ",".join(spec["queues"]),
            "-c", str(concurrency), "-n", f"{group}@%h", "-E", "--loglevel", loglevel,
            "--without-mingle", "--without-gossip"]


def beat_argv(settings: Settings, loglevel: str = "INFO") -> list[str]:
    return [PY, "-m", "celery", "-A", "workers.app", "beat", "--loglevel", loglevel,
            "--schedule", str((settings.data_dir / "beat-schedule").resolve())]


def flower_argv(settings: Settings) -> list[str]:
    # through questlog.flower_main: Flower's own /metrics would answer without its basic auth
    return [PY, "-m", "questlog.flower_main", "-A", "workers.app", "flower", f"--address={settings.flower.host}",
            f"--port={settings.flower.port}", "--persistent=False"]


def flower_env(settings: Settings) -> dict[str, str]:
    """Flower's basic auth goes through its environment, never the command line (`ps` shows that)."""
    return {"FLOWER_BASIC_AUTH": f"{settings.flower.user}:{flower_password(settings)}"}


class Stack:
    def __init__(self, settings: Settings, *, groups=("io", "embed", "vector"), beat: bool = True,
                 flower: bool = True, extra_env: dict[str, str] | None = None) -> None:
        self.settings = settings
        self.groups = groups
        self.beat = beat
        self.flower = flower
        self.extra_env = extra_env or {}
        self.redis: EmbeddedRedis | None = None
        self.children: list[Child] = []
        self.broker_url: str | None = None
        self._lock = None

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.extra_env)
        env["QUESTLOG_DATA_DIR"] = str(self.settings.data_dir.resolve())
        env["QUESTLOG_BROKER__URL"] = self.broker_url or ""
        env.setdefault("HF_HUB_OFFLINE", "1")
        env["PYTHONUNBUFFERED"] = "1"
        root = str(Path(__file__).resolve().parents[1])
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        return env

    def start(self) -> "Stack":
        """Start every child. Raises PermanentError, before starting anything, when the evidence model is unusable."""
        from shared.relevance import check_judge

        check_judge(self.settings)
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self._take_lock()
        self.broker_url = resolve_broker(self.settings)
        if self.broker_url is None:
            self.redis = EmbeddedRedis(self.settings)
            self.broker_url = self.redis.start()
        logs = self.settings.data_dir / "logs"
        logs.mkdir(exist_ok=True)
        level = self.settings.log_level
        # The embedder is the bottleneck on a small machine: everything else yields the CPU to it.
        plan = [Child(g, worker_argv(g, self.settings, level), nice=0 if g == "embed" else 5) for g in self.groups]
        if self.beat:
            plan.append(Child("beat", beat_argv(self.settings, level), nice=5))
        if self.flower:
            plan.append(Child("flower", flower_argv(self.settings), flower_env(self.settings), nice=5))
        for child in plan:
            child.log = logs / f"{child.name}.log"
            self._spawn(child)
            self.children.append(child)
        return self

    def _spawn(self, child: Child) -> None:
        with open(child.log, "ab") as out:
            child.proc = subprocess.Popen(child.argv, env={**self.env(), **(child.env or {})}, stdout=out,
                                          stderr=subprocess.STDOUT, start_new_session=True,
                                          preexec_fn=_niceness(child.nice))

    def _take_lock(self) -> None:
        """Hold <data_dir>/stack.lock while running: two stacks on one data directory would run every
        worker twice and fight over the embedded vector store."""
        path = self.settings.data_dir / "stack.lock"
        handle = open(path, "a+")  # noqa: SIM115 - held open for the stack's lifetime
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise PermanentError(f"a stack already runs on {self.settings.data_dir.resolve()} (pid {holder}); "
                                 "stop it first, or use another QUESTLOG_DATA_DIR") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._lock = handle

    def dead(self) -> list[Child]:
        return [c for c in self.children if c.proc and c.proc.poll() is not None]

    def heal(self) -> tuple[list[Child], list[Child]]:
        """Restart the embedded broker if it died (its append-only file brings the queues back; the
        workers reconnect by themselves), then each dead child. Returns (restarted, given up): a child
        restarted RESTARTS times within RESTART_WINDOW_S is left dead, since it would only crash again."""
        restarted, given_up = [], []
        if self.redis is not None and self.redis.dead:
            broker = Child("redis", [], log=self.redis.dir / "redis.log")
            try:
                self.redis.start()
                restarted.append(broker)
            except RuntimeError:  # it will not come back: nothing can run without it
                given_up.append(broker)
        now = time.monotonic()
        for child in self.dead():
            recent = [t for t in (child.restarts or []) if now - t < RESTART_WINDOW_S]
            if len(recent) >= RESTARTS:
                given_up.append(child)
                continue
            child.restarts = [*recent, now]
            self._spawn(child)
            restarted.append(child)
        return restarted, given_up

    def rotate_logs(self, max_bytes: int = LOG_MAX_BYTES, keep: int = LOG_KEEP) -> list[Path]:
        """Rotate each child's log that grew past `max_bytes` (copy, then truncate: the child keeps its
        file open in append mode, so its next line lands at the start of the emptied file; a line written
        in the instant between the copy and the truncation is lost, the price of not restarting it).
        Months of running keep at most (keep + 1) * max_bytes per child. Returns the logs rotated."""
        rotated = []
        for child in self.children:
            log = child.log
            if log is None or not log.exists() or log.stat().st_size <= max_bytes:
                continue
            for n in range(keep - 1, 0, -1):
                older = log.with_name(f"{log.name}.{n}")
                if older.exists():
                    older.replace(log.with_name(f"{log.name}.{n + 1}"))
            with open(log, "rb") as src, open(log.with_name(f"{log.name}.1"), "wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
            os.truncate(log, 0)
            rotated.append(log)
        return rotated

    def stop(self, grace_s: float = 20.0) -> None:
        for c in self.children:
            if c.proc and c.proc.poll() is None:
                c.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for c in self.children:
            if c.proc is None:
                continue
            try:
                c.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(c.proc.pid, signal.SIGKILL)
                c.proc.wait()
        self.children.clear()
        if self.redis:
            self.redis.stop()
            self.redis = None
        if self._lock is not None:
            self._lock.close()  # closing releases the flock
            self._lock = None

    def __enter__(self) -> "Stack":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _niceness(n: int):
    return (lambda: os.nice(n)) if n else None
