"""What a source says about one paper, before it is merged into the ledger."""

from __future__ import annotations

import hashlib
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.ids import normalize_text, split_arxiv_id

_ARXIV_DOI_PREFIX = "10.48550/arxiv."
_MIN_TITLE_WORDS = 3


class PaperRecord(BaseModel):
    """One source's view of one paper. Sources produce these; the ledger merges them.

    At least one of the ids or a title must be set. `found_via` says how it was
    found: 'firehose:cs.CL', 'search:question:3', 'citation:<paper id>', 'recommendation'.
    """

    model_config = ConfigDict(frozen=True)

    source: str
    source_id: str
    arxiv_id: str | None = None  # without version
    arxiv_version: int | None = None
    doi: str | None = None
    s2_id: str | None = None
    openalex_id: str | None = None
    title: str
    authors: tuple[str, ...] = ()
    abstract: str = ""
    published: datetime | None = None
    updated: datetime | None = None
    categories: tuple[str, ...] = ()
    url: str | None = None
    found_via: str = "search"
    extra: dict[str, str] = Field(default_factory=dict)

    def identity_keys(self) -> list[str]:
        """Every key under which this paper may already be known, strongest first.

        Keys are normalised so that two sources spelling the same id differently
        agree: an arXiv id loses its version and any 'arXiv:'/URL wrapping, a DOI
        is lower-cased and loses a 'https://doi.org/' or 'doi:' prefix, an
        OpenAlex id loses its URL. An arXiv DOI (10.48550/arxiv.<id>) also yields
        the arXiv key when the record has no arXiv id of its own, which is how a
        DOI-only record meets arXiv's; a record has at most one arXiv key.
        The title key (normalised title | first author's surname) is the weakest
        and is left out for titles of fewer than three words, which collide too
        easily ('Introduction', 'Security'). Never empty: with no id and a short
        title, the title key is kept; with no title either, a source-scoped key is used.
        """
        keys: list[str] = []
        if self.extra.get("local_corpus_id"):  # a document of a local corpus (an eval set) is known by its own id only
            return [f"corpus:{self.source}:{self.extra['local_corpus_id']}"]

        def add(key: str) -> None:
            key = bounded_key(key)
            if key not in keys:
                keys.append(key)

        if self.arxiv_id:
            add(f"arxiv:{_arxiv_key(self.arxiv_id)}")
        doi = _doi_key(self.doi) if self.doi else ""
        if doi.startswith(_ARXIV_DOI_PREFIX) and not self.arxiv_id:
            add(f"arxiv:{_arxiv_key(doi.removeprefix(_ARXIV_DOI_PREFIX))}")
        if doi:
            add(f"doi:{doi}")
        if self.s2_id:
            add(f"s2:{self.s2_id.strip().lower()}")
        if self.openalex_id:
            add(f"openalex:{self.openalex_id.strip().rstrip('/').rsplit('/', 1)[-1].upper()}")
        title = normalize_text(self.title)
        if title:
            first = normalize_text(self.authors[0]).split()[-1:] if self.authors else []
            if len(title.split()) >= _MIN_TITLE_WORDS or not keys:
                add(f"title:{title}|{first[0] if first else ''}")
        if not keys:
            add(f"source:{self.source}:{self.source_id}")
        return keys

    @property
    def version_label(self) -> str:
        if self.arxiv_id:
            return f"arxiv:{self.arxiv_id}" + (f"v{self.arxiv_version}" if self.arxiv_version else "")
        return self.identity_keys()[0]


MAX_KEY = 280  # the ledger's id columns are 300 characters (PostgreSQL enforces it)


def bounded_key(key: str) -> str:
    """The key itself when it fits MAX_KEY; else its first characters and a hash of the whole, so a
    655-character title still names one paper, the same one every time."""
    if len(key) <= MAX_KEY:
        return key
    return f"{key[:MAX_KEY - 17]}#{hashlib.sha1(key.encode()).hexdigest()[:16]}"


def _arxiv_key(raw: str) -> str:
    """'arXiv:2401.01234v2' -> '2401.01234'; something unrecognisable is kept, lower-cased."""
    try:
        return split_arxiv_id(raw)[0]
    except ValueError:
        return raw.strip().lower()


def _doi_key(raw: str) -> str:
    doi = raw.strip().lower()
    for prefix in ("https://doi.org/", "http://doi.org/", "https://dx.doi.org/", "http://dx.doi.org/", "doi:"):
        doi = doi.removeprefix(prefix)
    return doi
