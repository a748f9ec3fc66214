"""What a write in the web app tells the running pipeline, as the CLI's `ask` and `verdict` do.

Run as background tasks after the response is sent. When no broker answers nothing is sent: a new
or edited question is embedded by the reconciler once the stack runs, like one asked while it is
down. A failure to send is logged, never shown as a failed write (the write is in the ledger).
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from shared.ledger import Ledger
from shared.messages import EmbedRequested
from shared.settings import Settings

log = logging.getLogger("questlog.web")


def _send(settings: Settings, messages_for) -> None:
    from questlog.cli_common import pipeline_or_none

    try:
        pipe = pipeline_or_none(settings)
        if pipe is None:
            return
        try:
            pipe.send(messages_for())
        finally:
            pipe.close()
    except Exception as e:  # the stack went away meanwhile; the reconciler catches up
        log.warning("could not tell the pipeline: %s", e)


def question_added(settings: Settings, question_id: int) -> None:
    """Search and backfill a new question at once, as `questlog ask` does."""
    def messages():
        from agents.scout.plan import question_crawls
        from shared.sources.registry import enabled_names

        return [EmbedRequested(target="question", ids=(str(question_id),)),
                *question_crawls(settings, enabled_names(settings), question_id, datetime.now(timezone.utc))]

    _send(settings, messages)


def question_edited(settings: Settings, question_id: int) -> None:
    """Embed an edited question's new text (its backfill follows)."""
    _send(settings, lambda: [EmbedRequested(target="question", ids=(str(question_id),))])


def link_accepted(settings: Settings, ledger: Ledger, evidence_id: str) -> None:
    """Fetch and read an accepted paper in full, as `questlog verdict ID accept` does."""
    if settings.fulltext.fetch == "off":
        return
    from shared.ledger.models import EvidenceRow
    from shared.messages import FullTextRequested

    with ledger.session() as s:
        row = s.get(EvidenceRow, evidence_id)
    if row is None or ledger.fulltext(row.paper_id) is not None:
        return
    _send(settings, lambda: [FullTextRequested(paper_ids=(row.paper_id,), reason="accepted")])
