"""From each page's extracted text to clean lines: characters repaired, margins dropped, the
paper's identifiers and title read off its first page.

    clean_pages(pages) -> Pages(lines, arxiv_id, doi, width)
    find_title(first_page_lines, metadata) -> (title, indices of the title lines)

Margins dropped: arXiv side stamps ("arXiv:2501.10120v1 [cs.IR] 17 Jan 2025", its id read first),
bare page numbers at the top or bottom of a page, and running headers/footers (a line, digits aside,
at the top or bottom of at least 40% of the pages, three at least, or of three pages with their page
number in it — unless most lines of most pages repeat so, as in a filled-in template; the first
page's top is left for the title). Pure functions of their input.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections import Counter
from dataclasses import dataclass

LIGATURES = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st",
                           "\u00ad": "", "\u200b": "", "\u200c": "", "\u200d": "", "\ufeff": "",
                           "\u00a0": " ", "\u2009": " ", "\u2002": " ", "\u2003": " ", "\t": " "})
# pdfTeX draws an accent as its own glyph before the letter: pypdf gives "Jim´enez", "M¨uller".
SPACING_ACCENTS = {"´": "\u0301", "¨": "\u0308", "ˆ": "\u0302", "˜": "\u0303", "˘": "\u0306", "ˇ": "\u030c",
                   "˚": "\u030a"}
ACCENTED = re.compile(r"([´¨ˆ˜˘ˇ˚]) ?([^\W\d_])")
ARXIV_ID = r"(\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7})"
ARXIV_STAMP = re.compile(r"arXiv: ?" + ARXIV_ID + r"(?:v\d+)? ?\[[^\]\n]{2,24}\] ?\d{1,2} ?[A-Z][a-z]{2} ?\d{4}")
ARXIV_MENTION = re.compile(r"(?:arXiv: ?|arxiv\.org/(?:abs|pdf)/)" + ARXIV_ID, re.IGNORECASE)
DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>]+)")
PAGE_NUMBER = re.compile(r"^(?:[-–—] ?)?(?:page |p\. ?)?\d{1,4}(?: ?(?:of|/) ?\d{1,4})?(?: ?[-–—])?$", re.IGNORECASE)
BOILERPLATE = re.compile(r"^(preprint|published|accepted|under review|proceedings|journal|vol\.|volume|doi|"
                         r"https?://|www\.|©|copyright|received|research article|original article|article)\b",
                         re.IGNORECASE)
TITLE_STOP = re.compile(r"[∗*†‡§¶@,\d]")
ENDS_WITH_SMALL_WORD = re.compile(r"\b(of|for|and|the|in|on|with|to|a|an|via|from|by)$", re.IGNORECASE)


@dataclass(frozen=True)
class Pages:
    """`lines[i]`: the clean, non-empty lines of page i+1. `width`: the typical length of a body
    line in characters (a column's width), the yardstick of the layout heuristics."""

    lines: tuple[tuple[str, ...], ...]
    arxiv_id: str | None
    doi: str | None
    width: float


def normalize(line: str) -> str:
    """One line with ligatures split, accents joined to their letter, odd spaces made plain."""
    line = line.translate(LIGATURES)
    line = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in line)
    if ACCENTED.search(line):
        line = ACCENTED.sub(lambda m: unicodedata.normalize("NFC", m[2] + SPACING_ACCENTS[m[1]]), line)
    return " ".join(line.split())


def clean_pages(pages: tuple[str, ...] | list[str], metadata: dict[str, str] | None = None) -> Pages:
    """Clean lines per page, and the arXiv id and DOI found before the margins were dropped."""
    raw = [[normalize(line) for line in text.splitlines()] for text in pages]
    raw = [[line for line in lines if line] for lines in raw]
    arxiv_id = None
    for lines in raw:
        for i, line in enumerate(lines):
            stamp = ARXIV_STAMP.search(line)
            if stamp:
                arxiv_id = arxiv_id or stamp[1]
                lines[i] = " ".join((line[: stamp.start()] + line[stamp.end():]).split())
    raw = [[line for line in lines if line] for lines in raw]
    if arxiv_id is None and raw:
        mention = ARXIV_MENTION.search("\n".join(raw[0]))
        arxiv_id = mention[1] if mention else None
    doi = find_doi([" ".join(lines) for lines in raw[:2]] + list((metadata or {}).values()))
    lines = _drop_running_lines([_drop_page_numbers(lines) for lines in raw])
    return Pages(lines=tuple(tuple(page) for page in lines), arxiv_id=arxiv_id, doi=doi, width=_width(lines))


def find_doi(texts: list[str]) -> str | None:
    """The first DOI in `texts`, lowercased, without the punctuation that follows it in prose."""
    for text in texts:
        for match in DOI.finditer(text):
            doi = match[1].rstrip(".,;:'’\"”")
            while doi[-1] in ")]" and doi.count(doi[-1]) > doi.count({")": "(", "]": "["}[doi[-1]]):
                doi = doi[:-1].rstrip(".,;:")
            if len(doi) > 8:
                return doi.lower()
    return None


def find_title(lines: tuple[str, ...], metadata: dict[str, str]) -> tuple[str, list[int]]:
    """The paper's title and the indices of the first-page lines that carry it. The metadata's
    Title wins when it is meaningful (not empty, a file name, 'Untitled' or a template's name)."""
    indices = _title_lines(lines)
    from_page = " ".join(lines[i] for i in indices)
    return _meaningful(metadata.get("Title", "")) or from_page, indices


def _title_lines(lines: tuple[str, ...]) -> list[int]:
    start = 0
    while start < min(3, len(lines)) and BOILERPLATE.match(lines[start]) and (
            len(lines[start].split()) <= 3 or re.search(r"\d", lines[start])):
        start += 1
    if start >= len(lines) or sum(ch.isalpha() for ch in lines[start]) < len(lines[start]) / 2:
        return []
    chosen = [start]
    for i in range(start + 1, min(start + 3, len(lines))):
        current, following = lines[i - 1], lines[i]
        wraps = len(current) >= 35 or ENDS_WITH_SMALL_WORD.search(current)
        if (not wraps or current[-1] in ".:;" or following.endswith(".") or TITLE_STOP.search(following)
                or following.lower().rstrip(":.") in ("abstract", "summary") or len(following) < 3):
            break
        chosen.append(i)
    return chosen


def _meaningful(title: str) -> str | None:
    title = re.sub(r"^Microsoft (?:Word|PowerPoint) - ", "", " ".join(title.split()))
    if len(title) < 8 or " " not in title or re.search(r"\.(pdf|docx?|tex|dvi|ps|indd)$", title, re.IGNORECASE):
        return None
    if title.lower() in ("untitled", "untitled document", "title", "none", "unknown"):
        return None
    return title if sum(ch.isalpha() for ch in title) >= len(title) / 2 else None


def _drop_page_numbers(lines: list[str]) -> list[str]:
    lines = list(lines)
    for _ in range(2):
        if lines and PAGE_NUMBER.match(lines[-1]):
            lines.pop()
    if lines and PAGE_NUMBER.match(lines[0]):
        lines.pop(0)
    return lines


def _drop_running_lines(pages: list[list[str]]) -> list[list[str]]:
    if len(pages) < 4:
        return pages

    def key(line: str) -> str:
        return re.sub(r"\d+", "#", line.lower())

    edges, variants = Counter(), {}
    for lines in pages:
        for line in {line for line in lines[:2] + lines[-2:] if len(line) <= 150}:
            edges[key(line)] += 1
            variants.setdefault(key(line), set()).add(line)
    # A header that carries the page number ("Appendix A: Copying 25") repeats over fewer pages.
    running = {k for k, n in edges.items() if n >= 3 and (n >= 0.4 * len(pages) or
                                                          ("#" in k and len(variants[k]) == n))}
    if not running:
        return pages
    # A document whose pages are mostly the same lines (a template filled in) has no margins to drop.
    anywhere = Counter(k for lines in pages for k in {key(line) for line in lines})
    repeated = [sum(1 for line in lines if anywhere[key(line)] >= 0.4 * len(pages)) / len(lines)
                for lines in pages if lines]
    if repeated and statistics.median(repeated) > 0.5:
        return pages
    cleaned = []
    for number, lines in enumerate(pages):
        n, top = len(lines), 0 if number == 0 else 2  # the first page's top is its title, even if repeated
        cleaned.append([line for i, line in enumerate(lines) if not ((i < top or i >= n - 2) and key(line) in running)])
    return cleaned


def _width(pages: list[list[str]]) -> float:
    lengths = [len(line) for lines in pages for line in lines if len(line) >= 25]
    return float(statistics.median(lengths)) if lengths else 60.0
