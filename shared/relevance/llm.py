"""The evidence judge behind an OpenAI-compatible endpoint (vLLM, llama.cpp server, Ollama, ...).

One request per candidate. The passage goes out as numbered sentences with the question;
the model answers one JSON object:
    {"grade": 0 | 1 | 2, "answer": "yes" | "no" | "mixed" | "unclear" | "n/a",
     "sentences": [up to three sentence numbers], "quote": "verbatim words", "confidence": 0..1}
graded as in the rq-cs judging guide (2: the paper's own findings bear on the question,
1: related, 0: not relevant). A grade of 1 or 2 must quote the passage: a quote not in it
is refused as ungrounded. Relevance = confidence when the grade is 2, else a low value, so
`min_relevance` means the same as for the offline judge.

Answers are cached per (question, passage, model, prompt version) in the ledger, so asking
twice — a redelivered task, a re-run `eval links` — costs one request. A candidate whose
answer is malformed or ungrounded is logged and judged not relevant; transport errors
raise (TransientError: try again later).
"""

from __future__ import annotations

import hashlib
import logging

from shared.errors import PermanentError
from shared.llm_client import ChatClient, clamp, json_object, locate
from shared.questions import question_kind
from shared.relevance.base import Assessment
from shared.stance.base import LLMSettings
from shared.stance.cross_encoder import sentences_of

log = logging.getLogger(__name__)
PROMPT_VERSION = "evidence-v1"
SYSTEM_PROMPT = (
    "You keep a ledger of evidence for a researcher's open research questions. Given a QUESTION and a "
    "PASSAGE from a paper split into numbered sentences, grade the passage: 2 = evidence (the paper's own "
    "findings, analysis or results bear directly on the question), 1 = related (background, a method or "
    "dataset one would use, a finding in passing), 0 = not relevant (shares words or a broad topic only). "
    "For a yes/no question give the answer its findings support: yes, no, mixed, or unclear; for any other "
    "question or a claim use n/a (for a claim: yes = the passage supports it, no = it contradicts it). "
    "Name the one to three sentences that carry the evidence and quote the decisive words verbatim. "
    "Answer with one JSON object and nothing else: "
    '{"grade": 0|1|2, "answer": "yes"|"no"|"mixed"|"unclear"|"n/a", "sentences": [numbers], '
    '"quote": "verbatim words from the passage", "confidence": 0.0-1.0}. For grade 0 use "sentences": [] '
    'and "quote": "".'
)
_ANSWERS = ("yes", "no", "mixed", "unclear", "n/a")


class LLMEvidenceJudge:
    """EvidenceJudge over `/chat/completions`; `cache` is the ledger (cached_judgement / store_judgement)."""

    min_relevance = 0.5

    def __init__(self, settings: LLMSettings, *, cache=None, client=None, transport=None) -> None:
        self.settings = settings
        self.chat = ChatClient(settings, client=client, transport=transport)
        self.cache = cache
        self.name = f"llm:{settings.model}:{PROMPT_VERSION}"

    def close(self) -> None:
        self.chat.close()

    def _key(self, question: str, passage: str) -> str:
        body = "\x1f".join([PROMPT_VERSION, self.settings.model, question, passage])
        return hashlib.sha256(body.encode()).hexdigest()

    def bar_for(self, retrieval: bool) -> float:
        """The LLM's relevance means the same with or without retrieval."""
        return self.min_relevance

    def assess_many(self, question: str, passages: list[str], retrieval: list[dict] | None = None,
                    title_first: list[bool] | None = None, explain_all: bool = False) -> list[Assessment]:
        """One request per passage (or a cached answer); the LLM reads every pair in full, so `retrieval`,
        `title_first` and `explain_all` change nothing."""
        kind = question_kind(question)
        return [self.assess(question, kind, p) for p in passages]

    def assess(self, question: str, kind: str, passage: str) -> Assessment:
        sentences = sentences_of(passage)
        key = self._key(question, passage)
        answer = self.cache.cached_judgement(key) if self.cache is not None else None
        if answer is None:
            numbered = "\n".join(f"[{i}] {s}" for i, s in enumerate(sentences))
            content = self.chat.ask(SYSTEM_PROMPT, f"QUESTION: {question}\n\nPASSAGE:\n{numbered}")
            try:
                answer = self.read(content, sentences)
            except PermanentError as e:
                log.warning("%s: judged not relevant: %s", self.name, e)
                answer = {"grade": 0, "answer": "n/a", "sentences": [], "confidence": 0.0, "error": str(e)[:300]}
            if self.cache is not None:
                self.cache.store_judgement(key, answer)
        return self.decide(kind, answer, len(sentences))

    def read(self, content: str, sentences: list[str]) -> dict:
        """The model's answer, checked: grade, answer, sentence numbers in range, quote in the passage."""
        try:
            raw = json_object(content)
            grade = int(raw["grade"])
            answer = str(raw.get("answer") or "n/a").strip().lower()
            picked = sorted({int(i) for i in raw.get("sentences") or []})
            quote = str(raw.get("quote") or "").strip().strip('"').strip()
            confidence = clamp(float(raw.get("confidence", 1.0)))
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise PermanentError(f"answer is not the JSON asked for: {content[:300]!r}") from e
        if grade not in (0, 1, 2) or answer not in _ANSWERS:
            raise PermanentError(f"grade {grade!r} / answer {answer!r} not among those asked for")
        if any(not 0 <= i < len(sentences) for i in picked):
            raise PermanentError(f"sentences {picked} outside a passage of {len(sentences)}")
        if grade and not locate(quote, sentences):
            raise PermanentError(f"quote {quote[:200]!r} is not in the passage")
        if grade and not picked:
            picked = locate(quote, sentences)
        return {"grade": grade, "answer": answer, "sentences": picked[:3], "confidence": confidence}

    def decide(self, kind: str, answer: dict, n_sentences: int) -> Assessment:
        grade, confidence = answer["grade"], answer["confidence"]
        relevance = confidence if grade == 2 else (1 - confidence) * 0.5 if grade == 1 else 0.0
        value = answer["answer"]
        yes_no = value if value in ("yes", "no", "mixed", "unclear") else "unclear"
        stance = "neutral"
        if kind == "claim" and grade == 2:
            stance = {"yes": "supports", "no": "contradicts"}.get(value, "neutral")
        rationale = answer["sentences"] if grade else []
        if n_sentences > 1 and len(rationale) >= n_sentences:
            rationale = rationale[: n_sentences - 1]
        return Assessment(relevance=relevance, answer=yes_no if kind == "yesno" else "",
                          answer_score=confidence if kind != "open" else None, stance=stance,
                          rationale=rationale, sentence_scores=[1.0 if i in rationale else 0.0
                                                                for i in range(n_sentences)],
                          model=self.name, scores={"relevance": round(relevance, 6), "llm_grade": float(grade)})
