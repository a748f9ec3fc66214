"""The evidence judge: is a passage evidence for a question, what does it answer, and where.

`EvidenceRulesJudge` (offline, learned rules over two small models, the default) and `LLMEvidenceJudge` (an
OpenAI-compatible endpoint) both implement `EvidenceJudge`. Importing this package does
not import torch.
"""

from shared.relevance.base import DEFAULT_MODEL_DIR, Assessment, EvidenceJudge, JudgeSettings

__all__ = ["DEFAULT_MODEL_DIR", "Assessment", "EvidenceJudge", "JudgeSettings", "build_judge", "check_judge"]


def build_judge(settings, cache=None) -> EvidenceJudge:
    """The judge the settings ask for: the LLM when `stance.backend` is 'llm', else the offline rules judge.

    Raises PermanentError naming the folder when the evidence model is missing or broken.
    """
    if settings.stance.backend == "llm":
        from shared.relevance.llm import LLMEvidenceJudge

        return LLMEvidenceJudge(settings.llm, cache=cache)
    from shared.relevance.judge import EvidenceRulesJudge

    return EvidenceRulesJudge(settings.judge)


def check_judge(settings) -> None:
    """Fail fast, before any worker starts: raises PermanentError naming the folder when the evidence model
    the linker will load is missing or broken (nothing is loaded; torch is not imported)."""
    if settings.stance.backend != "llm" and settings.link.gate == "judge":
        build_judge(settings)
