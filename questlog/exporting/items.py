"""What an export carries: one `ExportItem` per evidence link, read from the ledger, with a BibTeX key.

Which links: every link of the questions asked for except rejected ones (KEPT), only accepted
ones (ACCEPTED), or all of them (ANY).
A key is the first author's surname, the year and a short hash of the paper's canonical id
(`vaswani2017a1b2`): the same paper gets the same key in every export, and two papers in one
file never share one (a collision lengthens the hash of the papers involved, and only theirs).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime

from shared.ledger import Ledger, as_utc

KEPT = ("accepted", None)  # every link but rejected ones
ACCEPTED = ("accepted",)
ANY = ("accepted", "rejected", None)
_HASH_CHARS = 4


@dataclass(frozen=True)
class ExportItem:
    """One evidence link with its question and its paper, as every format needs it."""

    question_id: int
    question: str
    question_status: str
    evidence_id: str
    found_at: datetime
    score: float
    stance: str
    answer: str
    rationale: str
    verdict: str | None
    note: str | None
    model: str
    retrieval: str
    passage: str
    passage_index: int
    paper: str  # the canonical id without version: arxiv:2401.01234, doi:10.1/x, ...
    version: int | None
    title: str
    authors: tuple[str, ...]
    published: date | None
    doi: str | None
    url: str | None
    abstract: str
    key: str = ""  # the BibTeX key, set by `collect`

    @property
    def year(self) -> int | None:
        return self.published.year if self.published else None

    @property
    def says(self) -> str:
        """The link's answer (yes/no questions), else its stance; 'evidence' when it takes no side."""
        return self.answer or (self.stance if self.stance in ("supports", "contradicts") else "evidence")

    @property
    def arxiv_id(self) -> str | None:
        if not self.paper.startswith("arxiv:"):
            return None
        return self.paper.removeprefix("arxiv:") + (f"v{self.version}" if self.version else "")


def collect(ledger: Ledger, question_ids: Iterable[int], verdicts: tuple = KEPT) -> list[ExportItem]:
    """The links of these questions (in this order, each best first) whose verdict is among `verdicts`,
    keys assigned. Raises NotFound for an unknown question id before reading any evidence."""
    questions = [ledger.question(q) for q in question_ids]
    views = [(q, e) for q in questions for e in ledger.evidence(q.id, verdicts=verdicts)]
    papers = {p.id: p for p in ledger.papers(sorted({e.paper_id for _, e in views}))}
    keys = ledger.paper_keys(sorted(papers))
    passages = {p.id: p for p in ledger.passages(sorted({e.passage_id for _, e in views}))}
    items = []
    for q, e in views:
        p = papers[e.paper_id]
        doi = next((k.removeprefix("doi:") for k in keys[p.id] if k.startswith("doi:")), None)
        published = as_utc(p.published or p.updated)
        items.append(ExportItem(
            question_id=q.id, question=q.text, question_status=q.status, evidence_id=e.id,
            found_at=as_utc(e.found_at), score=e.score, stance=e.stance, answer=e.answer,
            rationale=e.rationale, verdict=e.verdict, note=e.note, model=e.model, retrieval=e.retrieval,
            passage=e.passage, passage_index=passages[e.passage_id].index, paper=p.canonical_id,
            version=p.version, title=p.title, authors=tuple(p.authors or ()),
            published=published.date() if published else None, doi=doi, url=p.url, abstract=p.abstract or ""))
    named = bibtex_keys({(i.paper, i.authors[0] if i.authors else "", i.year) for i in items})
    return [_with_key(i, named[i.paper]) for i in items]


def bibtex_keys(papers: set[tuple[str, str, int | None]]) -> dict[str, str]:
    """{canonical id: key} for (canonical id, first author, year) triples; keys unique among them."""
    by_key: dict[str, list[tuple[str, str, int | None]]] = {}
    for paper in papers:
        by_key.setdefault(_key(*paper, _HASH_CHARS), []).append(paper)
    keys = {}
    for key, group in by_key.items():
        if len({p[0] for p in group}) == 1:
            keys.update({p[0]: key for p in group})
            continue
        # Lengthen the hash for these papers only, until their keys differ (a sha1 has 40 characters).
        for n in range(_HASH_CHARS + 1, 41):
            longer = {p[0]: _key(*p, n) for p in group}
            if len(set(longer.values())) == len(longer):
                keys.update(longer)
                break
    return keys


def surname(author: str) -> str:
    """'Ashish Vaswani' or 'Vaswani, Ashish' -> 'Vaswani'."""
    author = author.strip()
    if "," in author:
        return author.split(",", 1)[0].strip()
    return author.split()[-1] if author.split() else ""


def given_names(author: str) -> str:
    author = author.strip()
    if "," in author:
        return author.split(",", 1)[1].strip()
    return " ".join(author.split()[:-1])


def _key(paper: str, first_author: str, year: int | None, hash_chars: int) -> str:
    folded = unicodedata.normalize("NFKD", surname(first_author)).encode("ascii", "ignore").decode("ascii")
    name = re.sub(r"[^a-z]", "", folded.lower()) or "anon"
    return f"{name}{year or 'nd'}{hashlib.sha1(paper.encode('utf-8')).hexdigest()[:hash_chars]}"


def _with_key(item: ExportItem, key: str) -> ExportItem:
    return replace(item, key=key)
