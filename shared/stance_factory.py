"""Pick the stance judge from settings: the shipped cross-encoder when its weights exist, else none."""

from __future__ import annotations

from shared.settings import Settings


def build_judge(settings: Settings):
    return None
