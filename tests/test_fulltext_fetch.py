"""Full text fetched as arXiv serves it (a replay on 127.0.0.1), read, recorded and split into passages;
and every way a fetch goes wrong ends in a clear record without holding up the other papers."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from agents.deps import Deps
from agents.reader import graph as reader
from agents.reader.fulltext import fetch_and_read
from questlog.replay.pdf import PdfReplay
from questlog.replay.server import Reply, ReplayServer
from shared.ledger import Ledger
from shared.messages import FullTextRequested, PapersFound
from shared.records import PaperRecord
from shared.settings import Settings

FULLTEXT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fulltext"
PASA = FULLTEXT / "pasa-2501.10120.pdf"
pytestmark = pytest.mark.skipif(not PASA.exists(), reason=f"the test PDFs are not at {FULLTEXT}")


def pdf(data: bytes, content_type: str = "application/pdf") -> Reply:
    return Reply(200, data, content_type)


def encrypted(data: bytes) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password="secret", algorithm="RC4-128")
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


@pytest.fixture
def library(tmp_path):
    """A ledger and Deps on a fresh data directory, and a PDF replay that the fetcher points at."""
    server = ReplayServer().start()
    pdfs = PdfReplay()
    server.route("/pdf", pdfs)
    settings = Settings(data_dir=tmp_path, fulltext={"arxiv_pdf_url": f"{server.url}/pdf/{{id}}",
                                                     "min_interval_s": 0, "max_attempts": 2, "max_pdf_mb": 20})
    # no source clients: OpenAlex's open-access lookup is tested on its recorded answers below
    deps = Deps(settings=settings, ledger=Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite3'}"),
                overrides={"sources": {}})
    yield deps, pdfs, server
    deps.close()
    server.stop()


def add_arxiv_paper(deps: Deps, arxiv_id: str, title: str, version: int = 1) -> str:
    record = PaperRecord(source="arxiv", source_id=arxiv_id, arxiv_id=arxiv_id, arxiv_version=version, title=title,
                         abstract=f"The abstract of {title}.", found_via="test")
    return deps.ledger.upsert_paper(record).paper_id


def test_a_paper_arxiv_serves_a_pdf_of_is_read_in_full_once_per_version(library):
    deps, pdfs, server = library
    pdfs.files["2501.10120v1"] = pdf(PASA.read_bytes())
    pid = add_arxiv_paper(deps, "2501.10120", "PaSa: An LLM Agent for Comprehensive Academic Paper Search")
    sent = fetch_and_read(FullTextRequested(paper_ids=(pid,)), deps)
    assert sent == [PapersFound(paper_ids=(pid,))]
    row = deps.ledger.fulltext(pid)
    assert (row.status, row.origin, row.pages) == ("read", "arxiv", 15) and row.passages > 20
    assert row.location.endswith("/pdf/2501.10120v1")

    reader.run(PapersFound(paper_ids=(pid,)), deps)
    passages = deps.ledger.paper_passages(pid)
    assert passages[0].kind == "abstract" and passages[0].page is None
    body = passages[1:]
    assert {p.kind for p in body} <= {"body", "caption"}
    # the PDF's own abstract repeats passage 0: it is left out, the rest of the reading is stored
    assert len(body) == row.passages - sum(p.section == "Abstract" for p in deps.readings.get(row.content_hash).passages)
    assert not [p for p in body if p.section == "Abstract"]
    assert all(p.page and 1 <= p.page <= 15 for p in body)
    assert any(p.section and "Introduction" in p.section for p in body)

    fetches = sum(r.path.startswith("/pdf/") for r in server.requests)
    assert fetch_and_read(FullTextRequested(paper_ids=(pid,)), deps) == []  # the same version: never again
    reader.run(PapersFound(paper_ids=(pid,)), deps)  # reading twice stores nothing new
    assert [p.id for p in deps.ledger.paper_passages(pid)] == [p.id for p in passages]
    assert sum(r.path.startswith("/pdf/") for r in server.requests) == fetches


def test_every_broken_full_text_is_recorded_with_its_reason_and_the_good_one_is_still_read(library):
    deps, pdfs, server = library
    good = PASA.read_bytes()
    pdfs.files.update({
        "2501.00001v1": pdf(b"<!DOCTYPE html><html><body>Sorry, we are down</body></html>"),
        "2501.00002v1": pdf(good[: len(good) // 3]),
        "2501.00003v1": pdf(encrypted(good)),
        "2501.00004v1": Reply(200, b"<html>an error page</html>", "text/html"),
        "2501.00005v1": Reply(503, b"busy", "text/plain"),
        "2501.00006v1": pdf(b"%PDF-1.4\n" + b"0" * (25 * 1024 * 1024)),  # over the 20 MB cap
        "2501.10120v1": pdf(good),
    })
    ids = {n: add_arxiv_paper(deps, f"2501.{n}", f"Paper number {n} of the broken batch") for n in
           ("00001", "00002", "00003", "00004", "00005", "00006", "00007", "10120")}
    other = deps.ledger.upsert_paper(PaperRecord(source="crossref", source_id="10.1/x", doi="10.1/x",
                                                 title="A journal paper that arXiv does not hold")).paper_id
    sent = fetch_and_read(FullTextRequested(paper_ids=(*ids.values(), other)), deps)
    assert sent == [PapersFound(paper_ids=(ids["10120"],))]
    reasons = {n: deps.ledger.fulltext(pid) for n, pid in ids.items()}
    assert all(r.status == "unavailable" for n, r in reasons.items() if n != "10120")
    assert "not a PDF" in reasons["00001"].reason
    assert "truncated" in reasons["00002"].reason or "damaged" in reasons["00002"].reason
    assert "encrypted" in reasons["00003"].reason
    assert "served text/html" in reasons["00004"].reason
    assert "could not fetch" in reasons["00005"].reason and "503" in reasons["00005"].reason
    assert "cap" in reasons["00006"].reason
    assert "404" in reasons["00007"].reason
    assert "OpenAlex, which finds open-access copies by DOI, is disabled" in deps.ledger.fulltext(other).reason
    assert reasons["10120"].status == "read"


def ql(data_dir: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, "QUESTLOG_BROKER__URL": "redis://127.0.0.1:1/0", "HF_HUB_OFFLINE": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "questlog.cli", "--data-dir", str(data_dir), *args],
                          capture_output=True, text=True, env=env, timeout=300)


def test_adding_a_pdf_file_stores_its_body_passages_and_a_second_add_changes_nothing(tmp_path):
    assert ql(tmp_path, "ask", "How does PaSa's recall compare with Google Scholar?").returncode == 0
    r = ql(tmp_path, "add", str(PASA), "--question", "1")
    assert r.returncode == 0, r.stderr
    assert "read in full (15 pages)" in r.stdout and "stored; embedded and linked" in r.stdout
    assert "a new paper" in r.stderr and "PaSa" in r.stderr
    led = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    (paper,) = led.papers(sorted({p.paper_id for p in led.passages(led.current_passage_ids())}))
    assert paper.canonical_id == "arxiv:2501.10120"  # the arXiv stamp printed in the PDF names it
    row = led.fulltext(paper.id)
    assert row.origin == "file" and Path(row.location).read_bytes() == PASA.read_bytes()
    count = len(led.paper_passages(paper.id))
    evidence = json.loads(ql(tmp_path, "evidence", "1", "--json").stdout)["evidence"]
    assert [(e["retrieval"], e["verdict"]) for e in evidence] == [("added", "accepted")]

    again = ql(tmp_path, "add", str(PASA))
    assert again.returncode == 0, again.stderr
    assert "known paper arxiv:2501.10120" in again.stderr
    assert len(led.paper_passages(paper.id)) == count and len(led.papers([paper.id])) == 1


@pytest.mark.parametrize("content, message", [
    (b"<!DOCTYPE html><html>not found</html>", "not a PDF"),
    (None, "no such file"),
])
def test_adding_a_file_that_is_not_a_readable_pdf_is_refused_with_the_reason(tmp_path, content, message):
    path = tmp_path / "paper.pdf"
    if content is not None:
        path.write_bytes(content)
    r = ql(tmp_path / "data", "add", str(path))
    assert r.returncode == 2 and message in r.stderr, r.stderr


def test_adding_something_that_is_neither_a_file_an_arxiv_id_nor_a_doi_says_so(tmp_path):
    r = ql(tmp_path, "add", "some words")
    assert r.returncode == 2 and "neither a file, an arXiv id nor a DOI" in r.stderr


def test_adding_a_doi_looks_it_up_and_keeps_its_abstract_when_no_full_text_can_be_had(tmp_path, replay):
    _, api = replay
    env = {"QUESTLOG_CROSSREF__BASE_URL": f"{api.url}/api.crossref.org", "QUESTLOG_CROSSREF__MIN_INTERVAL_S": "0",
           "QUESTLOG_OPENALEX__ENABLED": "false", "QUESTLOG_SEMANTICSCHOLAR__ENABLED": "false",
           "QUESTLOG_ARXIV__ENABLED": "false", "QUESTLOG_ARXIV_OAI__ENABLED": "false"}
    r = ql(tmp_path, "add", "https://doi.org/10.1371/journal.pone.0033693", env=env)
    assert r.returncode == 0, r.stderr
    assert "doi:10.1371/journal.pone.0033693: Methylphenidate Exposure Induces Dopamine" in r.stderr
    assert "no full text: not on arXiv; OpenAlex, which finds open-access copies by DOI, is disabled" in r.stderr
    assert "abstract only, 1 passages (0 from the body)" in r.stdout
    r = ql(tmp_path, "add", "10.1371/journal.none.404", env=env)
    assert r.returncode == 2 and "no work with DOI" in r.stderr


class ToLoopback(httpx.BaseTransport):
    """The network edge for a PDF whose open-access copy is on a publisher's host: every request goes to
    the loopback server instead (host and path kept in the path), so no test reaches another address."""

    def __init__(self, server_url: str) -> None:
        self.server = httpx.URL(server_url)
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(scheme="http", host=self.server.host, port=self.server.port,
                                            path=f"/{request.url.host}{request.url.path}")
        return self.inner.handle_request(request)


def test_a_paper_not_on_arxiv_is_read_from_the_open_access_copy_openalex_knows_for_its_doi(tmp_path, replay):
    from shared.fulltext.fetch import PdfFetcher
    from shared.http import LocalRateLimiter
    from shared.sources.openalex import OpenAlexSettings, OpenAlexSource

    recorded, api = replay
    pdf_host = ReplayServer().start()
    pdf_host.route("/europepmc.org/articles/pmc4234579", lambda req: pdf(PASA.read_bytes()))
    settings = Settings(data_dir=tmp_path, fulltext={"min_interval_s": 0, "max_attempts": 1})
    openalex = OpenAlexSource(OpenAlexSettings(base_url=f"{api.url}/api.openalex.org", min_interval_s=0),
                              LocalRateLimiter())
    fetcher = PdfFetcher(settings.fulltext, LocalRateLimiter(),
                         client=httpx.Client(transport=ToLoopback(pdf_host.url), follow_redirects=True))
    deps = Deps(settings=settings, ledger=Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite3'}"),
                overrides={"sources": {"openalex": openalex}, "fetcher": fetcher})
    try:
        journal = deps.ledger.upsert_paper(PaperRecord(
            source="crossref", source_id="10.1073/pnas.1414271111", doi="10.1073/pnas.1414271111",
            title="A PNAS paper that arXiv does not hold")).paper_id
        nowhere = deps.ledger.upsert_paper(PaperRecord(source="crossref", source_id="10.1234/none",
                                                       doi="10.1046/j.1365-2699.2003.00795",
                                                       title="A paper OpenAlex has never heard of")).paper_id
        sent = fetch_and_read(FullTextRequested(paper_ids=(journal, nowhere)), deps)
        assert sent == [PapersFound(paper_ids=(journal,))]
        row = deps.ledger.fulltext(journal)
        assert (row.status, row.origin, row.pages) == ("read", "openalex", 15)
        # the best location is the publisher's landing page; the first open-access PDF is Europe PMC's
        assert row.location == "https://europepmc.org/articles/pmc4234579?pdf=render"
        assert "OpenAlex" in deps.ledger.fulltext(nowhere).reason
    finally:
        deps.close()
        openalex.close()
        fetcher.close()
        pdf_host.stop()
