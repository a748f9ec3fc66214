"""Full-text readings in the ledger: which papers were read in full, from where, or why not.

One row per paper (see `FullTextRow`). A fetch is claimed here before it goes out, so two workers
never fetch the same paper and a paper version is fetched once: a row for the same version that is
`read` or `unavailable` means "done"; a claim older than `CLAIM_STALE_S` belongs to a worker that
died and is taken over.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.ledger.models import FullTextRow, utcnow

# fetching and reading one PDF takes seconds to a minute; a claim this old was abandoned
CLAIM_STALE_S = 1800.0


class FullTextMixin:
    """Mixed into Ledger; uses its `session` and `retrying`."""

    def fulltext(self, paper_id: str) -> FullTextRow | None:
        with self.session() as s:
            return s.get(FullTextRow, paper_id)

    def fulltexts(self, paper_ids: list[str]) -> dict[str, FullTextRow]:
        with self.session() as s:
            return {r.paper_id: r for r in s.scalars(select(FullTextRow).where(FullTextRow.paper_id.in_(paper_ids)))}

    def claim_fulltext(self, paper_id: str, version: int | None, again: bool = False) -> bool:
        """Claim reading this paper version in full. False when it is done (read, or unavailable, for
        this version) or another worker holds a fresh claim. `again` re-claims a done one (the user
        added a file: a new reading replaces the old)."""

        def write(s: Session) -> bool:
            row = s.get(FullTextRow, paper_id)
            now = utcnow()
            if row is None:
                s.add(FullTextRow(paper_id=paper_id, version=version, status="claimed", updated_at=now))
                return True
            updated = row.updated_at if row.updated_at.tzinfo else row.updated_at.replace(tzinfo=now.tzinfo)
            stale = row.status == "claimed" and now - updated > timedelta(seconds=CLAIM_STALE_S)
            newer = version is not None and (row.version is None or version > row.version)
            if not (stale or newer or (again and row.status != "claimed")):
                return False
            row.version, row.status, row.reason, row.updated_at = version, "claimed", "", now
            return True

        return self.retrying(write)

    def release_fulltext(self, paper_id: str) -> None:
        """Give a claim back (the fetch failed in a way worth trying again later)."""

        def write(s: Session) -> None:
            row = s.get(FullTextRow, paper_id)
            if row is not None and row.status == "claimed":
                s.delete(row)

        self.retrying(write)

    def record_fulltext(self, paper_id: str, status: str, *, version: int | None = None, reason: str = "",
                        origin: str = "", location: str = "", content_hash: str = "", pages: int = 0,
                        passages: int = 0) -> None:
        """Record the outcome of a claimed reading: `read` or `unavailable` (with `reason`)."""

        def write(s: Session) -> None:
            row = s.get(FullTextRow, paper_id) or FullTextRow(paper_id=paper_id)
            s.add(row)
            for k, v in dict(version=version, status=status, reason=reason, origin=origin, location=location,
                             content_hash=content_hash, pages=pages, passages=passages, updated_at=utcnow()).items():
                setattr(row, k, v)

        self.retrying(write)

    def fulltext_counts(self) -> dict[str, int]:
        with self.session() as s:
            return dict(s.execute(select(FullTextRow.status, func.count()).group_by(FullTextRow.status)).all())
