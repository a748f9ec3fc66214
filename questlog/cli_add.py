"""`questlog add FILE.pdf | arXiv id | DOI`: put a paper into the library and read it in full.

A local PDF is read (pages, sections, captions; references cut), matched to a paper the library
knows by the arXiv id or DOI printed in it, else by its title, else kept as a new paper; the PDF is
copied into the data directory. An arXiv id is looked up through arXiv and its PDF fetched; a DOI is
looked up through Crossref (else OpenAlex) and its PDF fetched from arXiv or the open-access copy
OpenAlex knows. Either way the reader stores the paper's passages at once; a running stack embeds and links them against
every open question (else the next `questlog up` does). Exit codes as in `questlog.cli`.
"""

from __future__ import annotations

import re
from pathlib import Path

import typer
from rich.markup import escape

add_app = typer.Typer()

DOI = re.compile(r"^(?:doi:|https?://(?:dx\.)?doi\.org/)?(10\.\d{4,9}/\S+)$", re.IGNORECASE)
ARXIV_ID = re.compile(r"^(?:arxiv:|https?://arxiv\.org/(?:abs|pdf)/)?(\d{4}\.\d{4,5})(?:v(\d+))?(?:\.pdf)?$",
                      re.IGNORECASE)


@add_app.command()
def add(target: str = typer.Argument(..., help="A PDF file, an arXiv id (2501.10120, arXiv:2501.10120v2) or a "
                                                "DOI (10.1073/pnas.1414271111)."),
        question: int = typer.Option(None, "--question", "-q",
                                     help="Also record the paper as accepted evidence for this question.")) -> None:
    """Add a paper and read it in full; its passages are linked to every open question."""
    from agents.deps import Deps
    from questlog.cli_common import fail, ledger, out, pipeline_or_none, settings
    from shared.errors import NotFound, PermanentError

    s = settings()
    led = ledger(create=True)
    if question is not None:
        try:
            led.question(question)
        except NotFound as e:
            fail(str(e))
    deps = Deps(settings=s, ledger=led)
    path = Path(target)
    try:
        if path.exists() or target.lower().endswith(".pdf"):
            paper_id = _add_file(deps, path)
        elif (m := ARXIV_ID.match(target.strip())) is not None:
            paper_id = _add_arxiv(deps, m.group(1), int(m.group(2)) if m.group(2) else None)
        elif (m := DOI.match(target.strip())) is not None:
            paper_id = _add_doi(deps, m.group(1))
        else:
            fail(f"{target!r} is neither a file, an arXiv id nor a DOI")
    except PermanentError as e:
        fail(escape(str(e)))
    _store_and_send(deps, paper_id, question, pipeline_or_none(s), out)


def _add_file(deps, path: Path) -> str:
    from agents.reader.fulltext import read_file
    from questlog.cli_common import err, fail
    from shared.errors import PermanentError
    from shared.records import PaperRecord

    if not path.is_file():
        fail(f"no such file: {path}")
    limit = deps.settings.fulltext.max_pdf_mb
    if path.stat().st_size > limit * 1e6:
        fail(f"{path} is {path.stat().st_size / 1e6:.0f} MB, over the {limit:g} MB limit "
             "(QUESTLOG_FULLTEXT__MAX_PDF_MB)")
    data = path.read_bytes()
    try:
        reading = deps.readings.read_pdf(data, max_pages=deps.settings.fulltext.max_pages)
    except PermanentError as e:
        fail(f"cannot read {path}: {getattr(e, 'reason', None) or e}")
    key = deps.readings.key(data)
    abstract = " ".join(p.text for p in reading.passages if p.section.lower() == "abstract" and p.kind == "body")
    record = PaperRecord(source="file", source_id=key[:16], arxiv_id=reading.arxiv_id, doi=reading.doi,
                         title=reading.title or path.stem, abstract=abstract, found_via="added:file")
    upsert = deps.ledger.upsert_paper(record)
    paper = deps.ledger.paper(upsert.paper_id)
    matched = "a new paper" if upsert.status == "new" else f"known paper {paper.canonical_id}"
    err.print(f"read {path.name}: {reading.pages} pages, {len(reading.passages)} passages; {matched}: "
              f"{escape(paper.title[:90])}", highlight=False)
    read_file(deps, paper.id, paper.version, data, key, reason="added")
    return paper.id


def _add_arxiv(deps, arxiv_id: str, version: int | None) -> str:
    from questlog.cli_common import err, fail
    from shared.sources.arxiv import ArxivSource

    source = ArxivSource(deps.settings.arxiv, deps.limiter)
    try:
        record = source.lookup(arxiv_id + (f"v{version}" if version else ""), found_via="added:arxiv")
    finally:
        source.close()
    if record is None:
        fail(f"arXiv has no paper {arxiv_id}")
    paper_id = deps.ledger.upsert_paper(record).paper_id
    paper = deps.ledger.paper(paper_id)
    err.print(f"arXiv {arxiv_id}: {escape(paper.title[:90])}; fetching its PDF", highlight=False)
    return _read_found(deps, paper_id)


def _add_doi(deps, doi: str) -> str:
    """Looked up through Crossref (else OpenAlex); its PDF from arXiv when the paper is there, else the
    open-access copy OpenAlex knows."""
    from questlog.cli_common import err, fail
    from shared.errors import NotFound

    source = deps.sources.get("crossref") or deps.sources.get("openalex")
    if source is None:
        fail("looking a DOI up needs Crossref or OpenAlex (QUESTLOG_CROSSREF__ENABLED, QUESTLOG_OPENALEX__ENABLED)")
    try:
        record = source.work(doi, found_via="added:doi")
    except NotFound as e:
        fail(str(e))
    paper_id = deps.ledger.upsert_paper(record).paper_id
    err.print(f"doi:{doi}: {escape(record.title[:90])}; looking for its full text", highlight=False)
    return _read_found(deps, paper_id)


def _read_found(deps, paper_id: str) -> str:
    from agents.reader.fulltext import fetch_and_read
    from questlog.cli_common import err
    from shared.messages import FullTextRequested

    fetch_and_read(FullTextRequested(paper_ids=(paper_id,), reason="added"), deps)
    row = deps.ledger.fulltext(paper_id)
    if row is None or row.status != "read":
        err.print(f"[yellow]no full text:[/yellow] {escape(row.reason if row else 'not fetched')}; "
                  "the abstract is kept")
    return paper_id


def _store_and_send(deps, paper_id: str, question: int | None, pipe, out) -> None:
    """Store the paper's passages now (the reader agent, in this process), record the user's own link
    when --question was given, and hand the passages to the running stack to embed and link."""
    from agents.reader import graph as reader
    from shared.ledger import EvidenceDraft
    from shared.messages import PapersFound

    sent = reader.run(PapersFound(paper_ids=(paper_id,)), deps)
    passages = deps.ledger.paper_passages(paper_id)
    row = deps.ledger.fulltext(paper_id)
    body = sum(p.kind != "abstract" for p in passages)
    if question is not None and passages:
        first = passages[0]
        eid = deps.ledger.upsert_evidence([EvidenceDraft(
            question_id=question, passage_id=first.id, paper_id=paper_id, score=1.0, scores={}, retrieval="added",
            model="user", model_version="user")])
        deps.ledger.set_verdict(eid[0] if eid else _evidence_id(question, first.id), "accepted")
    if pipe is not None:
        pipe.send(sent)
        pipe.close()
        note = "queued: embedded and linked to every open question now"
    else:
        note = "stored; embedded and linked to every open question when the stack runs (questlog up)"
    state = f"read in full ({row.pages} pages)" if row is not None and row.status == "read" else "abstract only"
    out.print(f"paper {paper_id}: {state}, {len(passages)} passages ({body} from the body)  [dim]({note})[/dim]")


def _evidence_id(question: int, passage_id: str) -> str:
    from shared.ids import evidence_id

    return evidence_id(question, passage_id)
