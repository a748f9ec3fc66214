"""embed: texts -> vectors (in a short-lived blob); index: blob -> vector store.

Both are idempotent: the blob key and the point ids are deterministic, and
upserts overwrite.
"""

from __future__ import annotations

import logging

import numpy as np

from agents.deps import Deps
from shared.errors import PermanentError
from shared.ids import question_point_id, uuid_for
from shared.messages import EmbedRequested, LinkRequested, Message, VectorsReady
from shared.vectors import SPARSE, VectorPoint
from shared.vectors.lexical import document_vector

log = logging.getLogger(__name__)


def texts_for(msg: EmbedRequested | VectorsReady, deps: Deps) -> tuple[list[str], list[str]]:
    """(ids, texts) that still exist, in message order."""
    if msg.target == "question":
        rows = [deps.ledger.question(int(i)) for i in msg.ids]
        return [str(r.id) for r in rows], [r.text for r in rows]
    rows = deps.ledger.passages(list(msg.ids))
    return [r.id for r in rows], [r.text for r in rows]


def encode_all(deps: Deps, texts: list[str]) -> dict[str, np.ndarray]:
    return {e.name: e.encode(texts) for e in deps.embedders}


def embed(msg: EmbedRequested, deps: Deps) -> list[Message]:
    ids, texts = texts_for(msg, deps)
    if not ids:
        return []
    vectors = encode_all(deps, texts)
    key = uuid_for("blob", msg.target, *ids, *(e.version for e in deps.embedders))
    deps.blobs.put(key, vectors)
    return [VectorsReady(target=msg.target, ids=tuple(ids), blob_key=key)]


def index(msg: VectorsReady, deps: Deps) -> list[Message]:
    if msg.target == "question":
        return _index_questions(msg, deps)
    rows = {r.id: r for r in deps.ledger.passages(list(msg.ids))}
    try:
        vectors = deps.blobs.get(msg.blob_key)
    except PermanentError:
        if rows and all(r.indexed_at is not None for r in rows.values()):
            return [LinkRequested(mode="passages", ids=msg.ids)]  # a second delivery after the blob was dropped
        raise
    points = []
    for i, pid in enumerate(msg.ids):
        row = rows.get(pid)
        if row is None:
            continue
        points.append(VectorPoint(id=pid, dense={name: v[i].tolist() for name, v in vectors.items()},
                                  sparse={SPARSE: document_vector(row.text)},
                                  payload={"paper_id": row.paper_id, "kind": row.kind}))
    deps.store.upsert("passages", points)
    deps.ledger.mark_indexed([p.id for p in points])
    deps.blobs.delete(msg.blob_key)
    return [LinkRequested(mode="passages", ids=tuple(p.id for p in points))] if points else []


def _index_questions(msg: VectorsReady, deps: Deps) -> list[Message]:
    try:
        vectors = deps.blobs.get(msg.blob_key)
    except PermanentError:
        if all(deps.ledger.question(int(q)).indexed_at is not None for q in msg.ids):
            return [LinkRequested(mode="backfill", ids=msg.ids)]  # a second delivery after the blob was dropped
        raise
    points = [VectorPoint(id=question_point_id(int(qid)), dense={n: v[i].tolist() for n, v in vectors.items()},
                          payload={"question_id": int(qid)}) for i, qid in enumerate(msg.ids)]
    deps.store.upsert("questions", points)
    for qid in msg.ids:
        deps.ledger.mark_question_indexed(int(qid))
    deps.blobs.delete(msg.blob_key)
    return [LinkRequested(mode="backfill", ids=msg.ids)]
