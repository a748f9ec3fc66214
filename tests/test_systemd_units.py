"""The systemd units in infra/ start commands this CLI really has, with options it accepts."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from questlog.cli import app

UNITS = sorted((Path(__file__).resolve().parents[1] / "infra" / "systemd").glob("*.service"))


@pytest.mark.parametrize("unit", UNITS, ids=[u.name for u in UNITS])
def test_each_unit_runs_a_questlog_command_that_parses_and_restarts_on_failure(unit, monkeypatch, tmp_path):
    monkeypatch.setenv("QUESTLOG_DATA_DIR", str(tmp_path))  # --data-dir sets it: restored after the test
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read(unit)
    service = parser["Service"]
    argv = shlex.split(service["ExecStart"])
    assert argv[0].endswith("/.venv/bin/questlog")
    assert service["Restart"] == "on-failure" and parser["Install"]["WantedBy"] == "multi-user.target"
    result = CliRunner().invoke(app, [*argv[1:], "--help"])
    assert result.exit_code == 0, result.output  # every option in the unit is one the command takes
