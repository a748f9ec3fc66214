"""Work that fell between two tasks (a worker died after writing, before sending on) is found
again here and re-sent, on every crawl tick and at start-up. Every step is idempotent, so a
re-sent message that was in fact still queued costs a little time and duplicates nothing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from agents.deps import Deps
from shared.messages import EmbedRequested, LinkRequested, Message, PapersFound


def backlog(deps: Deps, grace: timedelta = timedelta(minutes=10)) -> list[Message]:
    """Messages for papers without passages, passages not indexed, passages indexed but never linked
    and questions not embedded, older than `grace` (younger ones are probably still in a queue)."""
    cutoff = datetime.now(timezone.utc) - grace
    msgs: list[Message] = []
    papers = deps.ledger.papers_without_passages(older_than=cutoff)
    msgs += [PapersFound(paper_ids=tuple(papers[i:i + 64])) for i in range(0, len(papers), 64)]
    size = deps.settings.embed.batch_size
    passages = deps.ledger.unindexed_passage_ids(older_than=cutoff)
    msgs += [EmbedRequested(target="passages", ids=tuple(passages[i:i + size]))
             for i in range(0, len(passages), size)]
    unlinked = deps.ledger.unlinked_passage_ids(older_than=cutoff)
    msgs += [LinkRequested(mode="passages", ids=tuple(unlinked[i:i + size])) for i in range(0, len(unlinked), size)]
    questions = [str(q.id) for q in deps.ledger.questions(status="open")
                 if q.indexed_at is None and q.created_at.replace(tzinfo=timezone.utc) < cutoff]
    if questions:
        msgs.append(EmbedRequested(target="question", ids=tuple(questions)))
    return msgs
