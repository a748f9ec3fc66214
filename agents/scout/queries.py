"""Search queries built from a question's text, in the dialect each source declares
(`Source.query_dialect`).

Key phrases are runs of content words (stop words and question words split
them); each phrase of two or three words is a candidate, and the rarest-looking
single words (longest) back them up. Recall matters here, the linker decides
relevance.

    arxiv     exact-phrase clauses OR-ed, each phrase with its variants (singular/plural,
              hyphenation): all:"language models" OR all:"language model" OR ...  (arXiv)
    plain     plain key phrases as words ("large language models scaling"): engines that
              rank free text and stem words themselves (Semantic Scholar, whose relevance
              search takes no query syntax at all, OpenAlex, Crossref)
"""

from __future__ import annotations

import re
from collections.abc import Callable

from shared.sources.base import QueryDialect

STOP = set("""a an and are as at be been being but by can could did do does doing for from had has have how
i if in into is it its itself many may might more most much of on or our over same should so some such take
takes taken than that the their them then there these they this those to under up upon us using via was we
were what when where whether which while who whom why will with would you your given amount amounts
one ones kind kinds way ways need needs""".split())
# first words that English writes joined, hyphenated or apart: pre-training, pretraining, pre training
PREFIXES = {"pre", "post", "multi", "self", "cross", "non", "co", "semi", "sub", "inter", "intra", "over", "under",
            "re", "meta", "zero", "few", "single", "long", "low", "high", "fine"}
_NOT_NOUN = ("ing", "ed", "ly", "ic", "al", "ous", "ive", "ful", "less", "able", "ss", "us", "is")
_NOT_PLURAL = {"before", "after", "between", "across", "during", "without", "within", "against", "among", "about",
               "beyond", "toward", "through", "versus", "large", "small", "new", "deep", "data", "text", "research"}
PLAIN_WORDS = 6
# single words OR-ed into a search in relevance order. Related / evidence papers among a first search's 100
# (scripts/search_reach.py), rq-cs-train's 20 questions then rq-cs-dev's 8: 3 words 276 / 116 and 72 / 33,
# 4 308 / 129 and 73 / 30, 5 332 / 139 and 73 / 29, 6 348 / 146 and 77 / 29, 8 343 / 145 and 78 / 33
# (8 is every word of nearly all of these questions); docs/sources.md
RANKED_WORDS = 8


def _runs(question: str) -> list[list[str]]:
    """The question's content words, in runs split by stop words and short words."""
    runs: list[list[str]] = [[]]
    for w in re.findall(r"[A-Za-z][A-Za-z0-9\-]*", question.lower()):
        if w in STOP or len(w) < 3:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(w)
    return runs


def key_words(question: str, n: int) -> list[str]:
    """The question's `n` longest content words (the rarest-looking), longest first."""
    return sorted({w for run in _runs(question) for w in run}, key=lambda w: (-len(w), w))[:n]


def key_phrases(question: str, max_len: int = 3) -> list[str]:
    runs = _runs(question)
    phrases = []
    for run in runs:
        for i in range(0, len(run), max_len):
            chunk = run[i:i + max_len]
            if len(chunk) >= 2:
                phrases.append(" ".join(chunk))
            if len(run) > 1:  # adjacent pairs, so 'embedding dimensions represent' also yields 'embedding dimensions'
                phrases.extend(" ".join(run[j:j + 2]) for j in range(len(run) - 1))
    singles = key_words(question, 3)
    seen: list[str] = []
    for p in phrases + singles:
        if p not in seen:
            seen.append(p)
    return seen


def singular(word: str) -> str | None:
    """'dimensions' -> 'dimension', 'studies' -> 'study', 'boxes' -> 'box'; None when it does not look plural."""
    if len(word) < 4 or not word.endswith("s") or word.endswith(("ss", "us", "is")):
        return None
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("xes", "ches", "shes", "sses")):
        return word[:-2]
    return word[:-1]


def plural(word: str) -> str | None:
    """'model' -> 'models', 'study' -> 'studies'; None for words that do not look like singular nouns."""
    if len(word) < 3 or word in _NOT_PLURAL or word.endswith(_NOT_NOUN) or word.endswith("s"):
        return None
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(("x", "ch", "sh")):
        return word + "es"
    return word + "s"


def variants(phrase: str) -> list[str]:
    """The phrase and its common spellings, the phrase itself first: the last word singular or plural,
    and a compound with a hyphen also joined and apart ('pre-training' -> 'pre training', 'pretraining'),
    one whose first word is a prefix also hyphenated and joined ('pre training' -> 'pre-training')."""
    out: list[str] = []

    def add(p: str) -> None:
        if p and p not in out:
            out.append(p)

    add(phrase)
    words = phrase.split()
    other = singular(words[-1]) or plural(words[-1])
    if other:
        add(" ".join([*words[:-1], other]))
    for form in list(out):
        if "-" in form:
            add(form.replace("-", " "))
            add(form.replace("-", ""))
        elif len(form.split()) >= 2 and form.split()[0] in PREFIXES:
            first, rest = form.split(" ", 1)
            add(f"{first}-{rest}")
            add(f"{first}{rest}")
    return out


def arxiv_query(question: str, max_clauses: int = 12, ranked: bool = False) -> str:
    """An arXiv search_query for the question, e.g. 'all:"domain shift" OR all:"domain shifts" OR ...'.

    Every key phrase comes first as written; the variants of the longest phrases (those no other
    phrase contains) fill the clauses left. `ranked`: for a search in relevance order, the question's
    RANKED_WORDS longest single words are OR-ed in too. Ranking puts papers that match several clauses
    first, so a word adds the papers that say it otherwise without burying the phrase matches (on
    rq-cs-train, the related papers among a first search's 100 rose from 190 to 343; docs/sources.md).
    Newest first, a single word would bring every new paper that uses it."""
    phrases = key_phrases(question)
    multi = [p for p in phrases if " " in p or "-" in p]
    singles = [p for p in phrases if " " not in p and "-" not in p]
    if multi:
        longest = [p for p in multi if not any(p != o and f" {p} " in f" {o} " for o in multi)]
        ordered = multi + [v for p in longest for v in variants(p)[1:]]
        clauses = [f'all:"{p}"' if " " in p else f"all:{p}" for p in dict.fromkeys(ordered)][:max_clauses]
    else:
        clauses = [f"all:{w}" for w in singles[:3]]
    if not clauses:
        raise ValueError(f"no search terms in question {question!r}")
    if ranked and multi:
        clauses += [f"all:{w}" for w in key_words(question, RANKED_WORDS) if f"all:{w}" not in clauses]
    return " OR ".join(clauses)


def plain_query(question: str, max_words: int = PLAIN_WORDS) -> str:
    """Free text for engines that rank words themselves: the words of the key phrases, multi-word
    phrases first, each word once, at most `max_words`, e.g. 'embedding dimensions represent text'."""
    phrases = key_phrases(question)
    words: list[str] = []
    for p in [p for p in phrases if " " in p] + [p for p in phrases if " " not in p]:
        for w in p.split():
            if w not in words and len(words) < max_words:
                words.append(w)
    if not words:
        raise ValueError(f"no search terms in question {question!r}")
    return " ".join(words)


DIALECTS: dict[QueryDialect, Callable[[str], str]] = {"arxiv": arxiv_query, "plain": plain_query}


def query_for(dialect: QueryDialect, question: str, ranked: bool = False) -> str:
    """The search text for a question in a source's dialect (`ranked`: for a search in relevance order,
    which the arXiv dialect widens with single words). Raises ValueError for a question with no search terms."""
    return arxiv_query(question, ranked=True) if ranked and dialect == "arxiv" else DIALECTS[dialect](question)
