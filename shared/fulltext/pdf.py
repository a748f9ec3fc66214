"""The one module that touches pypdf: bytes in, the text of each page out.

    read_pages(data, max_pages) -> RawDocument(pages, metadata)

Raises `UnreadableDocument` (a PermanentError: retrying cannot help) with a reason a user can read:

    not a PDF (starts with <!DOCTYPE html>)   an error page served as application/pdf
    encrypted PDF                             a user password is needed (the empty one was tried)
    truncated or damaged PDF: ...             pypdf could not parse it (its message follows)
    no extractable text (scanned?)            pages without a text layer
    over the 300-page limit (412 pages)       refused before any page is extracted

No other pypdf exception escapes. pypdf's warnings (it logs every repaired xref entry) are dropped
while a document is read, so a damaged file cannot flood the worker's log.
"""

from __future__ import annotations

import io
import logging
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import pypdf
from pypdf import PasswordType, PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError

from shared.errors import PermanentError

EXTRACTOR = f"pypdf {pypdf.__version__}"


class UnreadableDocument(PermanentError):
    """A document that cannot be read as a PDF. `reason` is a short phrase a user can read:
    'not a PDF (starts with <!DOCTYPE html>)', 'encrypted PDF', 'truncated or damaged PDF: ...',
    'no extractable text (scanned?)', 'over the 300-page limit'."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class RawDocument:
    """The text pypdf extracts from each page (index 0 is page 1), and the document information
    dictionary as plain strings (keys without the slash: 'Title', 'Subject', ...)."""

    pages: tuple[str, ...]
    metadata: dict[str, str]


_quiet_lock = threading.Lock()
_quiet_readers = 0
_pypdf_level = logging.NOTSET


@contextmanager
def _quiet_pypdf():
    # pypdf logs through a logger per module ("pypdf._reader", "pypdf.generic._base", ...), all under
    # "pypdf"; raising that one's level silences them all. Counted, so overlapping reads in threads
    # restore the level only when the last one ends. Its `warnings.warn` calls are dropped too.
    global _quiet_readers, _pypdf_level
    logger = logging.getLogger("pypdf")
    with _quiet_lock:
        if _quiet_readers == 0:
            _pypdf_level = logger.level
            logger.setLevel(logging.CRITICAL)
        _quiet_readers += 1
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        with _quiet_lock:
            _quiet_readers -= 1
            if _quiet_readers == 0:
                logger.setLevel(_pypdf_level)


def read_pages(data: bytes, max_pages: int = 300) -> RawDocument:
    """The text of every page of the PDF `data`. Raises UnreadableDocument (see the module doc)."""
    _check_signature(data)
    with _quiet_pypdf():
        try:
            return _read(data, max_pages)
        except UnreadableDocument:
            raise
        except FileNotDecryptedError as err:
            raise UnreadableDocument("encrypted PDF") from err
        except DependencyError as err:  # AES without the `cryptography` package
            raise UnreadableDocument(f"encrypted PDF ({_brief(err)})") from err
        except Exception as err:  # pypdf raises many kinds (PdfReadError, ValueError, KeyError, zlib.error...)
            raise UnreadableDocument(f"truncated or damaged PDF: {_brief(err)}") from err


def _check_signature(data: bytes) -> None:
    # Readers accept the header anywhere in the first 1024 bytes (PDF 32000-1, annex H.3).
    if b"%PDF-" in data[:1024]:
        return
    if not data.strip():
        raise UnreadableDocument("not a PDF (empty)")
    head = data.lstrip()[:48].decode("utf-8", errors="replace").splitlines()[0]
    if ">" in head[:24]:
        head = head[: head.index(">") + 1]
    head = "".join(ch if ch.isprintable() else "?" for ch in head[:24]).strip()
    raise UnreadableDocument(f"not a PDF (starts with {head})")


def _read(data: bytes, max_pages: int) -> RawDocument:
    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
        raise UnreadableDocument("encrypted PDF")
    count = len(reader.pages)
    if count == 0:
        raise UnreadableDocument("truncated or damaged PDF: no pages")
    if count > max_pages:
        raise UnreadableDocument(f"over the {max_pages}-page limit ({count} pages)")
    pages, failures, last = [], 0, None
    for page in reader.pages:
        try:
            pages.append(page.extract_text() or "")
        except Exception as err:  # one bad content stream costs its page, not the document
            failures += 1
            pages.append("")
            last = err
    if failures * 2 > count:
        raise UnreadableDocument(f"truncated or damaged PDF: {failures} of {count} pages unreadable ({_brief(last)})")
    if sum(ch.isalpha() for text in pages for ch in text) < 20:
        raise UnreadableDocument("no extractable text (scanned?)")
    return RawDocument(pages=tuple(pages), metadata=_metadata(reader))


def _metadata(reader: PdfReader) -> dict[str, str]:
    try:
        info = reader.metadata or {}
        return {str(k).lstrip("/"): str(v) for k, v in info.items() if isinstance(v, (str, int, float))}
    except Exception:  # a damaged info dictionary costs the title guess, not the reading
        return {}


def _brief(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text[:120]
