"""Runs of text cut into passages of a few sentences, for retrieval.

    cut(text, runs) -> [Span(kind, section, start, end), ...]

Each passage is a few whole sentences of one run (3 to 5, about 400-900 characters, 1,200 at most
unless one sentence is longer; a sentence over 1,200 characters is cut between words), so it never
crosses a section and never starts or ends inside a word. Sentences end at . ? ! before a capital,
a digit or a bullet — not after "e.g.", "et al.", "Fig.", an initial, or inside "37.78%" — and at a
paragraph's end. Body passages under 40 characters or that are mostly numbers and symbols (table
debris), or without the small words of running prose (author lists), are dropped; captions are kept.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from shared.fulltext.flow import Run
from shared.fulltext.prose import FUNCTION_WORDS, WORD_EDGES

SHORTEST, ENOUGH, TARGET, LONGEST, MOST_SENTENCES = 40, 400, 900, 1200, 5
BOUNDARY = re.compile(r"([.?!][\"”’)\]]*(?: \d{1,3}(?: ?[,–-] ?\d{1,3})*(?=\s))?)\s+(?=[\"“(\[]?[A-Z0-9•])|\n")
ABBREVIATIONS = frozenset(
    "e.g i.e et al fig figs eq eqs eqn ref refs sec secs tab no nos vs cf approx resp vol pp inc ltd co jr sr "
    "dr mr mrs ms prof st ch app appx viz ca ed eds def thm lem prop cor".split())
LAST_WORD = re.compile(r"([^\W\d_][\w.]*)$")
NUMERIC = re.compile(r"[-+±–—(\[]*[\d.,:/%]*\d[\d.,:/%]*[)\]%]*[.,;]?|[-–—|]")


@dataclass(frozen=True)
class Span:
    kind: str
    section: str
    start: int
    end: int


def cut(text: str, runs: tuple[Run, ...] | list[Run]) -> list[Span]:
    """The passages of every run, in order (see the module doc)."""
    spans = []
    for run in runs:
        pieces = _sentences(text, run.start, run.end)
        whole = run.kind == "caption" and run.end - run.start <= LONGEST
        for start, end in [_trim(text, run.start, run.end)] if whole else _pack(text, pieces):
            if readable(text[start:end], run.kind):
                spans.append(Span(run.kind, run.section, start, end))
    return spans


def sentences(text: str) -> list[str]:
    """`text` split into sentences (for tests and callers that want them)."""
    return [text[s:e] for s, e in _sentences(text, 0, len(text))]


def readable(text: str, kind: str) -> bool:
    """Worth a passage: a caption of a dozen characters, or body prose rather than table debris."""
    nonspace = len(text) - text.count(" ")
    letters = sum(ch.isalpha() for ch in text)
    if kind == "caption":
        return len(text) >= 12 and letters >= 0.4 * nonspace
    tokens = text.split()
    if len(text) < SHORTEST or letters < 0.6 * nonspace:
        return False
    if sum(1 for token in tokens if NUMERIC.fullmatch(token)) > 0.3 * len(tokens):
        return False
    small = sum(1 for token in tokens if token.strip(WORD_EDGES) in FUNCTION_WORDS)
    return small >= 2 and small >= 0.08 * len(tokens)


def _sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    found, begin = [], start
    for match in BOUNDARY.finditer(text, start, end):
        if match[1] and match[1][0] == "." and _abbreviation(text, match.start(1)):
            continue
        stop = match.end(1) if match[1] else match.start()
        if stop > begin:
            found.append((begin, stop))
        begin = match.end()
    if end > begin:
        found.append((begin, end))
    pieces = []
    for s, e in found:
        s, e = _trim(text, s, e)
        if e > s:
            pieces.extend(_between_words(text, s, e) if e - s > LONGEST else [(s, e)])
    return pieces


def _abbreviation(text: str, dot: int) -> bool:
    word = LAST_WORD.search(text, max(0, dot - 12), dot)
    if not word:
        return False
    token = word[1]
    return token.lower() in ABBREVIATIONS or (len(token) == 1 and token.isupper()) or "." in token


def _between_words(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """A sentence too long for one passage, cut into near-equal pieces at spaces."""
    pieces = math.ceil((end - start) / TARGET)
    size = (end - start) / pieces
    cuts, at = [], start
    for i in range(1, pieces):
        space = text.rfind(" ", at + 1, int(start + i * size))
        if space <= at:
            space = text.find(" ", int(start + i * size), end)
        if space <= at or space < 0:
            break
        cuts.append((at, space))
        at = space + 1
    cuts.append((at, end))
    return [_trim(text, s, e) for s, e in cuts]


def _pack(text: str, pieces: list[tuple[int, int]]) -> list[tuple[int, int]]:
    packed: list[list[int]] = []  # [start, end, sentences]
    for start, end in pieces:
        if packed:
            first, last, count = packed[-1]
            grown = end - first
            paragraph_ended = "\n" in text[last:start]
            if (grown <= TARGET and count < MOST_SENTENCES and not (paragraph_ended and last - first >= ENOUGH)) or (
                    last - first < ENOUGH and grown <= LONGEST):
                packed[-1] = [first, end, count + 1]
                continue
        packed.append([start, end, 1])
    if len(packed) >= 2 and packed[-1][1] - packed[-1][0] < ENOUGH / 2 and packed[-1][1] - packed[-2][0] <= LONGEST:
        packed[-2:] = [[packed[-2][0], packed[-1][1], packed[-2][2] + packed[-1][2]]]
    return [(start, end) for start, end, _ in packed]


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
