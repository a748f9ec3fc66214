"""The stance step's contract: what a judge is given, what it answers, and its settings.

A judge reads one query (a question or a claim) against one passage already split
into sentences and says whether the passage supports it, contradicts it, or neither,
and which sentences carry that evidence. Two judges implement it: the trained
cross-encoder (offline default, `shared.stance.cross_encoder`) and an LLM behind an
OpenAI-compatible endpoint (`shared.stance.llm`). Nothing here imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from pydantic import Field, SecretStr

from shared.settings_group import SettingsGroup

Stance = Literal["supports", "contradicts", "neutral"]
STANCES: tuple[Stance, ...] = ("supports", "contradicts", "neutral")

DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[2] / "models" / "stance"


@dataclass(frozen=True)
class Judgement:
    """One judge's answer for one (query, passage) pair.

    `score` is the judge's confidence in `stance` (0..1). `rationale` lists the indices of
    the sentences that carry the evidence, ascending; it is empty when the stance is
    neutral. `sentence_scores` has one entry per sentence: how strongly that sentence
    bears on the query either way (0..1). `model` names the judge and its version.
    """

    stance: Stance
    score: float
    rationale: list[int] = field(default_factory=list)
    sentence_scores: list[float] = field(default_factory=list)
    model: str = ""


@runtime_checkable
class StanceJudge(Protocol):
    name: str

    def judge(self, query: str, sentences: list[str]) -> Judgement:
        """Judge one pair. Raises TransientError (try again later) or PermanentError."""
        ...

    def judge_many(self, pairs: list[tuple[str, list[str]]]) -> list[Judgement]:
        """Judge many pairs, one Judgement each, in order; batched where the judge can."""
        ...


class StanceSettings(SettingsGroup):
    backend: Literal["cross-encoder", "llm"] = Field(
        "cross-encoder", description="Which judge decides stance: the shipped cross-encoder (offline) or the LLM."
    )
    model_dir: Path | None = Field(
        None, description="Folder of the trained cross-encoder (weights, tokenizer, meta.json); unset: models/stance."
    )
    batch_size: int = Field(32, description="(query, sentence) pairs per forward pass of the cross-encoder.")
    threads: int | None = Field(None, description="Torch CPU threads for the cross-encoder; unset: torch's default.")
    evidence_threshold: float | None = Field(
        None,
        description="A pair is non-neutral when its strongest sentence's evidence score reaches this; "
        "unset: the value tuned at training time (meta.json).",
    )
    rationale_threshold: float | None = Field(
        None,
        description="Sentences whose evidence score reaches this join the rationale; unset: the tuned value (meta.json).",
    )


class LLMSettings(SettingsGroup):
    base_url: str = Field(
        "http://127.0.0.1:8000/v1", description="OpenAI-compatible API root; '/chat/completions' is appended."
    )
    model: str = Field("gpt-4o-mini", description="Model name sent in each request.")
    api_key: SecretStr | None = Field(None, description="Bearer token; unset: no Authorization header.")
    timeout_s: float = Field(60.0, description="HTTP timeout per request.")
    temperature: float = Field(0.0, description="Sampling temperature sent with each request.")
    json_mode: bool = Field(
        False, description="Send response_format={'type': 'json_object'} (only where the server supports it)."
    )
    max_response_bytes: int = Field(1_000_000, description="Largest response body accepted.")
