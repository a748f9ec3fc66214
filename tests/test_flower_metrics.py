"""Flower, started as the stack starts it, keeps its Prometheus /metrics behind its basic auth."""

from __future__ import annotations

import base64
import os
import subprocess
import time

import httpx

from questlog.stack import flower_argv, flower_env
from shared.settings import FlowerSettings, Settings
from tests.test_up import free_port


def test_flowers_metrics_answer_only_with_its_basic_auth(tmp_path, broker_url):
    port = free_port()
    settings = Settings(data_dir=tmp_path, flower=FlowerSettings(port=port, password="flower-secret"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUESTLOG_")}
    env |= {"QUESTLOG_DATA_DIR": str(tmp_path), "QUESTLOG_BROKER__URL": broker_url, **flower_env(settings)}
    log = tmp_path / "flower.log"
    with open(log, "wb") as out:
        flower = subprocess.Popen(flower_argv(settings), env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    good = {"Authorization": "Basic " + base64.b64encode(f"{settings.flower.user}:flower-secret".encode()).decode()}
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/healthcheck", timeout=1.0)
                break
            except httpx.HTTPError:
                assert flower.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.3)
        assert httpx.get(f"{url}/metrics").status_code == 401
        wrong = {"Authorization": "Basic " + base64.b64encode(b"admin:guess").decode()}
        assert httpx.get(f"{url}/metrics", headers=wrong).status_code == 401
        r = httpx.get(f"{url}/metrics", headers=good)
        assert r.status_code == 200 and "flower_" in r.text
        assert httpx.get(f"{url}/", headers=good).status_code == 200  # the dashboard itself still works
    finally:
        flower.terminate()
        flower.wait(10)
