"""Deterministic ids: the same real-world thing always gets the same id.

Every id is a uuid5 of a canonical key, so a task that runs twice writes the
same rows and points again instead of new ones.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid

NAMESPACE = uuid.UUID("6f1d3c2e-8a4b-5c6d-9e7f-0a1b2c3d4e5f")

_ARXIV_NEW = re.compile(r"^(\d{4}\.\d{4,5})(v(\d+))?$")
_ARXIV_OLD = re.compile(r"^([a-z\-]+(\.[A-Z]{2})?/\d{7})(v(\d+))?$")


def uuid_for(*parts: object) -> str:
    """uuid5 of the parts joined by '|'; parts are stringified."""
    return str(uuid.uuid5(NAMESPACE, "|".join(str(p) for p in parts)))


def split_arxiv_id(raw: str) -> tuple[str, int | None]:
    """'http://arxiv.org/abs/2401.01234v2' -> ('2401.01234', 2).

    Raises ValueError for something that is not an arXiv id.
    """
    tail = raw.strip().rstrip("/")
    for marker in ("/abs/", "/pdf/"):
        if marker in tail:
            tail = tail.split(marker, 1)[1]
    tail = tail.removeprefix("arXiv:").removeprefix("arxiv:").removesuffix(".pdf")
    m = _ARXIV_NEW.match(tail)
    if m:
        return m.group(1), int(m.group(3)) if m.group(3) else None
    m = _ARXIV_OLD.match(tail)
    if m:
        return m.group(1), int(m.group(4)) if m.group(4) else None
    raise ValueError(f"not an arXiv id: {raw!r}")


def paper_id(canonical_key: str) -> str:
    """A paper's id from its version-less canonical key, e.g. 'arxiv:2401.01234'."""
    return uuid_for("paper", canonical_key)


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def passage_id(paper: str, index: int, text: str) -> str:
    """A passage's id: its paper, its position and its content."""
    return uuid_for("passage", paper, index, content_hash(text))


def evidence_id(question_id: int, passage: str) -> str:
    """One evidence link per (question, passage), whatever found it."""
    return uuid_for("evidence", question_id, passage)


def digest_id(question_id: int, window_end: str) -> str:
    return uuid_for("digest", question_id, window_end)


def question_point_id(question_id: int) -> str:
    return uuid_for("question", question_id)


def normalize_text(text: str) -> str:
    """Lower-case, accents folded, alphanumerics only, single spaces: for duplicate detection."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return " ".join(re.findall(r"[a-z0-9]+", folded.lower()))
