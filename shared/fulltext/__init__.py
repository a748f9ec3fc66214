"""Reading papers in full from their PDFs (pypdf): text, pages, sections, passages, a cache.

    read_pdf(data, max_pages=300) -> Reading     raises UnreadableDocument (a PermanentError)
    ReadingCache(folder).read_pdf(data)          the same, answered from disk the second time

Fetching the PDF is `shared.fulltext.fetch`.
"""

from shared.fulltext.cache import ReadingCache
from shared.fulltext.pdf import UnreadableDocument
from shared.fulltext.reading import BodyPassage, Reading, read_pdf

__all__ = ["BodyPassage", "Reading", "ReadingCache", "UnreadableDocument", "read_pdf"]
