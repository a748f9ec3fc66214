"""Search queries built from a question's text.

Key phrases are runs of content words (stop words and question words split
them); each phrase of two or three words becomes an exact-phrase clause, and
the rarest-looking single words (longest) back them up. The clauses are OR-ed:
recall matters here, the linker decides relevance.
"""

from __future__ import annotations

import re

STOP = set("""a an and are as at be been being but by can could did do does doing for from had has have how
i if in into is it its itself many may might more most much of on or our over same should so some such take
takes taken than that the their them then there these they this those to under up upon us using via was we
were what when where whether which while who whom why will with would you your given amount amounts
one ones kind kinds way ways need needs""".split())


def key_phrases(question: str, max_len: int = 3) -> list[str]:
    words = re.findall(r"[A-Za-z][A-Za-z0-9\-]*", question.lower())
    runs: list[list[str]] = [[]]
    for w in words:
        if w in STOP or len(w) < 3:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(w)
    phrases = []
    for run in runs:
        for i in range(0, len(run), max_len):
            chunk = run[i:i + max_len]
            if len(chunk) >= 2:
                phrases.append(" ".join(chunk))
            if len(run) > 1:  # adjacent pairs, so 'embedding dimensions represent' also yields 'embedding dimensions'
                phrases.extend(" ".join(run[j:j + 2]) for j in range(len(run) - 1))
    singles = sorted({w for run in runs for w in run}, key=lambda w: (-len(w), w))[:3]
    seen: list[str] = []
    for p in phrases + singles:
        if p not in seen:
            seen.append(p)
    return seen


def arxiv_query(question: str, max_clauses: int = 8) -> str:
    """An arXiv search_query for the question, e.g. 'all:"domain shift" OR all:"rigorous definition"'."""
    phrases = key_phrases(question)
    multi = [p for p in phrases if " " in p]
    singles = [p for p in phrases if " " not in p]
    clauses = [f'all:"{p}"' for p in multi[:max_clauses]]
    if not clauses:
        clauses = [f"all:{w}" for w in singles[:3]]
    if not clauses:
        raise ValueError(f"no search terms in question {question!r}")
    return " OR ".join(clauses)
