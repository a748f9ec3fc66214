"""What a user's write tells the running pipeline: the web app's and the CLI's `ask`, edits and `verdict`.

The web app runs these as background tasks after the response is sent. When no broker answers nothing is sent: a new
or edited question is embedded by the reconciler once the stack runs, like one asked while it is
down. A failure to send is logged, never shown as a failed write (the write is in the ledger).
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from shared.ledger import Ledger
from shared.messages import EmbedRequested
from shared.settings import Settings

log = logging.getLogger("questlog.writes")


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


def _embed_and_search(settings: Settings, question_id: int) -> list:
    from agents.scout.plan import question_crawls
    from shared.sources.registry import enabled_names

    return [EmbedRequested(target="question", ids=(str(question_id),)),
            *question_crawls(settings, enabled_names(settings), question_id, datetime.now(timezone.utc))]


def question_added(settings: Settings, question_id: int) -> None:
    """Search and backfill a new question at once, as `questlog ask` does."""
    _send(settings, lambda: _embed_and_search(settings, question_id))


def question_edited(settings: Settings, question_id: int) -> None:
    """Embed an edited question's new text (its backfill follows) and search it afresh at once (the ledger
    dropped its search cursors, so these are first searches)."""
    _send(settings, lambda: _embed_and_search(settings, question_id))


def verdict_messages(settings: Settings, ledger: Ledger, evidence_id: str) -> list:
    """What a verdict on a link tells the pipeline: re-link its question with what its verdicts teach now
    (learning from verdicts, with the judge's gate), and fetch and read an accepted paper not yet read
    in full (unless full text is off)."""
    from shared.ledger.models import EvidenceRow
    from shared.messages import FullTextRequested, LinkRequested

    with ledger.session() as s:
        row = s.get(EvidenceRow, evidence_id)
        if row is None:
            return []
        question_id, paper_id, verdict = row.question_id, row.paper_id, row.verdict
    out = []
    if settings.link.gate == "judge" and settings.link.learn_from_verdicts:
        out.append(LinkRequested(mode="feedback", ids=(str(question_id),), basis=ledger.verdict_basis(question_id)))
    if verdict == "accepted" and settings.fulltext.fetch != "off" and ledger.fulltext(paper_id) is None:
        out.append(FullTextRequested(paper_ids=(paper_id,), reason="accepted"))
    return out


def verdict_set(settings: Settings, ledger: Ledger, evidence_id: str) -> None:
    """Send `verdict_messages`, as `questlog verdict` does."""
    messages = verdict_messages(settings, ledger, evidence_id)
    if messages:
        _send(settings, lambda: messages)
