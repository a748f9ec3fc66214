"""Fetching a paper's PDF, politely: one request at a time per host (`fulltext.min_interval_s`,
arXiv's 3-second rule), a size cap, a timeout and capped retries (`shared.http.PoliteClient`),
and a content-type check.

    timeout, 5xx, 429       -> retried in PoliteClient, then TransientError(exhausted=True)
    404                     -> NotFound
    other 4xx, over the cap -> PermanentError
    not a PDF content type  -> PermanentError naming what was served
A body served as application/pdf that is not one (an HTML error page) is caught by the reading.
"""

from __future__ import annotations

import httpx

from shared.errors import PermanentError
from shared.http import PoliteClient, RateLimiter

PDF_TYPES = ("application/pdf", "application/x-pdf", "application/octet-stream", "binary/octet-stream")


class PdfFetcher:
    def __init__(self, settings, limiter: RateLimiter, client: httpx.Client | None = None) -> None:
        """`settings`: a `shared.settings.FullTextSettings`."""
        self.settings = settings
        self.client = client or httpx.Client(timeout=settings.timeout_s, follow_redirects=True,
                                             headers={"User-Agent": "questlog/0.1 (self-hosted research assistant)"})
        self.http = PoliteClient(self.client, limiter=limiter, interval_s=settings.min_interval_s,
                                 max_attempts=settings.max_attempts, max_bytes=int(settings.max_pdf_mb * 1e6))

    def fetch(self, url: str) -> bytes:
        """The PDF's bytes. Raises NotFound, PermanentError or TransientError (see the module doc)."""
        response = self.http.get(url)
        served = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if served and served not in PDF_TYPES:
            raise PermanentError(f"{url}: served {served}, not a PDF")
        return response.content

    def close(self) -> None:
        self.client.close()


def arxiv_pdf_url(template: str, canonical_id: str, version: int | None) -> str | None:
    """The PDF address of an arXiv paper (`arxiv:2501.10120`, version 1 -> .../2501.10120v1), or None
    for a paper arXiv does not hold. The version is part of the address: one fetch per version."""
    if not canonical_id.startswith("arxiv:"):
        return None
    return template.format(id=canonical_id.removeprefix("arxiv:") + (f"v{version}" if version else ""))
