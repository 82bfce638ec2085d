"""
Storage of subscriptions, event history and the delivery queue behind
L{ISubscriptionStore <ipp_ntfy.interfaces.ISubscriptionStore>}.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class QueuedEvent:
    """
    An event waiting for delivery.

    @ivar payload: the event, as the manager encoded it.
    @ivar attempts: failed attempts so far.
    @ivar queuedAt: when it was queued (seconds since the epoch).
    @ivar notBefore: when it may next be tried.
    @ivar lastError: the error of the last failed attempt, if any.
    """

    subscriptionId: int
    sequenceNumber: int
    recipientUri: str
    payload: bytes
    attempts: int
    queuedAt: float
    notBefore: float
    lastError: Optional[str] = None


@dataclass(frozen=True)
class DeadLetter:
    """
    An event given up on: kept, inspectable and replayable.
    """

    subscriptionId: int
    sequenceNumber: int
    recipientUri: str
    payload: bytes
    attempts: int
    queuedAt: float
    deadAt: float
    lastError: str
