"""Stance and rationale: does a passage support, contradict, or not decide a query, and where.

`CrossEncoderJudge` (offline, trained, the default) and `LLMJudge` (an OpenAI-compatible
endpoint) both implement `StanceJudge`. Importing this package does not import torch.
"""

from shared.stance.base import (
    DEFAULT_MODEL_DIR,
    STANCES,
    Judgement,
    LLMSettings,
    Stance,
    StanceJudge,
    StanceSettings,
)
from shared.stance.cross_encoder import CrossEncoderJudge, sentences_of, split_sentences

__all__ = [
    "DEFAULT_MODEL_DIR",
    "STANCES",
    "CrossEncoderJudge",
    "Judgement",
    "LLMSettings",
    "Stance",
    "StanceJudge",
    "StanceSettings",
    "make_judge",
    "sentences_of",
    "split_sentences",
]


def make_judge(stance: StanceSettings, llm: LLMSettings | None = None) -> StanceJudge:
    """The judge the settings ask for. The LLM backend needs `llm`."""
    if stance.backend == "llm":
        from shared.stance.llm import LLMJudge

        if llm is None:
            from shared.errors import PermanentError

            raise PermanentError("stance backend 'llm' needs LLM settings")
        return LLMJudge(llm)
    return CrossEncoderJudge.from_settings(stance)
