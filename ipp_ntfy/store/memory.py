"""
A subscription store in memory, for tests and for embedding where nothing needs to
survive a restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Collection, Dict, List, Optional, Sequence, Tuple

from twisted.internet.defer import Deferred, execute
from zope.interface import implementer

from ..interfaces import ISubscriptionStore
from ..subscription import Subscription
from . import (
    QUEUE_LIMIT_REACHED,
    DeadLetter,
    QueuedEvent,
    QueueStats,
    StoreClosedError,
    _checkCount,
    _checkEntries,
    _checkInteger,
    _checkOptionalInteger,
    _checkSequences,
    _checkSubscription,
    _checkText,
    _checkTime,
    _queueStats,
)


@dataclass(frozen=True)
class _Queued:
    """
    A queued event; the subscription and recipient are those it is filed under.
    """

    payload: bytes
    attempts: int
    queuedAt: float
    notBefore: float
    lastError: Optional[str] = None


@implementer(ISubscriptionStore)
class MemoryStore:
    """
    L{ISubscriptionStore} in dictionaries.  Every method returns a L{Deferred} that
    has already fired: with the result, or with the error for a bad argument (a
    L{TypeError} or L{ValueError}, before anything changes) or for a closed store
    (L{StoreClosedError}).

    It behaves as L{SQLiteStore <ipp_ntfy.store.sqlite.SQLiteStore>} does, and the
    same tests hold both to that:

      - The queue limit: appending an event for a subscription that has
        C{maxQueued} or more queued moves its oldest queued event to the dead
        letters, with the error C{"queue limit reached"}; so appending never takes
        a queue past C{maxQueued}.  Replays are not limited (an operator asked for
        them); appends then keep the queue at the length it has.
      - Only a push subscription (one with a C{recipientUri}) has queued events due:
        a subscription changed to pull keeps its queue, but L{dueEvents} and
        L{nextDue} ignore it, and replays do not queue for it.
      - A dead letter is one per event: dead-lettering an event again replaces the
        old one.  Replaying a dead letter removes it, even when the event was
        queued already (then it is not counted).

    @ivar maxQueued: see L{ISubscriptionStore.maxQueued}.
    """

    def __init__(self, maxQueued: int = 10000) -> None:
        """
        @param maxQueued: the most events queued per subscription, 1 or more.
        """
        if _checkInteger(maxQueued, "maxQueued") < 1:
            raise ValueError(f"maxQueued must be 1 or more, not {maxQueued}")
        self.maxQueued = maxQueued
        self._nextId = 1
        self._subscriptions: Dict[int, Subscription] = {}
        self._history: Dict[int, Dict[int, Tuple[bytes, float]]] = {}
        self._queues: Dict[int, Dict[int, _Queued]] = {}
        self._deadLetters: Dict[Tuple[int, int], DeadLetter] = {}
        self._cursors: Dict[str, str] = {}
        self._closed = False

    def _checkOpen(self) -> None:
        if self._closed:
            raise StoreClosedError()

    # Subscriptions.

    def createSubscription(self, subscription: Subscription) -> Deferred[Subscription]:
        """
        See L{ISubscriptionStore.createSubscription}.  The C{subscriptionId} and
        C{lastSequence} given are ignored: the stored subscription has a new id and
        a C{lastSequence} of 0.
        """
        return execute(self._createSubscription, subscription)

    def _createSubscription(self, subscription: Subscription) -> Subscription:
        self._checkOpen()
        subscription = _checkSubscription(subscription)
        stored = subscription.replace(subscriptionId=self._nextId, lastSequence=0)
        self._nextId += 1
        self._subscriptions[stored.subscriptionId] = stored
        return stored

    def getSubscription(self, subscriptionId: int) -> Deferred[Optional[Subscription]]:
        """
        See L{ISubscriptionStore.getSubscription}.
        """
        return execute(self._getSubscription, subscriptionId)

    def _getSubscription(self, subscriptionId: int) -> Optional[Subscription]:
        self._checkOpen()
        return self._subscriptions.get(_checkInteger(subscriptionId, "subscriptionId"))

    def listSubscriptions(
        self, printerUri: Optional[str] = None, jobId: Optional[int] = None
    ) -> Deferred[List[Subscription]]:
        """
        See L{ISubscriptionStore.listSubscriptions}: with neither argument, all of
        them.
        """
        return execute(self._listSubscriptions, printerUri, jobId)

    def _listSubscriptions(
        self, printerUri: Optional[str], jobId: Optional[int]
    ) -> List[Subscription]:
        self._checkOpen()
        if printerUri is not None:
            _checkText(printerUri, "printerUri")
        _checkOptionalInteger(jobId, "jobId")
        return [
            subscription
            for _, subscription in sorted(self._subscriptions.items())
            if (printerUri is None or subscription.printerUri == printerUri)
            and (jobId is None or subscription.jobId == jobId)
        ]

    def updateSubscription(self, subscription: Subscription) -> Deferred[bool]:
        """
        See L{ISubscriptionStore.updateSubscription}.
        """
        return execute(self._updateSubscription, subscription)

    def _updateSubscription(self, subscription: Subscription) -> bool:
        self._checkOpen()
        subscription = _checkSubscription(subscription)
        current = self._subscriptions.get(subscription.subscriptionId)
        if current is None:
            return False
        self._subscriptions[subscription.subscriptionId] = subscription.replace(
            lastSequence=current.lastSequence
        )
        return True

    def cancelSubscription(self, subscriptionId: int) -> Deferred[bool]:
        """
        See L{ISubscriptionStore.cancelSubscription}.
        """
        return execute(self._cancelSubscription, subscriptionId)

    def _cancelSubscription(self, subscriptionId: int) -> bool:
        self._checkOpen()
        _checkInteger(subscriptionId, "subscriptionId")
        if self._subscriptions.pop(subscriptionId, None) is None:
            return False
        self._history.pop(subscriptionId, None)
        self._queues.pop(subscriptionId, None)
        return True

    # History.

    def appendEvents(
        self, entries: Sequence[Tuple[int, bytes]], now: float
    ) -> Deferred[List[int]]:
        """
        See L{ISubscriptionStore.appendEvents}, and the queue limit above.
        """
        return execute(self._appendEvents, entries, now)

    def _appendEvents(
        self, entries: Sequence[Tuple[int, bytes]], now: float
    ) -> List[int]:
        self._checkOpen()
        checked = _checkEntries(entries)
        now = _checkTime(now, "now")
        sequences = []
        appended: Dict[int, int] = {}
        for subscriptionId, payload in checked:
            subscription = self._subscriptions.get(subscriptionId)
            if subscription is None:
                sequences.append(0)
                continue
            sequence = subscription.lastSequence + 1
            self._subscriptions[subscriptionId] = subscription.replace(
                lastSequence=sequence
            )
            self._history.setdefault(subscriptionId, {})[sequence] = (payload, now)
            if subscription.isPush:
                queue = self._queues.setdefault(subscriptionId, {})
                queue[sequence] = _Queued(payload, 0, now, now)
                appended[subscriptionId] = appended.get(subscriptionId, 0) + 1
            sequences.append(sequence)
        for subscriptionId, count in appended.items():
            self._limitQueue(subscriptionId, count, now)
        return sequences

    def _limitQueue(self, subscriptionId: int, appended: int, now: float) -> None:
        """
        Apply the queue limit after C{appended} events were queued at once: as if
        each, on arrival, had moved the oldest queued event away if the queue was at
        the limit.  As the new events come last, that moves the oldest ones of all.
        """
        queue = self._queues[subscriptionId]
        before = len(queue) - appended
        excess = appended - max(0, self.maxQueued - before)
        if excess <= 0:
            return
        for sequence in sorted(queue)[:excess]:
            self._bury(subscriptionId, sequence, QUEUE_LIMIT_REACHED, now)

    def eventsSince(
        self, subscriptionId: int, sequence: int, limit: int
    ) -> Deferred[List[Tuple[int, bytes, float]]]:
        """
        See L{ISubscriptionStore.eventsSince}.
        """
        return execute(self._eventsSince, subscriptionId, sequence, limit)

    def _eventsSince(
        self, subscriptionId: int, sequence: int, limit: int
    ) -> List[Tuple[int, bytes, float]]:
        self._checkOpen()
        _checkInteger(subscriptionId, "subscriptionId")
        _checkInteger(sequence, "sequence")
        _checkCount(limit, "limit")
        history = self._history.get(subscriptionId, {})
        found = [s for s in sorted(history) if s >= sequence][:limit]
        return [(s, *history[s]) for s in found]

    def pruneHistory(self, keepLast: int, olderThan: float) -> Deferred[int]:
        """
        See L{ISubscriptionStore.pruneHistory}.
        """
        return execute(self._pruneHistory, keepLast, olderThan)

    def _pruneHistory(self, keepLast: int, olderThan: float) -> int:
        self._checkOpen()
        _checkCount(keepLast, "keepLast")
        olderThan = _checkTime(olderThan, "olderThan")
        dropped = 0
        for history in self._history.values():
            sequences = sorted(history)
            beyond = sequences[: max(0, len(sequences) - keepLast)]
            for sequence in beyond:
                if history[sequence][1] < olderThan:
                    del history[sequence]
                    dropped += 1
        return dropped

    # The queue.

    def _heads(self) -> List[Tuple[float, int]]:
        """
        @return: C{(notBefore, subscriptionId)} of the oldest queued event of each
            push subscription, ascending.
        """
        heads = []
        for subscriptionId, queue in self._queues.items():
            if queue and self._subscriptions[subscriptionId].isPush:
                heads.append((queue[min(queue)].notBefore, subscriptionId))
        return sorted(heads)

    def dueEvents(
        self,
        now: float,
        perSubscription: int,
        limit: int,
        exclude: Collection[int] = (),
    ) -> Deferred[List[QueuedEvent]]:
        """
        See L{ISubscriptionStore.dueEvents}.  Heads due at the same time come by
        subscription id.
        """
        return execute(self._dueEvents, now, perSubscription, limit, exclude)

    def _dueEvents(
        self,
        now: float,
        perSubscription: int,
        limit: int,
        exclude: Collection[int] = (),
    ) -> List[QueuedEvent]:
        self._checkOpen()
        now = _checkTime(now, "now")
        _checkCount(perSubscription, "perSubscription")
        _checkCount(limit, "limit")
        excluded = frozenset(exclude)
        due: List[QueuedEvent] = []
        for notBefore, subscriptionId in self._heads():
            if notBefore > now or len(due) >= limit:
                break
            if subscriptionId in excluded:
                continue
            recipientUri = self._subscriptions[subscriptionId].recipientUri
            assert recipientUri is not None
            queue = self._queues[subscriptionId]
            take = min(perSubscription, limit - len(due))
            for sequence in sorted(queue)[:take]:
                queued = queue[sequence]
                due.append(
                    QueuedEvent(
                        subscriptionId,
                        sequence,
                        recipientUri,
                        queued.payload,
                        queued.attempts,
                        queued.queuedAt,
                        queued.notBefore,
                        queued.lastError,
                    )
                )
        return due

    def nextDue(self) -> Deferred[Optional[float]]:
        """
        See L{ISubscriptionStore.nextDue}.
        """
        return execute(self._nextDue)

    def _nextDue(self) -> Optional[float]:
        self._checkOpen()
        heads = self._heads()
        return heads[0][0] if heads else None

    def acknowledge(
        self, subscriptionId: int, sequences: Sequence[int]
    ) -> Deferred[None]:
        """
        See L{ISubscriptionStore.acknowledge}.  Events not queued are ignored.
        """
        return execute(self._acknowledge, subscriptionId, sequences)

    def _acknowledge(self, subscriptionId: int, sequences: Sequence[int]) -> None:
        self._checkOpen()
        _checkInteger(subscriptionId, "subscriptionId")
        queue = self._queues.get(subscriptionId, {})
        for sequence in _checkSequences(sequences):
            queue.pop(sequence, None)

    def reschedule(
        self,
        subscriptionId: int,
        sequences: Sequence[int],
        notBefore: float,
        error: str,
    ) -> Deferred[None]:
        """
        See L{ISubscriptionStore.reschedule}.  Events not queued are ignored; a
        sequence number given twice counts once.
        """
        return execute(self._reschedule, subscriptionId, sequences, notBefore, error)

    def _reschedule(
        self,
        subscriptionId: int,
        sequences: Sequence[int],
        notBefore: float,
        error: str,
    ) -> None:
        self._checkOpen()
        _checkInteger(subscriptionId, "subscriptionId")
        checked = _checkSequences(sequences)
        notBefore = _checkTime(notBefore, "notBefore")
        _checkText(error, "error")
        queue = self._queues.get(subscriptionId, {})
        for sequence in checked:
            queued = queue.get(sequence)
            if queued is not None:
                queue[sequence] = _Queued(
                    queued.payload,
                    queued.attempts + 1,
                    queued.queuedAt,
                    notBefore,
                    error,
                )

    def queueDepth(self, subscriptionId: Optional[int] = None) -> Deferred[int]:
        """
        See L{ISubscriptionStore.queueDepth}.
        """
        return execute(self._queueDepth, subscriptionId)

    def _queueDepth(self, subscriptionId: Optional[int]) -> int:
        self._checkOpen()
        owner = _checkOptionalInteger(subscriptionId, "subscriptionId")
        if owner is None:
            return sum(len(queue) for queue in self._queues.values())
        return len(self._queues.get(owner, {}))

    def queueStats(self, now: float) -> Deferred[QueueStats]:
        """
        See L{ISubscriptionStore.queueStats}.
        """
        return execute(self._queueStats, now)

    def _queueStats(self, now: float) -> QueueStats:
        self._checkOpen()
        now = _checkTime(now, "now")
        recipients: List[Tuple[str, int, float]] = []
        for subscriptionId, queue in self._queues.items():
            recipientUri = self._subscriptions[subscriptionId].recipientUri
            if queue and recipientUri is not None:
                head = queue[min(queue)]
                recipients.append((recipientUri, len(queue), head.queuedAt))
        counts: Dict[Tuple[bool, bool], int] = {}
        for subscription in self._subscriptions.values():
            key = (subscription.isPush, subscription.expired(now))
            counts[key] = counts.get(key, 0) + 1
        return _queueStats(
            recipients,
            [(push, expired, n) for (push, expired), n in counts.items()],
            len(self._deadLetters),
        )

    def replayHistory(
        self, subscriptionId: int, fromSequence: int, now: float
    ) -> Deferred[int]:
        """
        See L{ISubscriptionStore.replayHistory}: 0 for a pull subscription.  The
        dead letters of the events queued again stay.
        """
        return execute(self._replayHistory, subscriptionId, fromSequence, now)

    def _replayHistory(self, subscriptionId: int, fromSequence: int, now: float) -> int:
        self._checkOpen()
        _checkInteger(subscriptionId, "subscriptionId")
        _checkInteger(fromSequence, "fromSequence")
        now = _checkTime(now, "now")
        subscription = self._subscriptions.get(subscriptionId)
        if subscription is None or not subscription.isPush:
            return 0
        history = self._history.get(subscriptionId, {})
        queue = self._queues.setdefault(subscriptionId, {})
        queued = 0
        for sequence in sorted(history):
            if sequence >= fromSequence and sequence not in queue:
                queue[sequence] = _Queued(history[sequence][0], 0, now, now)
                queued += 1
        return queued

    # Dead letters.

    def _bury(self, subscriptionId: int, sequence: int, error: str, now: float) -> None:
        """
        Move a queued event to the dead letters.
        """
        queued = self._queues[subscriptionId].pop(sequence)
        recipientUri = self._subscriptions[subscriptionId].recipientUri
        self._deadLetters[subscriptionId, sequence] = DeadLetter(
            subscriptionId,
            sequence,
            recipientUri or "",
            queued.payload,
            queued.attempts,
            queued.queuedAt,
            now,
            error,
        )

    def deadLetter(
        self, subscriptionId: int, sequences: Sequence[int], error: str, now: float
    ) -> Deferred[None]:
        """
        See L{ISubscriptionStore.deadLetter}.  Events not queued are ignored.
        """
        return execute(self._deadLetter, subscriptionId, sequences, error, now)

    def _deadLetter(
        self, subscriptionId: int, sequences: Sequence[int], error: str, now: float
    ) -> None:
        self._checkOpen()
        _checkInteger(subscriptionId, "subscriptionId")
        checked = _checkSequences(sequences)
        _checkText(error, "error")
        now = _checkTime(now, "now")
        queue = self._queues.get(subscriptionId, {})
        for sequence in checked:
            if sequence in queue:
                self._bury(subscriptionId, sequence, error, now)

    def deadLetters(
        self, subscriptionId: Optional[int] = None
    ) -> Deferred[List[DeadLetter]]:
        """
        See L{ISubscriptionStore.deadLetters}.
        """
        return execute(self._listDeadLetters, subscriptionId)

    def _listDeadLetters(self, subscriptionId: Optional[int]) -> List[DeadLetter]:
        self._checkOpen()
        _checkOptionalInteger(subscriptionId, "subscriptionId")
        return [
            letter
            for key, letter in sorted(self._deadLetters.items())
            if subscriptionId is None or key[0] == subscriptionId
        ]

    def replayDeadLetters(
        self, subscriptionId: Optional[int], now: float
    ) -> Deferred[int]:
        """
        See L{ISubscriptionStore.replayDeadLetters}.  Dead letters of a subscription
        that is gone or is no longer a push subscription stay where they are.
        """
        return execute(self._replayDeadLetters, subscriptionId, now)

    def _replayDeadLetters(self, subscriptionId: Optional[int], now: float) -> int:
        self._checkOpen()
        _checkOptionalInteger(subscriptionId, "subscriptionId")
        now = _checkTime(now, "now")
        queued = 0
        for key in sorted(self._deadLetters):
            owner, sequence = key
            if subscriptionId is not None and owner != subscriptionId:
                continue
            subscription = self._subscriptions.get(owner)
            if subscription is None or not subscription.isPush:
                continue
            letter = self._deadLetters.pop(key)
            queue = self._queues.setdefault(owner, {})
            if sequence not in queue:
                queue[sequence] = _Queued(letter.payload, 0, now, now)
                queued += 1
        return queued

    def getCursor(self, name: str) -> Deferred[Optional[str]]:
        """
        See L{ISubscriptionStore.getCursor}.
        """
        return execute(self._getCursor, name)

    def _getCursor(self, name: str) -> Optional[str]:
        self._checkOpen()
        if not isinstance(name, str):
            raise TypeError(f"name must be a str, not {type(name).__name__}")
        return self._cursors.get(name)

    def setCursor(self, name: str, value: Optional[str]) -> Deferred[None]:
        """
        See L{ISubscriptionStore.setCursor}.
        """
        return execute(self._setCursor, name, value)

    def _setCursor(self, name: str, value: Optional[str]) -> None:
        self._checkOpen()
        if not isinstance(name, str) or not (value is None or isinstance(value, str)):
            raise TypeError("a cursor's name and value are strings")
        if value is None:
            self._cursors.pop(name, None)
        else:
            self._cursors[name] = value

    def close(self) -> Deferred[None]:
        """
        See L{ISubscriptionStore.close}: after it, every method fails with
        L{StoreClosedError}.
        """
        self._closed = True
        return execute(lambda: None)
