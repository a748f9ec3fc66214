"""Claims: a message is run by one process at a time. A duplicate delivery (Redis redelivers an
unacknowledged task after the visibility timeout; a user re-sends) waits for the holder to finish."""

from __future__ import annotations

import os
import socket

import redis

CLAIM_TTL_S = 900


def take_claim(client, key: str) -> bool:
    """Claim a message for this process. A claim is stale, and taken over at once, when its holder
    died on this host (a killed pool process never releases it) or when it was taken before the broker
    last restarted (a holder cut off by the restart could not release it, and its task ended without
    acknowledging or re-queueing; the reconciler's copy must not wait on it); elsewhere it expires
    after CLAIM_TTL_S."""
    run = _broker_run(client)
    me = f"{socket.gethostname()}:{os.getpid()}:{run}"
    if client.set(key, me, nx=True, ex=CLAIM_TTL_S):
        return True
    holder = (client.get(key) or b"").decode()
    host, pid, held_run = _parse(holder)
    restarted = bool(run and held_run) and held_run != run
    if restarted or (host == socket.gethostname() and pid.isdigit() and not _alive(int(pid))):
        return bool(client.set(key, me, xx=True, ex=CLAIM_TTL_S))
    return False


def release_claim(client, key: str) -> None:
    """Release a claim. With the broker unreachable it stays behind, and the broker's restart (its run
    id changes) or its TTL frees it."""
    try:
        client.delete(key)
    except (redis.RedisError, OSError):
        pass


def _broker_run(client) -> str:
    """The broker's run id: a new one each time the server starts, even with its data restored."""
    try:
        return str(client.info("server").get("run_id") or "")
    except (redis.RedisError, OSError, AttributeError):
        return ""


def _parse(holder: str) -> tuple[str, str, str]:
    """'host:pid:run' (run: the broker's run id when claimed); older claims are 'host:pid'."""
    head, _, last = holder.rpartition(":")
    if last.isdigit() or not head:  # host:pid
        return head, last, ""
    host, _, pid = head.rpartition(":")
    return host, pid, last


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
