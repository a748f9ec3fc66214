"""A paper read in full: its cleaned text, where each page starts, and its body passages.

    read_pdf(data, max_pages=300) -> Reading          raises UnreadableDocument (shared.fulltext.pdf)

The steps, each its own module: pypdf's text per page (`pdf`); margins, identifiers and the title
(`layout`); what each line is — heading, body, caption, footnote, reference, debris (`structure`);
one text with floats moved out of sentences and line breaks folded (`flow`); passages of a few
sentences (`passages`). Reading the same bytes twice gives an equal Reading (no clock, no randomness).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import asdict, dataclass, replace

from shared.fulltext import flow, layout, passages, structure
from shared.fulltext.pdf import EXTRACTOR, read_pages
from shared.fulltext.structure import Line

SCHEMA = 1


@dataclass(frozen=True)
class BodyPassage:
    """A few sentences of the paper's body, or one caption. `text == reading.text[start:end]`;
    `page` is the 1-based page it starts on; `section` the heading it is under ("5.2 Main Results";
    "" before the first heading, "Abstract" for the abstract)."""

    text: str
    kind: str  # "body" | "caption"
    page: int
    section: str
    start: int
    end: int


@dataclass(frozen=True)
class Reading:
    """What was read from one PDF. `references_at`: where the references heading begins in `text`
    (None if there is none); nothing from there to the first appendix is a passage."""

    text: str
    page_starts: tuple[int, ...]
    pages: int
    title: str
    doi: str | None
    arxiv_id: str | None
    passages: tuple[BodyPassage, ...]
    references_at: int | None
    extractor: str

    def page_of(self, offset: int) -> int:
        """The 1-based page that `offset` in `text` falls on."""
        return max(1, min(self.pages, bisect_right(self.page_starts, offset)))

    def sections(self) -> list[str]:
        """The section headings that hold passages, in reading order."""
        return list(dict.fromkeys(p.section for p in self.passages))

    def to_json(self) -> dict:
        """A JSON-ready dict; `from_json` gives back an equal Reading."""
        data = asdict(self)
        data["schema"] = SCHEMA
        data["page_starts"] = list(self.page_starts)
        data["passages"] = [asdict(p) for p in self.passages]
        return data

    @classmethod
    def from_json(cls, data: dict) -> Reading:
        """Raises KeyError, TypeError or ValueError on a dict that is not a stored Reading."""
        if data.get("schema") != SCHEMA:
            raise ValueError(f"reading schema {data.get('schema')!r}, expected {SCHEMA}")
        passages = tuple(BodyPassage(**p) for p in data["passages"])
        reading = cls(text=data["text"], page_starts=tuple(int(s) for s in data["page_starts"]),
                      pages=int(data["pages"]), title=data["title"], doi=data["doi"], arxiv_id=data["arxiv_id"],
                      passages=passages, references_at=data["references_at"], extractor=data["extractor"])
        if len(reading.page_starts) != reading.pages or any(
                reading.text[p.start:p.end] != p.text for p in passages):
            raise ValueError("stored reading is inconsistent")
        return reading


def read_pdf(data: bytes, *, max_pages: int = 300) -> Reading:
    """Read the PDF `data` in full (see the module doc). Raises UnreadableDocument: not a PDF,
    encrypted, truncated or damaged, no extractable text, or over `max_pages` pages."""
    raw = read_pages(data, max_pages)
    pages = layout.clean_pages(raw.pages, raw.metadata)
    first = pages.lines[0] if pages.lines else ()
    title, title_lines = layout.find_title(first, raw.metadata)
    lines = [Line(text, page=number) for number, page_lines in enumerate(pages.lines, 1) for text in page_lines]
    for i in title_lines:
        lines[i].kind, lines[i].block = "title", 0
    structure.classify(lines, pages.width)
    joined = flow.build(lines, len(raw.pages), pages.width)
    spans = passages.cut(joined.text, joined.runs)
    reading = Reading(text=joined.text, page_starts=joined.page_starts, pages=len(raw.pages), title=title,
                      doi=pages.doi, arxiv_id=pages.arxiv_id, passages=(), references_at=joined.references_at,
                      extractor=EXTRACTOR)
    found = tuple(BodyPassage(text=joined.text[s.start:s.end], kind=s.kind, page=reading.page_of(s.start),
                              section=s.section, start=s.start, end=s.end) for s in spans)
    return replace(reading, passages=found)
