"""
What became of one event handed to a delivery method: the vocabulary shared by the
delivery method (which finds out) and the retry queue (which acts on it).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Optional


class OutcomeKind(Enum):
    """
    @cvar DELIVERED: the listener consumed the event.
    @cvar RETRY: not delivered this time (unreachable, timeout, 5xx, 429, a 0x05xx
        per-report status): try again later.
    @cvar CANCEL: the listener does not want this subscription any more (per-report
        0x0406, HTTP 404 or 410; or 0x0006, with C{consumed} true): cancel it.
    @cvar FAILED: will never succeed as it stands (a response that is not IPP, a
        client error other than the ones above): dead-letter it.
    """

    DELIVERED = "delivered"
    RETRY = "retry"
    CANCEL = "cancel"
    FAILED = "failed"


@dataclass(frozen=True)
class DeliveryOutcome:
    """
    The outcome for one event.

    @ivar kind: see L{OutcomeKind}.
    @ivar reason: words for logs and dead letters, e.g. C{"connection refused"}.
    @ivar retryAfter: seconds the listener asked us to wait (HTTP C{Retry-After}),
        if it did.
    @ivar consumed: with L{OutcomeKind.CANCEL}: the event itself was consumed
        (status 0x0006), so it counts as delivered.
    @ivar status: the listener's per-report status code, when it gave one.
    """

    kind: OutcomeKind
    reason: str = ""
    retryAfter: Optional[float] = None
    consumed: bool = False
    status: Optional[int] = None

    @property
    def delivered(self) -> bool:
        """
        Whether the event reached the listener and was consumed.
        """
        return self.kind is OutcomeKind.DELIVERED or (
            self.kind is OutcomeKind.CANCEL and self.consumed
        )


DELIVERED = DeliveryOutcome(OutcomeKind.DELIVERED)
