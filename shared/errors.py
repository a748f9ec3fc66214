"""The error tree. Every failure says whether trying again can help.

    QuestlogError
    ├── TransientError   network trouble, 5xx, 429, a store that is down: retry later
    │                    (retry_after: seconds the far end asked us to wait, if it said;
    │                     exhausted: already retried where it was raised, not to be retried again)
    └── PermanentError   bad input, 4xx, unparseable data, a missing record: retrying
                         cannot help; the message goes to the dead-letter record
        └── NotFound     an id that names nothing
Clients translate library exceptions into these at the boundary.
"""

from __future__ import annotations


class QuestlogError(Exception):
    """Base of every error questlog raises on purpose."""


class TransientError(QuestlogError):
    """`exhausted`: the layer that raised it already retried it as often as it should be; the task
    layer does not retry it again (retries live in one layer) but dead-letters it."""

    def __init__(self, message: str, retry_after: float | None = None, exhausted: bool = False):
        super().__init__(message)
        self.retry_after = retry_after
        self.exhausted = exhausted


class PermanentError(QuestlogError):
    pass


class NotFound(PermanentError):
    pass
