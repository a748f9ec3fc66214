"""Pick the stance judge from settings: the LLM when configured, else the trained cross-encoder
when its weights are there, else none (links are then recorded as neutral, without rationale)."""

from __future__ import annotations

import logging

from shared.settings import Settings
from shared.stance import DEFAULT_MODEL_DIR, make_judge

log = logging.getLogger(__name__)


def build_judge(settings: Settings):
    if settings.stance.backend == "llm":
        return make_judge(settings.stance, settings.llm)
    model_dir = settings.stance.model_dir or DEFAULT_MODEL_DIR
    if not (model_dir / "meta.json").exists():
        log.warning("no stance model in %s: evidence is recorded without stance (run `questlog train stance`)",
                    model_dir)
        return None
    return make_judge(settings.stance)
