"""From classified lines to one text: floats moved out of sentences, line breaks folded, words
broken at a line's end mended, every page's start and every body or caption run's span recorded.

    build(lines, pages, width) -> Flow(text, page_starts, runs, references_at)

A float (a caption, a table's cells, a footnote) that pypdf emits in the middle of a sentence is
moved, within its page, to the nearest place where a sentence ends: so "... with the param-" /
table / "eters site:arxiv.org" reads "parameters". Line breaks inside a paragraph become spaces; a
paragraph (a short line ending a sentence, or a bullet) starts a new line. A hyphen at a line's end
is dropped when the joined word occurs elsewhere in the paper ("repre-"+"sentation"), kept when the
hyphenated form does or both halves are words ("state-of-the-"+"art", "Google-"+"based").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.fulltext.prose import ends_sentence
from shared.fulltext.structure import Line

FLOATS = ("caption", "debris", "footnote")
WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
BULLET = ("•", "◦", "▪", "‣", "– ", "- ")
REFERENCES = re.compile(r"^(?:\d{1,2}\.?\s|[IVX]{1,4}\.\s)?(?:references|bibliography|literature cited|"
                        r"works cited)[:.]?$", re.IGNORECASE)


@dataclass(frozen=True)
class Run:
    """A stretch of `text` that can become passages: consecutive body lines of one section, or one
    caption. `text[start:end]` has no leading or trailing space."""

    kind: str  # "body" | "caption"
    section: str
    start: int
    end: int


@dataclass(frozen=True)
class Flow:
    text: str
    page_starts: tuple[int, ...]
    runs: tuple[Run, ...]
    references_at: int | None


def build(lines: list[Line], pages: int, width: float) -> Flow:
    """The joined text of `lines` (classified, in page order) over `pages` pages."""
    ordered = [line for page in _by_page(lines) for line in _reorder(page)]
    mend = _Mender(ordered)
    parts: list[str] = []
    size = 0
    page_starts: list[int | None] = [None] * pages
    runs: list[Run] = []
    run: list = []  # [kind, section, block, start, end] of the run being built
    references_at = None
    previous: Line | None = None
    for line in ordered:
        joint = _joint(previous, line, width) if previous else ""
        if joint == "-":
            if previous is not None and not mend.keeps_hyphen(previous.text, line.text):
                parts[-1] = parts[-1][:-1]  # "repre-" + "sentation": the hyphen goes
                size -= 1
            joint = ""
        parts.append(joint)
        size += len(joint)
        start = size
        parts.append(line.text)
        size += len(line.text)
        if page_starts[line.page - 1] is None:
            page_starts[line.page - 1] = start
        if line.kind == "heading" and references_at is None and REFERENCES.match(line.text):
            references_at = start
        key = [line.kind, line.section, line.block]
        if run and run[:3] != key:
            runs.append(Run(run[0], run[1], run[3], run[4]))
            run = []
        if line.kind in ("body", "caption"):
            if run:
                run[4] = size
            else:
                run = key + [start, size]
        previous = line
    if run:
        runs.append(Run(run[0], run[1], run[3], run[4]))
    text = "".join(parts)
    filled, following = [], len(text)
    for start in reversed(page_starts):  # a page without text starts where the next one does
        following = start if start is not None else following
        filled.append(following)
    filled.reverse()
    return Flow(text=text, page_starts=tuple(filled), runs=tuple(runs), references_at=references_at)


def _by_page(lines: list[Line]) -> list[list[Line]]:
    pages: list[list[Line]] = []
    for line in lines:
        if not pages or pages[-1][0].page != line.page:
            pages.append([])
        pages[-1].append(line)
    return pages


def _reorder(page: list[Line]) -> list[Line]:
    """The page's lines with each run of floats that splits a sentence moved to a sentence's end."""
    skeleton: list[Line] = []
    slots: dict[int, list[Line]] = {}
    for line in page:
        if line.kind in FLOATS:
            slots.setdefault(len(skeleton), []).append(line)
        else:
            skeleton.append(line)
    if not slots:
        return page

    def clean(slot: int) -> bool:
        before = skeleton[slot - 1] if slot > 0 else None
        after = skeleton[slot] if slot < len(skeleton) else None
        if before is not None and before.kind == "body" and not ends_sentence(before.text):
            return False
        return not (after is not None and after.kind == "body" and after.text[0].islower())

    placed: dict[int, list[Line]] = {}
    for slot in sorted(slots):
        target = slot
        if not clean(slot):
            later = [s for s in range(slot + 1, len(skeleton) + 1) if clean(s)]
            earlier = [s for s in range(slot - 1, -1, -1) if clean(s)]
            target = later[0] if later else earlier[0] if earlier else slot
        placed.setdefault(target, []).extend(slots[slot])
    ordered: list[Line] = []
    for slot in range(len(skeleton) + 1):
        ordered.extend(placed.get(slot, []))
        if slot < len(skeleton):
            ordered.append(skeleton[slot])
    return ordered


def _joint(previous: Line, line: Line, width: float) -> str:
    """What goes between two lines: " " (same paragraph), "" or "-" (a word broken at the line's
    end: hyphen dropped or kept), or "\\n" (a new paragraph or block)."""
    same_block = previous.kind == line.kind and (
        (line.kind == "body" and previous.section == line.section)
        or (line.kind in ("caption", "footnote", "title") and previous.block == line.block))
    if not same_block:
        return "\n"
    if line.kind == "body" and (line.text.startswith(BULLET) or (
            ends_sentence(previous.text) and len(previous.text) < 0.8 * width)):
        return "\n"
    if re.search(r"[^\W\d_]-$", previous.text) and line.text[0].isalnum():
        return "-"
    return " "


class _Mender:
    """The paper's own vocabulary, to tell a word broken at a line's end from a hyphenated one."""

    def __init__(self, lines: list[Line]) -> None:
        self.words: set[str] = set()
        self.hyphenated: set[str] = set()
        broken = False
        for line in lines:
            tokens = WORD.findall(line.text.lower())
            if broken and tokens:
                tokens = tokens[1:]
            broken = line.text.endswith("-")
            if broken and tokens:
                tokens = tokens[:-1]
            for token in tokens:
                if "-" in token:
                    self.hyphenated.add(token)
                self.words.update(token.split("-"))

    def keeps_hyphen(self, before: str, after: str) -> bool:
        """Whether "before-" (ending a line) and `after` (the next) join with their hyphen."""
        head = WORD.findall(before[:-1].lower())
        tail = WORD.findall(after.lower())
        if not head or not tail or not after[0].isalpha():
            return True  # "GPT-" + "4o"
        left, right = head[-1], tail[0].split("-")[0]
        if left.split("-")[-1] + right in self.words:
            return False  # "Au-" + "toScholarQuery": the paper writes "AutoScholarQuery"
        if f"{left}-{right}" in self.hyphenated or "-" in left or after[0].isupper():
            return True  # "state-of-the-" + "art", "PaSa-" + "GPT-4o"
        last = left.split("-")[-1]
        return len(last) >= 3 and len(right) >= 3 and last in self.words and right in self.words
