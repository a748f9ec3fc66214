"""Messages the agents exchange through Celery.

Each is a frozen pydantic model that carries ids, never documents (text lives
in the ledger, vectors in a short-lived blob), with a `kind`, a
`schema_version` and a `dedup_key`: two deliveries of the same message have the
same key, so the worker can recognise the second one.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict


class Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: ClassVar[str] = "message"
    schema_version: int = 1

    @property
    def dedup_key(self) -> str:
        body = self.model_dump_json()
        return f"{self.kind}:{hashlib.sha256(body.encode()).hexdigest()[:24]}"


class CrawlRequested(Message):
    """Crawl one feed (a firehose category or one question's search) from its cursor on."""

    kind: ClassVar[str] = "crawl.requested"
    source: str = "arxiv"
    feed: str  # "category:cs.CL" or "question:3"
    requested_at: datetime
    page: int = 0  # a crawl takes one page per task and sends itself on for the next


class PapersFound(Message):
    kind: ClassVar[str] = "papers.found"
    paper_ids: tuple[str, ...]


class EmbedRequested(Message):
    """Embed passages, or one question, with every configured model."""

    kind: ClassVar[str] = "embed.requested"
    target: Literal["passages", "question"]
    ids: tuple[str, ...]


class VectorsReady(Message):
    """Vectors for `ids` wait in the blob store under `blob_key` until indexed."""

    kind: ClassVar[str] = "vectors.ready"
    target: Literal["passages", "question"]
    ids: tuple[str, ...]
    blob_key: str


class LinkRequested(Message):
    """Link new passages against every open question ('passages': passage ids), or questions against the
    corpus ('backfill'; 'feedback' after the user's verdicts changed; 'relink' once the library has grown
    well past the one its links were judged in: question ids). `basis` tells one verdict state (or, for
    'relink', one library size) from the next, so a later request is not taken for a repeat of an earlier one."""

    kind: ClassVar[str] = "link.requested"
    mode: Literal["passages", "backfill", "feedback", "relink"]
    ids: tuple[str, ...]
    basis: str = ""


class FullTextRequested(Message):
    """Fetch and read these papers in full (the reader then stores their body passages)."""

    kind: ClassVar[str] = "fulltext.requested"
    paper_ids: tuple[str, ...]
    reason: Literal["relevant", "accepted", "added", "all"] = "relevant"


class DigestRequested(Message):
    kind: ClassVar[str] = "digest.requested"
    question_id: int
    window_end: datetime


ALL_MESSAGES: tuple[type[Message], ...] = (
    CrawlRequested,
    PapersFound,
    EmbedRequested,
    VectorsReady,
    LinkRequested,
    FullTextRequested,
    DigestRequested,
)
