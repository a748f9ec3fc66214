"""What each line of a paper is: heading, body, caption, footnote, reference, or debris.

    classify(lines, width) -> the same lines, each with `kind` and `section` set

Kinds: "title" (set by the caller), "heading", "body", "caption" (a "Figure 1:" / "Fig. 2." /
"Table 4:" line and its continuation), "footnote", "reference" (from a References/Bibliography
heading to the first appendix heading), "debris" (a figure's labels, a table's cells: floats that
`flow` may move out of a sentence), "math" (a display equation or a stray table row: left in place).
A run-in "Abstract—We present ..." on the first two pages is split into its heading and its text.

Headings are numbered ("5.2 Main Results", "A.1 ...", "Appendix B"), known words on their own line
("Abstract", "Conclusions", "References"), or — only in a paper with no numbered headings — a short
capitalised line between a finished sentence and a paragraph. A numbered heading must fit the
numbering so far (after 4.2 come 4.3, 4.4 or 5), which keeps table rows and list items out.
The rules are heuristics tuned on pdfTeX papers; `width` is a body line's typical length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.fulltext.prose import ends_sentence, is_prose

CAPTION = re.compile(r"^(?:Figure|FIGURE|Fig\.|FIG\.|Table|TABLE|Tab\.)\s?(?:S?\d{1,3}|[IVX]{1,5})[a-z]?\s?[:.|]")
FOOTNOTE = re.compile(r"^(?:[∗*†‡§¶]|\d{1,2}(?!st\b|nd\b|rd\b|th\b)(?=https?:|www\.|[a-z]{2,}|[A-Z][a-z]{2,}))")
NUMBERED = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,3})(\.?)\s(\S.*)$")
LETTERED = re.compile(r"^([A-Z])((?:\.\d{1,2}){0,2})\.?\s(\S.*)$")
APPENDIX = re.compile(r"^(?:Appendix|APPENDIX|Appendices|APPENDICES|Supplementary|SUPPLEMENTARY)\b"
                      r"(?:\s([A-Z])(?:\.(\d{1,2}))?\b)?[:.]?\s*(.*)$")
NUMERIC_TOKEN = re.compile(r"[-+±–—(\[]*(?:\d[\d.,:/%×x]*|[.,]\d+)[)\]%∗*†‡]*[.,;]?|[-–—/]|n/?a", re.IGNORECASE)
MATH = set("=∑∫∈∉≈≤≥×→←↔∂∆∇≠±∀∃⊂⊆∪∩√∞")
KNOWN = {"abstract", "introduction", "background", "related work", "related works", "method", "methods",
         "methodology", "materials and methods", "methods and materials", "experiments", "experimental section",
         "results", "results and discussion", "discussion", "conclusion", "conclusions", "conclusion and outlook",
         "conclusions and outlook", "conclusion and future work", "conclusions and future work", "summary",
         "limitations", "acknowledgements", "acknowledgments", "acknowledgement", "acknowledgment",
         "references", "bibliography", "literature cited", "works cited", "data availability",
         "data availability statement", "code availability", "author contributions", "competing interests",
         "conflict of interest", "conflicts of interest", "funding", "ethics statement", "broader impact",
         "supporting information", "theory", "applications", "outlook", "future work", "preliminaries"}
REFERENCES = {"references", "bibliography", "literature cited", "works cited"}
ABSTRACT_RUN_IN = re.compile(r"^(Abstract|ABSTRACT)\s?[.:—–-]\s?(\S.*)$")
CITES = re.compile(r"\b(?:in|see|of|and|or|from|by|to|with|on|also|as|cf\.|Appendix)$", re.IGNORECASE)


@dataclass
class Line:
    """One clean line of a page (1-based `page`); `block` ties a caption's or a footnote's lines together."""

    text: str
    page: int
    kind: str = "body"
    section: str = ""
    block: int = -1


def classify(lines: list[Line], width: float) -> list[Line]:
    """Set every line's kind and section (see the module doc); returns `lines`, changed in place."""
    for i, line in enumerate(lines):
        run_in = ABSTRACT_RUN_IN.match(line.text) if line.kind == "body" and line.page <= 2 else None
        if run_in and len(run_in[2]) >= 30 and is_prose(run_in[2]):
            lines[i:i + 1] = [Line(run_in[1], line.page), Line(run_in[2], line.page)]
            break
    for i, line in enumerate(lines):
        if line.kind != "body":
            continue
        previous = lines[i - 1] if i else None
        caption = CAPTION.match(line.text)
        if caption and not (caption[0].endswith(".") and previous and previous.page == line.page
                            and previous.kind == "body" and CITES.search(previous.text)):
            line.kind, line.block = "caption", i
        elif FOOTNOTE.match(line.text):
            line.kind, line.block = "footnote", i
        elif is_debris(line.text) and not _continues(previous, line, width):
            line.kind = "math"
    numbered = _Headings(lines, width, generic=False).count_numbered()
    _Headings(lines, width, generic=numbered < 2).mark()
    _continue_blocks(lines, width)
    _mark_floats(lines, width)
    for i, line in enumerate(lines):
        if line.kind == "body" and len(line.text.split()) == 1 and not ends_sentence(line.text) \
                and len(line.text) < width / 2 and not _continues(lines[i - 1] if i else None, line, 0):
            line.kind = "math"
    section = ""
    for line in lines:
        if line.kind == "heading":
            section = line.text
        line.section = section
    return lines


def _continues(previous: Line | None, line: Line, width: float) -> bool:
    """`line` finishes a sentence of the body line before it (numbers and symbols notwithstanding):
    that line broke a word, or ran the column's full width without ending its sentence."""
    if previous is None or previous.kind != "body":
        return False
    if previous.text.endswith("-"):
        return True
    return (not ends_sentence(previous.text) and len(previous.text) >= 0.75 * width
            and (len(line.text) >= 0.75 * width or ends_sentence(line.text))
            and bool(re.search(r"\b[a-z]{3,}\b", line.text)))


def is_debris(text: str) -> bool:
    """A line that is not prose: mostly numbers (a table row), mostly symbols, or a display equation."""
    tokens = text.split()
    numeric = sum(1 for token in tokens if NUMERIC_TOKEN.fullmatch(token))
    if numeric and numeric >= 0.6 * len(tokens):
        return True
    nonspace = len(text) - text.count(" ")
    letters = sum(ch.isalpha() for ch in text)
    if nonspace >= 3 and letters < 0.5 * nonspace:
        return True
    words = sum(1 for token in tokens if sum(ch.isalpha() for ch in token) >= 3)
    return bool(MATH.intersection(text)) and words < 4


def plausible_title(title: str) -> bool:
    """A heading's words: short, starting with a capital, not a sentence or a fragment of one."""
    words = title.split()
    if not words or len(words) > 12 or len(title) > 90 or not title[0].isupper():
        return False
    if title[-1] in ".,;:-–" or re.search(r"[a-z]\.\s[A-Z]|@|https?:|_", title):
        return False
    nonspace = len(title) - title.count(" ")
    return sum(ch.isalpha() for ch in title) >= 0.6 * nonspace


class _Headings:
    """One pass over the lines with the numbering so far; `mark` sets heading and reference kinds."""

    def __init__(self, lines: list[Line], width: float, generic: bool) -> None:
        self.lines, self.width, self.generic = lines, width, generic
        self.numbers: tuple[int, ...] = ()
        self.dotted: bool | None = None
        self.letters: tuple[int, ...] = ()
        self.appendix = False
        self.in_references = False

    def count_numbered(self) -> int:
        return sum(1 for i, line in enumerate(self.lines) if line.kind == "body" and self._numbered(i))

    def mark(self) -> None:
        for i, line in enumerate(self.lines):
            if line.kind not in ("body", "math"):
                continue
            known = self._known(i)
            if known:
                line.kind, self.in_references = "heading", known in REFERENCES
            elif self._appendix(i):
                line.kind = "heading"
            elif self.in_references:
                line.kind = "reference"
            elif line.kind == "body" and (self._numbered(i) or (self.generic and self._generic(i))):
                line.kind = "heading"

    def _known(self, i: int) -> str:
        """The known heading's name ("references") when line i is one, else ""."""
        text = self.lines[i].text
        name = re.sub(r"^(?:\d{1,2}|[IVX]{1,4})\.?\s", "", text).lower().rstrip(":.").strip()
        if name not in KNOWN or len(text) > 45:
            return ""
        if self.in_references and name not in ("acknowledgements", "acknowledgments", "supporting information"):
            return ""
        if name in REFERENCES:
            self.appendix = True  # lettered headings ("A Proofs") may follow the references
        number = re.match(r"^(\d{1,2})\.?\s", text)
        if number and self._fits(self.numbers, (int(number[1]),)):
            self.numbers = (int(number[1]),)
        return name

    def _numbered(self, i: int) -> bool:
        line = self.lines[i]
        match = NUMBERED.match(line.text)
        if not match or not plausible_title(match[3]) or self.dotted not in (None, bool(match[2])):
            return False  # a paper numbers "2.1 Setup" or "2.1. Setup", not both
        number = tuple(int(part) for part in match[1].split("."))
        if not self._fits(self.numbers, number):
            return False
        self.numbers, self.dotted = number, bool(match[2])
        return True

    def _appendix(self, i: int) -> bool:
        text = self.lines[i].text
        match = APPENDIX.match(text)
        if match and len(text) <= 90 and (not match[3] or plausible_title(match[3])) and (
                match[1] or len(match[3].split()) <= 3 and not re.search(r"\d", match[3])):
            self.appendix, self.in_references = True, False
            self.letters = (ord(match[1]) - 64,) if match[1] else ()
            return True
        match = LETTERED.match(text)
        if not (self.appendix and match and plausible_title(match[3]) and "," not in match[3]):
            return False
        number = (ord(match[1]) - 64,) + tuple(int(part) for part in match[2].split(".")[1:])
        if not self._fits(self.letters, number) or (not self.letters and number[0] != 1):
            return False
        following = self.lines[i + 1] if i + 1 < len(self.lines) else None
        if self.in_references and following is not None and not (
                is_prose(following.text) or LETTERED.match(following.text)):
            return False
        self.letters, self.in_references = number, False
        return True

    def _generic(self, i: int) -> bool:
        lines, text = self.lines, self.lines[i].text
        if i == 0 or i + 1 >= len(lines) or len(text) > min(80, 0.9 * self.width) or ":" in text:
            return False
        if not plausible_title(text) or re.search(r"[\[\]{}()/\d]", text):
            return False
        before, after = lines[i - 1], lines[i + 1]
        if before.kind not in ("heading", "caption", "footnote") and not ends_sentence(before.text):
            return False
        return (after.kind == "body" and after.text[0].isupper() and len(after.text) >= 0.6 * self.width
                and is_prose(after.text))

    @staticmethod
    def _fits(current: tuple[int, ...], number: tuple[int, ...]) -> bool:
        depth = len(number)
        if depth > len(current) + 1 or tuple(current[: depth - 1]) != number[:-1]:
            return False
        last = current[depth - 1] if len(current) >= depth else 0
        return last < number[-1] <= last + 2


def _continue_blocks(lines: list[Line], width: float) -> None:
    """A caption or footnote goes on over the following lines of its page while they read as its
    continuation; a heading, another caption or footnote, or a table row ends it."""
    for i, line in enumerate(lines):
        if line.kind not in ("caption", "footnote") or line.block != i:
            continue
        longest, j = len(line.text), i + 1
        while j < len(lines) and lines[j].page == line.page and lines[j].kind == "body":
            previous, following = lines[j - 1].text, lines[j].text
            if line.kind == "footnote":
                if ends_sentence(previous) or not (following[0].islower() or following[0] in "/:.-_"):
                    break
            elif ends_sentence(previous):
                reference = longest if j - i >= 2 else width
                if not (len(previous) >= 0.9 * reference and following[0].isupper() and _reads_on(following)
                        and (len(following) >= 0.8 * len(previous) or not ends_sentence(following))):
                    break
            elif not (is_prose(following) or following[0].islower()):
                break
            lines[j].kind, lines[j].block = line.kind, i
            longest = max(longest, len(following))
            j += 1


def _mark_floats(lines: list[Line], width: float) -> None:
    """The lines above a caption, back to the body text it interrupts, are its figure's labels or its
    table's cells: debris. Body text is two prose lines of a column's width, or a heading; what lies
    between two captions is debris unless most of it is such text."""
    for i, line in enumerate(lines):
        if line.kind != "caption" or line.block != i:
            continue
        j = i - 1
        while j >= 0 and lines[j].page == line.page and lines[j].kind in ("body", "math", "debris"):
            if lines[j].kind == "body" and _is_body_anchor(lines, j, width):
                break
            lines[j].kind = "debris"
            j -= 1
        top = j
        while top >= 0 and lines[top].page == line.page and lines[top].kind == "body":
            top -= 1
        if top < j and top >= 0 and lines[top].page == line.page and lines[top].kind == "caption":
            region = lines[top + 1: j + 1]
            if sum(1 for r in region if _full(r, width)) < 0.6 * len(region):
                for r in region:
                    r.kind = "debris"


def _full(line: Line, width: float) -> bool:
    return 0.7 * width <= len(line.text) <= 1.2 * width and is_prose(line.text)


def _is_body_anchor(lines: list[Line], j: int, width: float) -> bool:
    text = lines[j].text
    above = lines[j - 1] if j > 0 and lines[j - 1].page == lines[j].page else None
    if above is None or len(text) > 1.2 * width:
        return False
    if above.kind == "heading":
        return is_prose(text) or ends_sentence(text)
    if above.kind != "body" or not _full(above, width):
        return False
    if above.text.endswith("-") or (not ends_sentence(above.text) and ends_sentence(text)):
        return True  # the end of a paragraph: a broken word, or the sentence's last line
    return is_prose(text) and (len(text) >= 0.7 * width or ends_sentence(text))


def _reads_on(text: str) -> bool:
    """Running prose, not a table's header row: few words start with a capital."""
    words = text.split()
    return is_prose(text) and sum(1 for w in words if w[0].isupper()) <= 0.5 * len(words)
