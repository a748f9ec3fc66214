"""Reading papers in full: fetch the PDF (or take the user's file), read it, record the outcome.

`fetch_and_read` serves FullTextRequested: for each paper it claims the reading in the ledger
(one fetch per paper version, never two workers at once), finds where its PDF is (arXiv's copy of
its version, else the open-access copy OpenAlex knows for its DOI),
fetches it politely, reads it (cached by content hash) and records `read` or `unavailable` with the
reason — a paper without an obtainable full text is a clear record, not an error that holds up the
rest. The papers read go on as PapersFound: the reader then stores their body passages, which are
embedded, indexed and linked like any other.

`read_file` is the same for a PDF the user adds (`questlog add FILE.pdf`).
"""

from __future__ import annotations

import logging
from pathlib import Path

from agents.deps import Deps
from shared.errors import PermanentError, TransientError
from shared.fulltext.fetch import arxiv_pdf_url
from shared.messages import FullTextRequested, Message, PapersFound

log = logging.getLogger(__name__)


def fetch_and_read(msg: FullTextRequested, deps: Deps) -> list[Message]:
    """Read each paper of `msg` in full where it can be; PapersFound for those read. Idempotent: a paper
    version already read or found unavailable is skipped."""
    settings = deps.settings.fulltext
    read: list[str] = []
    for paper in deps.ledger.papers(list(msg.paper_ids)):
        # a paper the user adds is tried again even when an earlier try found nothing
        if not deps.ledger.claim_fulltext(paper.id, paper.version, again=msg.reason == "added"):
            continue
        try:
            origin, url, why_not = _location(deps, paper)
        except TransientError as err:
            deps.ledger.record_fulltext(paper.id, "unavailable", version=paper.version,
                                        reason=f"could not look for an open-access copy: {err}")
            continue
        if url is None:
            deps.ledger.record_fulltext(paper.id, "unavailable", version=paper.version, reason=why_not)
            continue
        try:
            data = deps.fetcher.fetch(url)
            reading = deps.readings.read_pdf(data, max_pages=settings.max_pages)
        except TransientError as err:  # retried in the fetcher already: recorded, so a user can see it
            deps.ledger.record_fulltext(paper.id, "unavailable", version=paper.version, origin=origin,
                                        location=url, reason=f"could not fetch: {err}")
            log.warning("full text of %s: %s", paper.canonical_id, err)
            continue
        except PermanentError as err:
            deps.ledger.record_fulltext(paper.id, "unavailable", version=paper.version, origin=origin,
                                        location=url, reason=str(err))
            log.info("no full text for %s: %s", paper.canonical_id, err)
            continue
        deps.ledger.record_fulltext(paper.id, "read", version=paper.version, origin=origin, location=url,
                                    reason=msg.reason, content_hash=deps.readings.key(data),
                                    pages=reading.pages, passages=len(reading.passages))
        read.append(paper.id)
    return [PapersFound(paper_ids=tuple(read))] if read else []


def _location(deps: Deps, paper) -> tuple[str, str | None, str]:
    """(origin, PDF URL or None, why none): arXiv's PDF of the paper's version, else the open-access copy
    OpenAlex knows for its DOI. Raises TransientError when OpenAlex cannot be asked now."""
    url = arxiv_pdf_url(deps.settings.fulltext.arxiv_pdf_url, paper.canonical_id, paper.version)
    if url is not None:
        return "arxiv", url, ""
    dois = [k.removeprefix("doi:") for k in deps.ledger.paper_keys([paper.id])[paper.id] if k.startswith("doi:")]
    openalex = deps.sources.get("openalex")
    if not dois:
        return "", None, "no open full-text location known (not on arXiv, and no DOI to look one up by)"
    if openalex is None:
        return "", None, "not on arXiv; OpenAlex, which finds open-access copies by DOI, is disabled"
    try:
        pdf = openalex.open_pdf(dois[0])
    except PermanentError as err:
        return "", None, f"not on arXiv; OpenAlex: {err}"
    if pdf is None:
        return "", None, f"not on arXiv, and OpenAlex knows no open-access PDF of doi:{dois[0]}"
    return "openalex", pdf, ""


def keep_file(deps: Deps, data: bytes, key: str) -> Path:
    """The user's PDF, copied into the data directory under its content hash (links to its pages
    must outlive the original file)."""
    folder = deps.settings.data_dir / "pdfs"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{key}.pdf"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return path


def read_file(deps: Deps, paper_id: str, version: int | None, data: bytes, reading_key: str, reason: str) -> None:
    """Record a PDF the user added as `paper_id`'s reading (replacing an earlier one)."""
    deps.ledger.claim_fulltext(paper_id, version, again=True)
    reading = deps.readings.read_pdf(data, max_pages=deps.settings.fulltext.max_pages)
    path = keep_file(deps, data, reading_key)
    deps.ledger.record_fulltext(paper_id, "read", version=version, origin="file", location=str(path), reason=reason,
                                content_hash=reading_key, pages=reading.pages, passages=len(reading.passages))


