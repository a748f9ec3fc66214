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
