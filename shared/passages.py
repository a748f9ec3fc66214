"""How a paper's title and abstract become the one passage the reader stores, in one place:
the reader, the evaluations and the training data all put it together the same way."""

from __future__ import annotations


def abstract_passage(title: str, abstract: str) -> str:
    """"Title. Abstract" with whitespace folded; the title alone when there is no abstract."""
    title = " ".join(title.split())
    abstract = " ".join((abstract or "").split())
    return f"{title}. {abstract}" if abstract else title


def join_passage(title: str, sentences: list[str]) -> tuple[str, list[tuple[int, int]]]:
    """The stored passage for a title and pre-split sentences, and each sentence's char span in it."""
    text = f"{' '.join(title.split())}. " if title.strip() else ""
    spans = []
    for s in sentences:
        s = " ".join(s.split())
        if text and not text.endswith(" "):
            text += " "
        spans.append((len(text), len(text) + len(s)))
        text += s
    return text, spans


def map_sentences(picked: list[int], source: list[tuple[int, int]], target: list[tuple[int, int]]) -> list[int]:
    """Indices of the `target` spans that the `picked` `source` spans cover (more than half of the shorter
    of the two overlap): sentence indices carried from one split of a passage to another."""
    out = set()
    for i in picked:
        s, e = source[i]
        for j, (a, b) in enumerate(target):
            if min(b, e) - max(a, s) > 0.5 * min(b - a, e - s):
                out.add(j)
    return sorted(out)
