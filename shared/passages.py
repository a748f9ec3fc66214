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
