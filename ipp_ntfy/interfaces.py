"""
Every interface of ipp_ntfy, in one place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Collection, List, Optional, Sequence, Tuple, Union

from zope.interface import Attribute, Interface

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred

    from .notification import EncodedEvent, Event
    from .outcome import DeliveryOutcome
    from .store import DeadLetter, QueuedEvent, QueueStats
    from .subscription import Subscription


class INotificationSink(Interface):
    """
    Where a listener hands the events it receives: the application.
    """

    def receive(event: Event) -> Deferred[int]:
        """
        Take one event (an L{ipp_ntfy.notification.Event}).

        @return: a Deferred that fires once the event is safely taken, with the
            per-report status to answer: 0x0000 consumed, 0x0406 unknown
            subscription (the sender cancels it), 0x0006 consumed but cancel the
            subscription, or a 0x05xx status for a temporary failure.  A failure
            counts as a temporary failure.  Nothing is acknowledged to the sender
            before it fires.
        """


class IBatchNotificationSink(INotificationSink):
    """
    A sink that can also take all the events of a report in one call.

    A listener whose sink provides this interface calls L{receiveMany} once a
    report rather than C{receive} once an event: one call, and one Deferred or
    none, where C{receive} costs a Deferred an event (a sink that writes to disk
    can also sync once a report).  C{receive} is still used by whoever has a
    single event.
    """

    def receiveMany(
        events: Sequence[Event],
    ) -> Union[List[int], Deferred[List[int]]]:
        """
        Take the events of one report (L{ipp_ntfy.notification.Event}s, in
        order), as C{receive} would take each in turn.

        @return: the per-report status of each event, in order (the statuses of
            C{receive}): as a list when they are known at once, which spares a
            Deferred; else a Deferred that fires with that list once every event
            is safely taken.  An exception, a failure, or anything but a list
            of one status an event counts as a temporary failure of every event
            of the call: nothing is acknowledged to the sender before the list
            is given.
        """


class IDeliveryMethod(Interface):
    """
    Sends events to a recipient (the HTTP delivery method of
    L{ipp_ntfy.delivery}, or a fake in tests).
    """

    def deliver(
        recipientUri: str, events: Sequence[Event]
    ) -> Deferred[List[DeliveryOutcome]]:
        """
        Send C{events} (L{ipp_ntfy.notification.Event}s, in order) to
        C{recipientUri} in one request where possible.

        @return: a Deferred that fires with one L{DeliveryOutcome} per event, in
            order.  It does not fail: unreachable hosts, timeouts and bad replies are
            outcomes.
        """


class IEncodedDeliveryMethod(IDeliveryMethod):
    """
    A delivery method that also sends events already encoded, as the relay's
    dispatcher makes them from its stored events.
    """

    def deliverEncoded(
        recipientUri: str, events: Sequence[Event | EncodedEvent]
    ) -> Deferred[List[DeliveryOutcome]]:
        """
        As C{deliver}, with each event an L{ipp_ntfy.notification.EncodedEvent}
        or an L{ipp_ntfy.notification.Event}; what goes on the wire is what
        C{deliver} would send for the events they stand for.
        """


class ISubscriptionStore(Interface):
    """
    Durable storage of subscriptions, their event history (for Get-Notifications)
    and their delivery queue.  Every method returns a Deferred that fires once the
    change is durable (committed to disk for a persistent store).

    Events are stored as opaque payload octets: the store assigns sequence numbers
    and keeps order; it never looks inside.  Times are seconds since the epoch
    given by the caller; a store never reads a clock.
    """

    maxQueued: int = Attribute(
        "The most events queued for delivery per subscription; at the limit, "
        "appending another moves the oldest queued one to the dead letters with "
        "the error 'queue limit reached'."
    )

    def createSubscription(subscription: Subscription) -> Deferred[Subscription]:
        """
        Store a new subscription and give it the next subscription id (ids start at
        1 and are never reused).

        @return: the stored subscription, with its id.
        """

    def getSubscription(subscriptionId: int) -> Deferred[Optional[Subscription]]:
        """
        @return: the subscription (with its current C{lastSequence}), or C{None}.
        """

    def listSubscriptions(
        printerUri: Optional[str] = None, jobId: Optional[int] = None
    ) -> Deferred[List[Subscription]]:
        """
        @return: the subscriptions, by ascending id; only those of C{printerUri}
            and, if given, C{jobId}.
        """

    def updateSubscription(subscription: Subscription) -> Deferred[bool]:
        """
        Replace the stored fields of an existing subscription (a renewed lease),
        except C{lastSequence}, which only the store advances.

        @return: C{False} if there is no such subscription.
        """

    def cancelSubscription(subscriptionId: int) -> Deferred[bool]:
        """
        Delete a subscription with its history and its queue; its dead letters stay.

        @return: C{False} if there was no such subscription.
        """

    def appendEvents(
        entries: Sequence[Tuple[int, bytes]], now: float
    ) -> Deferred[List[int]]:
        """
        Add events, atomically: for each C{(subscriptionId, payload)} in order,
        give it the subscription's next sequence number (1, 2, 3... gap-free),
        keep it in the subscription's history and, for a push subscription, queue
        it for delivery (due at C{now}, no attempts yet).

        @return: the sequence number of each entry, in order; 0 for an entry whose
            subscription does not exist (it is dropped).
        """

    def eventsSince(
        subscriptionId: int, sequence: int, limit: int
    ) -> Deferred[List[Tuple[int, bytes, float]]]:
        """
        @return: up to C{limit} history events with a sequence number of at least
            C{sequence}, ascending, as C{(sequence, payload, storedAt)}.
        """

    def pruneHistory(keepLast: int, olderThan: float) -> Deferred[int]:
        """
        Drop history events that are both beyond the last C{keepLast} of their
        subscription and stored before C{olderThan}.

        @return: how many were dropped.
        """

    def dueEvents(
        now: float,
        perSubscription: int,
        limit: int,
        exclude: Collection[int] = (),
    ) -> Deferred[List[QueuedEvent]]:
        """
        The next events to deliver: for each push subscription whose oldest queued
        event is due (C{notBefore <= now}), up to C{perSubscription} queued events
        from the oldest, in sequence order; C{limit} in all, oldest heads first.
        A subscription's later events never come without its earlier ones.

        Subscriptions whose ids are in C{exclude} are left out, as if they had
        nothing due (the dispatcher passes those whose events it is delivering).
        """

    def nextDue() -> Deferred[Optional[float]]:
        """
        @return: the earliest C{notBefore} among the oldest queued event of each
            subscription, or C{None} if nothing is queued.
        """

    def acknowledge(subscriptionId: int, sequences: Sequence[int]) -> Deferred[None]:
        """
        Remove delivered events from the queue.
        """

    def reschedule(
        subscriptionId: int, sequences: Sequence[int], notBefore: float, error: str
    ) -> Deferred[None]:
        """
        Count a failed attempt on each of these queued events, remember C{error},
        and hold them until C{notBefore}.
        """

    def deadLetter(
        subscriptionId: int, sequences: Sequence[int], error: str, now: float
    ) -> Deferred[None]:
        """
        Move queued events to the dead letters, with the last error.
        """

    def deadLetters(subscriptionId: Optional[int] = None) -> Deferred[List[DeadLetter]]:
        """
        @return: the dead letters (of one subscription, or all), by subscription
            and sequence number.
        """

    def replayDeadLetters(subscriptionId: Optional[int], now: float) -> Deferred[int]:
        """
        Queue dead letters again (of one subscription, or all whose subscription
        still exists), due at C{now} with their attempts reset.

        @return: how many were queued.
        """

    def replayHistory(
        subscriptionId: int, fromSequence: int, now: float
    ) -> Deferred[int]:
        """
        Queue again the history events of a push subscription from C{fromSequence}
        on (those not already queued), due at C{now}.

        @return: how many were queued.
        """

    def queueDepth(subscriptionId: Optional[int] = None) -> Deferred[int]:
        """
        @return: how many events are queued (for one subscription, or in all).
        """

    def queueStats(now: float) -> Deferred[QueueStats]:
        """
        The figures a monitor asks for, in one read: per recipient, how many
        events are queued for its push subscriptions and when the first queued
        event of the longest-waiting of them was queued; subscriptions by kind
        (push, pull) and by whether their lease has ended at C{now}; how many
        dead letters are kept.

        @return: a L{QueueStats <ipp_ntfy.store.QueueStats>}.
        """

    def getCursor(name: str) -> Deferred[Optional[str]]:
        """
        @return: the value last stored under C{name} by L{setCursor}, or C{None}.
            Cursors are small named values that sources keep across restarts (an
            upstream subscription id and the last sequence number seen).
        """

    def setCursor(name: str, value: Optional[str]) -> Deferred[None]:
        """
        Store (or, with C{None}, delete) the cursor C{name}.
        """

    def close() -> Deferred[None]:
        """
        Finish pending writes and release the storage.
        """


class IRelayObserver(Interface):
    """
    Told what the relay's parts do, for monitoring (the metrics of
    L{ipp_ntfy.metrics}).  Each part that takes one calls it with its figures
    as they happen, once per event or per batch; a method must be quick and must
    not raise.
    """

    def eventsReceived(source: str, count: int) -> None:
        """
        C{count} events from C{source} (the event's C{source}: a pushing
        printer's name, an upstream's URI) were taken in and queued.
        """

    def eventsDelivered(latencies: Sequence[float]) -> None:
        """
        Events were delivered: for each, the seconds from when it was queued to
        when its delivery was known.
        """

    def eventsNotDelivered(outcome: str, count: int) -> None:
        """
        C{count} events sent were not delivered; C{outcome} says what became of
        them: C{"retry"} (queued again, for a later attempt), C{"cancelled"}
        (dropped with their subscription, which the recipient cancelled or
        which ended with its job) or C{"dead-lettered"}.
        """

    def upstreamPollFailed(upstreamUri: str) -> None:
        """
        A request to the upstream C{upstreamUri} failed (unreachable, timed
        out, refused, or an answer that could not be used).
        """


class IOwnership(Interface):
    """
    Which of the relays sharing one store does a job that must be done once, such
    as polling an upstream printer: a named, exclusive ownership, given up when
    its owner dies.  Each relay process has one; with a store only one process
    uses (SQLite, memory) every ownership is granted at once.
    """

    def acquire(name: str) -> Deferred[bool]:
        """
        Try, without waiting, to become the owner of C{name}.

        @return: a Deferred that fires with C{True} if this one owns C{name} now
            (or already did), C{False} if another does.
        """

    def stillHeld(name: str) -> Deferred[bool]:
        """
        @return: a Deferred that fires with whether C{name}, once acquired, is
            still owned (C{False} once the link that holds the ownerships is
            lost: they are then all given up, and may be another's).
        """

    def release(name: str) -> Deferred[None]:
        """
        Give up C{name}, if owned.
        """

    def close() -> Deferred[None]:
        """
        Give up every ownership and release what holds them.
        """
