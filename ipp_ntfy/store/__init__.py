"""
Storage of subscriptions, event history and the delivery queue behind
L{ISubscriptionStore <ipp_ntfy.interfaces.ISubscriptionStore>}.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from ..subscription import Subscription


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


@dataclass(frozen=True)
class RecipientQueue:
    """
    The events queued for the push subscriptions of one recipient.

    @ivar recipientUri: the subscriptions' C{notify-recipient-uri}.
    @ivar depth: how many events are queued for it.
    @ivar oldestQueuedAt: when the longest-waiting of its subscriptions' first
        queued events (the one with the lowest sequence number) was queued, in
        seconds since the epoch.  A subscription's events go in order, so its
        first is the one the others wait for, and the oldest but after a replay
        (the events queued again come first, queued at the time of the replay).
        The first event is what a store finds from its index, where the oldest
        of all would take reading the whole queue.
    """

    recipientUri: str
    depth: int
    oldestQueuedAt: float


@dataclass(frozen=True)
class QueueStats:
    """
    A store's figures for monitoring, as of a given time (L{ISubscriptionStore.
    queueStats <ipp_ntfy.interfaces.ISubscriptionStore.queueStats>}).

    @ivar recipients: one L{RecipientQueue} per recipient with queued events, by
        recipient URI.  Only push subscriptions count: the queue a subscription
        keeps after it was changed to pull is not delivered, so not here.
    @ivar pushActive: push subscriptions whose lease has not ended.
    @ivar pushExpired: push subscriptions whose lease has ended but which are not
        swept yet.
    @ivar pullActive: pull (ippget) subscriptions whose lease has not ended.
    @ivar pullExpired: pull subscriptions whose lease has ended.
    @ivar deadLetters: how many dead letters are kept.
    """

    recipients: Tuple[RecipientQueue, ...] = ()
    pushActive: int = 0
    pushExpired: int = 0
    pullActive: int = 0
    pullExpired: int = 0
    deadLetters: int = 0


#: The C{lastError} of an event moved to the dead letters by the queue limit.
QUEUE_LIMIT_REACHED = "queue limit reached"


class StoreClosedError(Exception):
    """
    The store has been closed (or is closing): it takes no more operations.
    """


# Argument checks shared by the stores, so that both refuse the same things the
# same way (a failed Deferred, before anything is written) and a bad argument
# never reaches a transaction it would spoil for others.


def _checkInteger(value: object, name: str) -> int:
    """
    @return: C{value}, if it is an L{int} (not a L{bool}).
    @raise TypeError: if it is not.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    return value


def _checkOptionalInteger(value: object, name: str) -> Optional[int]:
    """
    @return: C{value}, if it is an L{int} or C{None}.
    @raise TypeError: if it is neither.
    """
    return None if value is None else _checkInteger(value, name)


def _checkCount(value: object, name: str) -> int:
    """
    @return: C{value}, if it is an L{int} of 0 or more.
    @raise TypeError: if it is not an L{int}.
    @raise ValueError: if it is negative.
    """
    count = _checkInteger(value, name)
    if count < 0:
        raise ValueError(f"{name} must be 0 or more, not {count}")
    return count


def _checkTime(value: object, name: str) -> float:
    """
    @return: C{value} as a L{float}, if it is a number of seconds.
    @raise TypeError: if it is not a number.
    @raise ValueError: if it is NaN, which does not order.
    """
    if type(value) is float and value == value:
        return value  # the common case: a clock's seconds
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, not {type(value).__name__}")
    seconds = float(value)
    if seconds != seconds:
        raise ValueError(f"{name} must not be NaN")
    return seconds


def _checkText(value: object, name: str) -> str:
    """
    @return: C{value}, if it is a L{str}.
    @raise TypeError: if it is not.
    """
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    return value


def _checkSequences(sequences: object) -> List[int]:
    """
    @return: the sequence numbers, ascending, each once.
    @raise TypeError: if C{sequences} is not a collection of L{int}s.
    """
    if type(sequences) is list or type(sequences) is tuple:
        # The usual list of ints: their types checked in one pass (bool, a
        # subclass of int, is refused as below).
        if set(map(type, sequences)) <= _INT_ONLY:
            return sorted(set(sequences))
    if isinstance(sequences, (str, bytes)) or not isinstance(sequences, Iterable):
        raise TypeError("sequences must be a sequence of ints")
    return sorted({_checkInteger(s, "a sequence number") for s in sequences})


_INT_ONLY = frozenset({int})


def _checkEntries(entries: object) -> List[Tuple[int, bytes]]:
    """
    @return: the C{(subscriptionId, payload)} pairs of C{appendEvents}, in order.
    @raise TypeError: if any is not an L{int} and L{bytes}.
    """
    if type(entries) is list:
        # The common case, checked in one pass: a list of pairs of exactly an
        # int and bytes.  Anything else is checked, and refused, below.
        for entry in entries:
            if not (
                type(entry) is tuple
                and len(entry) == 2
                and type(entry[0]) is int
                and type(entry[1]) is bytes
            ):
                break
        else:
            return entries[:]
    if isinstance(entries, (str, bytes)) or not isinstance(entries, Iterable):
        raise TypeError("entries must be a sequence of (subscriptionId, payload)")
    checked = []
    for entry in entries:
        if not isinstance(entry, tuple) or len(entry) != 2:
            raise TypeError("each entry must be a (subscriptionId, payload) tuple")
        subscriptionId, payload = entry
        if not isinstance(payload, bytes):
            raise TypeError(f"a payload must be bytes, not {type(payload).__name__}")
        checked.append((_checkInteger(subscriptionId, "subscriptionId"), payload))
    return checked


def _checkSubscription(subscription: object) -> Subscription:
    """
    @return: C{subscription}, if it is a L{Subscription}.
    @raise TypeError: if it is not.
    """
    if not isinstance(subscription, Subscription):
        raise TypeError(f"expected a Subscription, not {type(subscription).__name__}")
    return subscription


def _queueStats(
    recipients: Iterable[Tuple[str, int, float]],
    subscriptions: Iterable[Tuple[bool, bool, int]],
    deadLetters: int,
) -> QueueStats:
    """
    The L{QueueStats} of what a store counted, in the same form whatever the store.

    @param recipients: C{(recipientUri, depth, oldestQueuedAt)}, in any order,
        a recipient once or several times (once per subscription).
    @param subscriptions: C{(push, expired, count)}, a pair at most once.
    @param deadLetters: how many dead letters there are.
    """
    counts = {(bool(push), bool(expired)): int(n) for push, expired, n in subscriptions}
    byRecipient: Dict[str, Tuple[int, float]] = {}
    for uri, depth, oldest in recipients:
        total, first = byRecipient.get(uri, (0, float(oldest)))
        byRecipient[uri] = (total + int(depth), min(first, float(oldest)))
    return QueueStats(
        recipients=tuple(
            RecipientQueue(uri, depth, oldest)
            for uri, (depth, oldest) in sorted(byRecipient.items())
        ),
        pushActive=counts.get((True, False), 0),
        pushExpired=counts.get((True, True), 0),
        pullActive=counts.get((False, False), 0),
        pullExpired=counts.get((False, True), 0),
        deadLetters=int(deadLetters),
    )


# Re-exports, last: the implementations import the records above from here.
from .memory import MemoryStore  # noqa: E402
from .sqlite import SchemaVersionError, SQLiteStore, StoreFileError  # noqa: E402

__all__ = [
    "QUEUE_LIMIT_REACHED",
    "DeadLetter",
    "MemoryStore",
    "QueueStats",
    "QueuedEvent",
    "RecipientQueue",
    "SQLiteStore",
    "SchemaVersionError",
    "StoreClosedError",
    "StoreFileError",
]
