"""A PDF the user adds is read, embedded and linked by the running stack: a question about a finding in
its body gets a passage from the body, shown with its page and section. Its own stack (its own Redis
database), so the added paper does not join the library the other pipeline tests count."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from tests.conftest import drain, settings_from, stack_env

pytestmark = pytest.mark.slow
PASA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fulltext" / "pasa-2501.10120.pdf"
QUESTION = "How does PaSa's recall compare with Google Scholar on its benchmarks?"
FULLTEXT_DB = int(os.environ.get("QL_TEST_FULLTEXT_REDIS_DB", "11"))


@pytest.fixture(scope="module")
def pdf_stack(tmp_path_factory, broker_url, arxiv_server):
    from questlog.client import Pipeline
    from questlog.stack import Stack
    from shared.broker import to_redis_py
    from shared.ledger import Ledger

    if not PASA.exists():
        pytest.skip(f"the test PDF is not at {PASA}")
    if not re.search(r"/\d+$", broker_url):
        pytest.skip(f"cannot pick a database of its own on {broker_url}")
    broker = re.sub(r"/\d+$", f"/{FULLTEXT_DB}", broker_url)
    redis.Redis.from_url(to_redis_py(broker)).flushdb()
    data_dir = tmp_path_factory.mktemp("questlog-fulltext")
    env = stack_env(data_dir, broker, arxiv_server.url)
    settings = settings_from(env)
    running = Stack(settings, beat=False, flower=False, extra_env=env).start()
    running.pipe, running.ledger, running.settings, running.env = (Pipeline(settings, broker),
                                                                   Ledger(settings.ledger_url), settings, env)
    yield running
    running.stop()
    running.pipe.close()


def ql(stack, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "questlog.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **stack.env}, timeout=300)


def test_a_question_about_a_finding_in_an_added_pdf_links_a_body_passage_with_page_and_section(pdf_stack):
    added = ql(pdf_stack, "add", str(PASA))
    assert added.returncode == 0, added.stderr
    assert "read in full (15 pages)" in added.stdout and "queued" in added.stdout
    drain(pdf_stack)
    asked = ql(pdf_stack, "ask", QUESTION)
    assert asked.returncode == 0, asked.stderr
    drain(pdf_stack)

    shown = json.loads(ql(pdf_stack, "evidence", "1", "--json").stdout)["evidence"]
    body = [e for e in shown if e["kind"] in ("body", "caption")]
    assert body, f"no body passage linked; links: {[(e['kind'], e['passage'][:80]) for e in shown]}"
    best = body[0]
    assert best["page"] and best["section"] and best["where"].startswith(f"p. {best['page']}, §")
    assert best["pdf_url"].startswith("file://") and best["pdf_url"].endswith(f"#page={best['page']}")
    assert any("Google Scholar" in e["passage"] and "recall" in e["passage"].lower() for e in body)
    assert best["rationale"] and best["rationale"] != best["passage"]
    print(json.dumps([{k: e[k] for k in ("kind", "where", "score", "rationale")} for e in shown], indent=1))
    table = ql(pdf_stack, "evidence", "1")
    assert f"p. {best['page']}, §" in table.stdout


def test_a_paper_added_by_its_arxiv_id_is_looked_up_and_its_pdf_fetched(pdf_stack, arxiv_server, snapshot):
    from questlog.replay.server import Reply

    paper = snapshot[-5]  # listed before the replay's today
    arxiv_server.pdfs.files[f"{paper.arxiv_id}v1"] = Reply(200, PASA.read_bytes(), "application/pdf")
    try:  # the replay is the session's: the other tests' stack must find no PDF for this paper
        added = ql(pdf_stack, "add", f"arXiv:{paper.arxiv_id}")
    finally:
        del arxiv_server.pdfs.files[f"{paper.arxiv_id}v1"]
    assert added.returncode == 0, added.stderr
    assert "read in full (15 pages)" in added.stdout
    drain(pdf_stack)
    from sqlalchemy import select

    from shared.ledger.models import PaperRow

    with pdf_stack.ledger.session() as s:
        row = s.scalars(select(PaperRow).where(PaperRow.canonical_id == f"arxiv:{paper.arxiv_id}")).one()
    reading = pdf_stack.ledger.fulltext(row.id)
    assert (reading.status, reading.origin) == ("read", "arxiv")
    assert reading.location.endswith(f"/pdf/{paper.arxiv_id}v1")
    stored = pdf_stack.ledger.paper_passages(row.id)
    assert stored[0].kind == "abstract" and 20 < len(stored) - 1 <= reading.passages
    missing = ql(pdf_stack, "add", "2501.99999")
    assert missing.returncode == 2 and "arXiv has no paper 2501.99999" in missing.stderr
