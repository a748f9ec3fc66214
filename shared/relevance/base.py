"""The evidence judge's contract: what it is given, what it answers, and its settings.

A judge reads one question against candidate passages and says, for each, how likely
the passage is evidence for the question (a calibrated probability), what it answers
(yes / no / mixed / unclear for a yes/no question; supports / contradicts / neutral for a
claim; nothing for an open question) and which one to three sentences carry that.
Two judges implement it: learned rules over two small shipped models
(`shared.relevance.judge`, the offline default) and an LLM behind an OpenAI-compatible
endpoint (`shared.relevance.llm`).
Nothing here imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from pydantic import Field

from shared.settings_group import SettingsGroup

DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[2] / "models" / "evidence"


@dataclass(frozen=True)
class Assessment:
    """One judge's answer for one (question, passage) pair.

    `relevance`: calibrated probability that the passage is evidence for the question (0..1).
    `answer`: for a yes/no question yes | no | mixed | unclear (unclear unless the judge is
    sure), else "". `stance`: for a claim supports | contradicts | neutral, else "neutral".
    `rationale`: indices (ascending) of the passage's sentences (`split_sentences`) that bear
    on the question, one to three for a relevant passage, never all of a longer passage.
    `sentence_scores`: one score per sentence (0..1). `model`: the judge and its version.
    """

    relevance: float
    answer: str = ""
    answer_score: float | None = None
    stance: str = "neutral"
    rationale: list[int] = field(default_factory=list)
    sentence_scores: list[float] = field(default_factory=list)
    model: str = ""
    scores: dict[str, float] = field(default_factory=dict)  # raw head outputs, kept for provenance


@runtime_checkable
class EvidenceJudge(Protocol):
    name: str

    def assess_many(self, question: str, passages: list[str], retrieval: list[dict] | None = None,
                    title_first: list[bool] | None = None, explain_all: bool = False) -> list[Assessment]:
        """Judge each passage against the question, in order. `retrieval`: per passage, where the
        retrievers placed it (`shared.relevance.features`), for judges that weigh it; `title_first`: per
        passage, whether its first sentence is the paper's title; `explain_all`: give answer and
        rationale for every pair, not only those that reach the bar. Raises TransientError or
        PermanentError."""
        ...

    def bar_for(self, retrieval: bool) -> float:
        """The relevance a pair needs to be linked, for pairs judged with or without retrieval."""
        ...


class JudgeSettings(SettingsGroup):
    model_dir: Path | None = Field(
        None, description="Folder holding the evidence judge's learned rules (rules.json, written by `questlog "
                          "train evidence`); unset: the shipped models/evidence.")
    threads: int | None = Field(None, description="Torch CPU threads for the judge's two small models; unset: a "
                                                  "quarter of the cores, at least one (it shares them with the "
                                                  "embed worker).")
    precision: Literal["auto", "fp32", "bf16"] = Field(
        "auto", description="The judge's two small models' CPU precision. auto: bf16 autocast on a CPU with native "
                            "bf16 (AVX512-BF16 or AMX), else fp32.")
    min_relevance: float | None = Field(
        None, ge=0, le=1, description="Calibrated probability of being evidence a passage needs to be linked; "
                                      "unset: the bar chosen at training time (rules.json).")
    answer_threshold: float | None = Field(
        None, ge=0, le=1, description="Probability the answer rule needs before a yes/no question gets yes, no or "
                                      "mixed rather than unclear; unset: the value chosen at training time.")
