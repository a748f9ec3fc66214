"""Digests as text files in the data directory (always on), and optionally in the log."""

from __future__ import annotations

import logging
from pathlib import Path

from shared.notify.base import Digest

log = logging.getLogger("questlog.digest")


class FileNotifier:
    name = "file"

    def __init__(self, directory: Path, console: bool = True) -> None:
        self.directory = Path(directory)
        self.console = console

    def path_for(self, digest: Digest) -> Path:
        return self.directory / f"q{digest.question_id}-{digest.window_end:%Y%m%dT%H%M%S}.txt"

    def send(self, digest: Digest) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path_for(digest).write_text(digest.render_text() + "\n", encoding="utf-8")
        if self.console:
            log.info("digest for Q%d:\n%s", digest.question_id, digest.render_text())
