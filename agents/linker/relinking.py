"""When a question is due for a relink (`shared.ledger.relinking`), as messages for the linker.

Sent by the linker after each 'passages' run, and by the reconciler, so a lost request is sent
again even when no new paper arrives. Only with the judge's gate: the cosine gate does not depend
on the library. And only while a question was last linked over a library smaller than the one the
judge learned placement on (`reference_passages`): past it, placement means what the judge learned,
and a link that drops in rank as similar papers arrive has not become less relevant. The library is the ledger's count of indexed passages, so no process but the
vector store's owner needs to open the store to ask.
"""

from __future__ import annotations

from agents.linker.candidates import reference_passages
from shared.messages import LinkRequested

# No relink before the library holds twice this many candidate cuts: judged in a library of a few
# cuts, a relink's placements are as unreliable as the first judgement's (its top 40 per retriever
# are half of an 80-passage library), so it would cost a full re-read and settle nothing.
FLOOR_CUTS = 5


def _floor(deps) -> int:
    return FLOOR_CUTS * deps.settings.link.judge_candidates


def relink_requests(deps) -> list[LinkRequested]:
    """One 'relink' per open question whose links were judged in a library `link.relink_growth` times
    smaller than the one now (`basis`: the library size, so a later growth is a new request)."""
    link = deps.settings.link
    if link.gate != "judge" or link.relink_growth <= 1:
        return []
    library = deps.ledger.library_size()
    return [LinkRequested(mode="relink", ids=(str(q),), basis=str(library))
            for q in deps.ledger.due_for_relink(library, link.relink_growth, _floor(deps), reference_passages(deps))]


def relink_due(deps, ids: list[str]) -> list[str]:
    """Those of `ids` still due for a relink (a second request for the same growth finds it done)."""
    link = deps.settings.link
    if link.gate != "judge":
        return []
    due = set(deps.ledger.due_for_relink(deps.ledger.library_size(), link.relink_growth, _floor(deps),
                                         reference_passages(deps)))
    return [i for i in ids if int(i) in due]
