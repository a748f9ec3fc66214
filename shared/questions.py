"""What kind of query a question is, and how its evidence's rationale sits inside the passage.

Three kinds, decided from the text alone (the same answer on every machine, no model):
- 'yesno': a question a paper can answer yes or no ("Does X improve Y?", "Can LLMs ...?");
  its links carry an answer: yes | no | mixed | unclear.
- 'open': any other question ("How does ...?", "What causes ...?"); its links carry no
  stance, only the sentences that bear on it.
- 'claim': a statement to check ("Deduplication reduces memorization."); its links keep
  supports | contradicts | neutral.
"""

from __future__ import annotations

import re
from typing import Literal

QuestionKind = Literal["yesno", "open", "claim"]
ANSWERS = ("yes", "no", "mixed", "unclear")

# Auxiliaries and modals that open a yes/no question in English.
_YESNO_OPENERS = frozenset(
    "is are was were am be does do did can could will would shall should may might must has have had "
    "isn't aren't wasn't weren't doesn't don't didn't can't cannot couldn't won't wouldn't shouldn't hasn't "
    "haven't".split()
)
_WH = frozenset("what how why which who whom whose when where to".split())


def question_kind(text: str) -> QuestionKind:
    """'yesno', 'open' or 'claim' for a question's text (see the module docstring)."""
    words = re.findall(r"[A-Za-z']+", text.lower())
    if not words:
        return "claim"
    first = words[0]
    if first in _YESNO_OPENERS:
        return "yesno"
    if text.rstrip().endswith("?") or first in _WH:
        return "open"
    return "claim"


# English function words: a question made only of these (and symbols) asks nothing a model can match.
_STOP = frozenset(
    "a an the and or but if then else of to in on at by for with from into onto about over under as is are was "
    "were be been being am do does did done can could will would shall should may might must has have had having "
    "what which who whom whose when where why how that this these those there here it its it's they them their "
    "we us our you your he she his her him i me my not no nor so than too very just also any all some each "
    "more most other such only own same few both again further once".split()
)


def content_words(text: str) -> list[str]:
    """The words of `text` that carry meaning: letters (and digits) of two or more, not function words."""
    return [w for w in re.findall(r"[^\W_]{2,}", text.lower()) if w not in _STOP and not w.isdigit()]


MAX_QUESTION_CHARS = 2000  # the same cap on SQLite and PostgreSQL; a question is a sentence or two, not a paper


def check_question(text: str) -> str:
    """The question with whitespace folded. Raises ValueError saying why when it is empty, longer than
    MAX_QUESTION_CHARS, or has no word any model could search for."""
    folded = " ".join(text.split())
    if not folded:
        raise ValueError("a question needs some words; got an empty question")
    if len(folded) > MAX_QUESTION_CHARS:
        raise ValueError(f"a question is at most {MAX_QUESTION_CHARS} characters; this one has {len(folded)} "
                         "(put the detail in its notes)")
    if not content_words(folded):
        raise ValueError(f"{folded[:80]!r} has no word to search for (only function words, numbers or symbols); "
                         "ask about something, e.g. 'Does X improve Y?'")
    return folded


def rationale_segments(passage: str, sentences: list[int]) -> list[tuple[str, bool]]:
    """The passage cut into (text, is_rationale) pieces, in order, covering it exactly once.

    `sentences` are indices into `shared.stance.split_sentences(passage)`, as stored on a
    link; the pieces let a page, a terminal or a digest show the rationale highlighted
    inside the passage instead of printing it twice. Out-of-range indices are ignored.
    """
    from shared.stance.cross_encoder import split_sentences

    spans = split_sentences(passage)
    marked = sorted({spans[i] for i in sentences if 0 <= i < len(spans)})
    pieces: list[tuple[str, bool]] = []
    at = 0
    for start, end in marked:
        if start > at:
            pieces.append((passage[at:start], False))
        pieces.append((passage[start:end], True))
        at = end
    if at < len(passage):
        pieces.append((passage[at:], False))
    return pieces
