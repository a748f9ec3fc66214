"""Replay a real arXiv snapshot through the arXiv API's Atom format.

Serves `/api/query` like export.arxiv.org: `search_query` (fields all/ti/abs/au/
cat/id, quoted phrases, AND/OR/ANDNOT, parentheses), `id_list`, `start`,
`max_results`, sorted by submission date, newest first, or with `sortBy=relevance` by how
well each paper matches (`relevance`: a small stand-in for arXiv's Lucene ranking). Only papers
listed on or before the simulated `today` are visible, so the demo can advance day by day.
"""

from __future__ import annotations

import gzip
import json
import math
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from xml.sax.saxutils import escape

from questlog.replay.server import Reply, Request

SNAPSHOT = Path(__file__).parent / "data" / "arxiv_cs_snapshot.jsonl.gz"
# older papers that only a question's search reaches in the demo (scripts/make_demo_snapshot.py --archive)
ARCHIVE = Path(__file__).parent / "data" / "arxiv_cs_archive.jsonl.gz"
_TOKEN = re.compile(r'\(|\)|"[^"]*"|[^\s()]+')


@dataclass(frozen=True)
class SnapshotPaper:
    arxiv_id: str
    title: str
    authors: tuple[str, ...]
    categories: tuple[str, ...]
    summary: str
    listing_date: date
    published: datetime

    def field(self, name: str) -> str:
        if name == "ti":
            return self.title.lower()
        if name == "abs":
            return self.summary.lower()
        if name == "au":
            return " ".join(self.authors).lower()
        if name == "cat":
            return " ".join(self.categories).lower()
        if name == "id":
            return self.arxiv_id
        return f"{self.title} {self.summary} {' '.join(self.authors)}".lower()


def load_snapshot(path: Path = SNAPSHOT) -> list[SnapshotPaper]:
    """Papers newest first. Submission time: the evening before the listing day, in id order."""
    return papers_of([json.loads(line) for line in gzip.open(path, "rt")])


def papers_of(rows: list[dict]) -> list[SnapshotPaper]:
    """Snapshot rows (id, title, authors, categories, summary, listing_date) as papers, newest first."""
    rows = sorted(rows, key=lambda r: (r["listing_date"], r["id"]))
    papers = []
    for i, r in enumerate(rows):
        day = date.fromisoformat(r["listing_date"])
        published = datetime.combine(day - timedelta(days=1), time(14, 0), timezone.utc) + timedelta(seconds=i)
        papers.append(SnapshotPaper(r["id"], " ".join(r["title"].split()), tuple(r["authors"]),
                                    tuple(r["categories"]), " ".join(r["summary"].split()), day, published))
    papers.sort(key=lambda p: (p.published, p.arxiv_id), reverse=True)
    return papers


def listing_days(papers: list[SnapshotPaper]) -> list[date]:
    return sorted({p.listing_date for p in papers})


class QuerySyntaxError(ValueError):
    pass


def compile_query(query: str):
    """arXiv search_query -> predicate(paper) -> bool."""
    tokens = _TOKEN.findall(query)
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> str:
        nonlocal pos
        if pos >= len(tokens):
            raise QuerySyntaxError(f"query ends too early: {query!r}")
        pos += 1
        return tokens[pos - 1]

    def term():
        tok = take()
        if tok == "(":
            inner = expr()
            if take() != ")":
                raise QuerySyntaxError(f"unbalanced parentheses in {query!r}")
            return inner
        fieldname, _, value = tok.partition(":") if ":" in tok else ("all", "", tok)
        if value.startswith('"') and not (value.endswith('"') and len(value) > 1):
            while not value.endswith('"'):  # a phrase the tokenizer split at a parenthesis
                value += " " + take()
        needle = value.strip('"').lower()
        if fieldname == "cat":
            return lambda p: any(c.lower() == needle or c.lower().startswith(needle + ".") for c in p.categories)
        words = needle.split()
        if len(words) > 1:
            return lambda p: needle in p.field(fieldname)
        pattern = re.compile(rf"\b{re.escape(needle)}\b")
        return lambda p: bool(pattern.search(p.field(fieldname)))

    def expr():
        left = term()
        while peek() in ("AND", "OR", "ANDNOT"):
            op, right = take(), term()
            left = _combine(op, left, right)
        return left

    if not tokens:
        raise QuerySyntaxError("empty search_query")
    pred = expr()
    if pos != len(tokens):
        raise QuerySyntaxError(f"unexpected {tokens[pos]!r} in {query!r}")
    return pred


def _combine(op, left, right):
    if op == "AND":
        return lambda p: left(p) and right(p)
    if op == "OR":
        return lambda p: left(p) or right(p)
    return lambda p: left(p) and not right(p)


class ArxivReplay:
    """The handler; `today` is the simulated listing day (None: everything is visible)."""

    def __init__(self, papers: list[SnapshotPaper] | None = None, today: date | None = None) -> None:
        self.papers = papers if papers is not None else load_snapshot()
        self.today = today

    def visible(self) -> list[SnapshotPaper]:
        return [p for p in self.papers if self.today is None or p.listing_date <= self.today]

    def __call__(self, req: Request) -> Reply:
        try:
            start = int(req.arg("start", "0"))
            size = min(int(req.arg("max_results", "10")), 2000)
        except ValueError:
            return _error_feed("start and max_results must be integers")
        ids = [i for i in (req.arg("id_list", "") or "").split(",") if i]
        query = req.arg("search_query", "") or ""
        pool = visible = self.visible()
        try:
            if query:
                pred = compile_query(query)
                pool = [p for p in pool if pred(p)]
        except QuerySyntaxError as err:
            return _error_feed(str(err))
        if ids:
            bare = {i.split("v")[0] if re.match(r"^\d{4}\.\d+v\d+$", i) else i for i in ids}
            pool = [p for p in pool if p.arxiv_id in bare]
        if query and req.arg("sortBy") == "relevance":
            pool = relevance(query, pool, visible)
        if req.arg("sortOrder") == "ascending":
            pool = pool[::-1]
        return Reply(200, render_feed(pool[start:start + size], len(pool), start, size), "application/atom+xml")


def query_terms(query: str) -> list[tuple[str, str]]:
    """The (field, lower-cased phrase) pairs a query asks for, leaving out what ANDNOT excludes and `cat:`."""
    out, negate = [], False
    tokens = iter(_TOKEN.findall(query))
    for tok in tokens:
        if tok in ("AND", "OR", "(", ")"):
            continue
        if tok == "ANDNOT":
            negate = True
            continue
        fieldname, _, value = tok.partition(":") if ":" in tok else ("all", "", tok)
        while value.startswith('"') and not (value.endswith('"') and len(value) > 1):
            value += " " + next(tokens, '"')  # a phrase the tokenizer split at its spaces
        if not negate and fieldname != "cat" and value.strip('"'):
            out.append((fieldname, value.strip('"').lower()))
        negate = False
    return list(dict.fromkeys(out))


def relevance(query: str, pool: list[SnapshotPaper], corpus: list[SnapshotPaper] | None = None) -> list[SnapshotPaper]:
    """The pool best match first, by BM25 (k1 1.2, b 0.75, as Lucene) with each phrase of the query
    as one term counted in its field, document frequencies and lengths over `corpus` (default: the
    pool; the replay passes every visible paper, as an index holds them all); ties keep the newest
    first (the pool's order)."""
    terms = query_terms(query)
    corpus = pool if corpus is None else corpus
    fields = {f for f, _ in terms}
    texts = {name: [p.field(name) for p in pool] for name in fields}
    indexed = {name: [p.field(name) for p in corpus] for name in fields}  # each field's text built once
    counts = {t: [text.count(t[1]) for text in texts[t[0]]] for t in terms}
    lengths = {name: [len(text.split()) for text in rows] for name, rows in texts.items()}
    mean = {name: (sum(len(text.split()) for text in rows) / len(rows) if rows else 1.0) or 1.0
            for name, rows in indexed.items()}
    scores = [0.0] * len(pool)
    for t, tf in counts.items():
        df = sum(1 for text in indexed[t[0]] if t[1] in text)
        idf = math.log(1 + (len(corpus) - df + 0.5) / (df + 0.5))
        for i, c in enumerate(tf):
            if c:
                norm = 1.2 * (0.25 + 0.75 * lengths[t[0]][i] / mean[t[0]])
                scores[i] += idf * c * 2.2 / (c + norm)
    order = sorted(range(len(pool)), key=lambda i: -scores[i])
    return [pool[i] for i in order]


def _error_feed(message: str) -> Reply:
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" '
            f'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/"><id>https://arxiv.org/</id>'
            f"<title>arXiv Search Results</title><opensearch:totalResults>1</opensearch:totalResults>"
            f"<entry><id>https://arxiv.org/api/errors#{escape(message[:80].replace(' ', '_'))}</id>"
            f"<title>Error</title><summary>{escape(message)}</summary></entry></feed>")
    return Reply(400, body.encode(), "application/atom+xml")


def render_feed(papers: list[SnapshotPaper], total: int, start: int, size: int) -> bytes:
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" '
             'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" xmlns:arxiv="http://arxiv.org/schemas/atom">',
             "<id>https://arxiv.org/api/replay</id><title>arXiv Query (replay)</title>",
             f"<opensearch:itemsPerPage>{size}</opensearch:itemsPerPage>",
             f"<opensearch:totalResults>{total}</opensearch:totalResults>",
             f"<opensearch:startIndex>{start}</opensearch:startIndex>"]
    for p in papers:
        stamp = p.published.strftime("%Y-%m-%dT%H:%M:%SZ")
        parts.append(f"<entry><id>http://arxiv.org/abs/{p.arxiv_id}v1</id><updated>{stamp}</updated>"
                     f"<published>{stamp}</published><title>{escape(p.title)}</title>"
                     f"<summary>{escape(p.summary)}</summary>")
        parts.extend(f"<author><name>{escape(a)}</name></author>" for a in p.authors)
        parts.append(f'<link href="https://arxiv.org/abs/{p.arxiv_id}v1" rel="alternate" type="text/html"/>')
        if p.categories:
            parts.append(f'<arxiv:primary_category term="{escape(p.categories[0])}"/>')
        parts.extend(f'<category term="{escape(c)}" scheme="http://arxiv.org/schemas/atom"/>' for c in p.categories)
        parts.append("</entry>")
    parts.append("</feed>")
    return "".join(parts).encode("utf-8")
