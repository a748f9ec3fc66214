"""`questlog sources` as a user types it (a subprocess against a temporary data directory)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from shared.ledger import Ledger

QUESTLOG = [sys.executable, "-m", "questlog.cli"]


def ql(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("QUESTLOG_")}
    return subprocess.run([*QUESTLOG, "--data-dir", str(data_dir), *args], capture_output=True, text=True,
                          env={**clean, "QUESTLOG_BROKER__URL": "redis://127.0.0.1:1/0", **env}, timeout=120)


def feeds(data_dir: Path) -> None:
    """arXiv crawled fine; Semantic Scholar worked once, then failed; OpenAlex never ran."""
    data_dir.mkdir(parents=True, exist_ok=True)
    ledger = Ledger(f"sqlite:///{data_dir / 'ledger.sqlite3'}")
    ledger.save_cursor("arxiv:category:cs.CL", {"newest": ["2026-06-22", "2606.00001v1"]}, papers_found=40)
    ledger.save_cursor("arxiv:search:1", {}, papers_found=2)
    ledger.save_cursor("semanticscholar:search:1", {}, papers_found=5)
    ledger.record_source_error("semanticscholar:search:1", "semanticscholar: api.semanticscholar.org: HTTP 503")
    ledger.save_cursor("expansion:0000", {"depth": 0})  # a record of the scout's, not a source
    ledger.close()


def test_sources_lists_every_source_with_its_state_as_json(tmp_path):
    feeds(tmp_path)
    r = ql(tmp_path, "sources", "--json", QUESTLOG_CROSSREF__ENABLED="false")
    assert r.returncode == 0, r.stderr
    rows = {row["name"]: row for row in json.loads(r.stdout)}
    assert list(rows) == ["arxiv", "arxiv_oai", "semanticscholar", "openalex", "crossref"]
    assert (rows["arxiv"]["state"], rows["arxiv"]["papers_found"], rows["arxiv"]["feeds"]) == ("ok", 42, 2)
    assert rows["semanticscholar"]["state"] == "failing" and "HTTP 503" in rows["semanticscholar"]["last_error"]
    assert rows["semanticscholar"]["failing_feeds"] == ["semanticscholar:search:1"]
    assert rows["semanticscholar"]["last_success"] and rows["semanticscholar"]["last_error_at"]
    assert rows["openalex"]["state"] == "never run" and rows["openalex"]["enabled"] is True
    assert rows["crossref"]["state"] == "disabled" and rows["crossref"]["enabled"] is False
    assert rows["arxiv_oai"]["base_url"] == "https://oaipmh.arxiv.org/oai"


def test_a_sources_api_key_is_never_printed(tmp_path):
    r = ql(tmp_path, "sources", "--json", QUESTLOG_SEMANTICSCHOLAR__API_KEY="s3cret-key")
    rows = {row["name"]: row for row in json.loads(r.stdout)}
    assert rows["semanticscholar"]["api_key"] == "set" and rows["semanticscholar"]["min_interval_s"] == 1.0
    assert rows["openalex"]["api_key"] == "unset"
    assert "s3cret-key" not in r.stdout + r.stderr
    assert "s3cret-key" not in ql(tmp_path, "sources").stdout


def test_sources_prints_a_table_naming_each_source_and_its_last_error(tmp_path):
    feeds(tmp_path)
    r = ql(tmp_path, "sources", COLUMNS="200")
    assert r.returncode == 0, r.stderr
    for name in ("arxiv", "arxiv_oai", "semanticscholar", "openalex", "crossref"):
        assert name in r.stdout
    assert "failing" in r.stdout and "HTTP 503" in r.stdout
