"""Claims: a message is run by one process at a time. A duplicate delivery (Redis redelivers an
unacknowledged task after the visibility timeout; a user re-sends) waits for the holder to finish."""

from __future__ import annotations

import os
import socket

CLAIM_TTL_S = 900


def take_claim(client, key: str) -> bool:
    """Claim a message for this process. A claim whose holder died on this host (a killed pool
    process never releases it) is taken over at once; elsewhere it expires after CLAIM_TTL_S."""
    me = f"{socket.gethostname()}:{os.getpid()}"
    if client.set(key, me, nx=True, ex=CLAIM_TTL_S):
        return True
    holder = (client.get(key) or b"").decode()
    host, _, pid = holder.rpartition(":")
    if host == socket.gethostname() and pid.isdigit() and not _alive(int(pid)):
        return bool(client.set(key, me, xx=True, ex=CLAIM_TTL_S))
    return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
