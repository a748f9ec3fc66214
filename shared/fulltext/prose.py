"""Small tests of a line of text shared by the layout heuristics: is it prose, does it end a sentence."""

from __future__ import annotations

import re

FUNCTION_WORDS = frozenset(
    "a an the of and or to in on at for with by from as is are was were be been has have that this these "
    "which we our it its their not can than into via".split())
SENTENCE_END = re.compile(r"[.?!][\"”’)\]]*(?:\s?\d{1,3}(?:\s?[,–-]\s?\d{1,3})*)?$")
WORD_EDGES = ".,;:!?()[]{}\"'“”‘’"


def ends_sentence(text: str) -> bool:
    """The line ends a sentence: a full stop, question or exclamation mark, maybe then a closing quote
    or bracket and a superscript citation ("... relationships. 70")."""
    return bool(SENTENCE_END.search(text))


def is_prose(text: str) -> bool:
    """Three words or more, mostly letters, with at least one small word of running English
    ("the", "of", "is"...): what a table row or a figure label seldom has."""
    tokens = text.split()
    if len(tokens) < 3:
        return False
    nonspace = len(text) - text.count(" ")
    if sum(ch.isalpha() for ch in text) < 0.7 * nonspace:
        return False
    return any(token.strip(WORD_EDGES) in FUNCTION_WORDS for token in tokens)
