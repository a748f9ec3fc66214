"""Work that fell between two tasks (a worker died after writing, before sending on; a broker lost
its queues) is found again here and re-sent: on the reconciler's own tick (every few minutes), every
crawl tick and at start-up. Every step is
idempotent, so a re-sent message that was in fact still queued costs a little time and duplicates
nothing; to keep that rare, a stage is reconciled only while its queue is empty."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import redis

from agents.deps import Deps
from agents.linker.learning import learning_on
from agents.linker.relinking import relink_requests
from shared.messages import EmbedRequested, LinkRequested, Message, PapersFound


def backlog(deps: Deps, grace: timedelta | None = None) -> list[Message]:
    """Messages for papers without passages, passages not indexed, passages indexed but never linked,
    questions not embedded, questions whose links are not ranked by their verdicts as they are now and
    questions the library has outgrown (`agents.linker.relinking`), older than `grace` (default `schedule.reconcile_grace_s`; younger ones
    are probably still in a queue), for each stage whose queue is empty (with items waiting there, the
    pending ones are probably among them: the next tick looks again)."""
    if grace is None:
        grace = timedelta(seconds=deps.settings.schedule.reconcile_grace_s)
    cutoff = datetime.now(timezone.utc) - grace
    msgs: list[Message] = []
    if _idle(deps, "read"):
        papers = deps.ledger.papers_without_passages(older_than=cutoff)
        msgs += [PapersFound(paper_ids=tuple(papers[i:i + 64])) for i in range(0, len(papers), 64)]
    size = deps.settings.embed.batch_size
    if _idle(deps, "embed", "index"):
        passages = deps.ledger.unindexed_passage_ids(older_than=cutoff)
        msgs += [EmbedRequested(target="passages", ids=tuple(passages[i:i + size]))
                 for i in range(0, len(passages), size)]
        questions = [str(q.id) for q in deps.ledger.questions(status="open")
                     if q.indexed_at is None and q.created_at.replace(tzinfo=timezone.utc) < cutoff]
        if questions:
            msgs.append(EmbedRequested(target="question", ids=tuple(questions)))
    if _idle(deps, "link"):
        unlinked = deps.ledger.unlinked_passage_ids(older_than=cutoff)
        msgs += [LinkRequested(mode="passages", ids=tuple(unlinked[i:i + size]))
                 for i in range(0, len(unlinked), size)]
        if learning_on(deps):  # a verdict whose re-rank request was lost (sent while the broker was down)
            open_ids = [q.id for q in deps.ledger.questions(status="open") if q.indexed_at is not None]
            msgs += [LinkRequested(mode="feedback", ids=(str(qid),), basis=deps.ledger.verdict_basis(qid))
                     for qid in deps.ledger.unlearned_questions(open_ids)]
        msgs += relink_requests(deps)  # a question the library outgrew whose relink request was lost
    return msgs


def _idle(deps: Deps, *queues: str) -> bool:
    """No message waits in these queues (the broker's lists; unknown without a broker: idle)."""
    if deps.redis is None:
        return True
    try:
        return not any(deps.redis.llen(q) for q in queues)
    except (redis.RedisError, OSError):
        return True
