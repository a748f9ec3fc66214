"""Readings kept as JSON files named by the sha256 of the document's bytes.

A PDF is read once: the same bytes again (another version's fetch that served the same file, a
re-run of a task) are answered from the file without opening pypdf. Files are written whole or not
at all (a temporary file, then os.replace), so a crash never leaves half a reading; a file that
cannot be parsed anyway (disk trouble, an older schema) is read again and replaced, not an error.
Failures (UnreadableDocument) are not cached: they cost one pypdf open each time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

from shared.fulltext import reading as reading_module
from shared.fulltext.pdf import UnreadableDocument
from shared.fulltext.reading import Reading

log = logging.getLogger(__name__)


class ReadingCache:
    """Readings cached as JSON under `folder` by the sha256 of the document bytes: a second read costs nothing."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    @staticmethod
    def key(data: bytes) -> str:
        """The sha256 of `data`, in hex: the reading's name in the cache."""
        return hashlib.sha256(data).hexdigest()

    def path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> Reading | None:
        """The cached reading named `key`, or None when there is none or it cannot be parsed."""
        path = self.path(key)
        try:
            return Reading.from_json(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
            log.warning("reading %s in the cache is unreadable (%s): it will be read again", key[:12], err)
            return None

    def read_pdf(self, data: bytes, *, max_pages: int = 300) -> Reading:
        """`shared.fulltext.read_pdf(data)`, from the cache when these bytes were read before.
        Raises UnreadableDocument as read_pdf does (also for a cached reading over `max_pages`)."""
        key = self.key(data)
        cached = self.get(key)
        if cached is not None:
            if cached.pages > max_pages:
                raise UnreadableDocument(f"over the {max_pages}-page limit ({cached.pages} pages)")
            return cached
        fresh = reading_module.read_pdf(data, max_pages=max_pages)
        self._write(key, fresh)
        return fresh

    def _write(self, key: str, reading: Reading) -> None:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{key[:12]}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(reading.to_json(), out, ensure_ascii=False)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
