"""
The retry queue: a service that takes due events from the store, delivers them
with an L{IDeliveryMethod}, and records what became of each: acknowledged,
retried later with backoff, dead-lettered, or the subscription cancelled.

Guarantees: at-least-once, in order per subscription.  A subscription's next
event waits until its earlier ones are delivered; other subscriptions go on.
Events for several subscriptions with the same recipient share one request.
Each subscription is read from the store once (what the dispatcher uses of it
never changes); an event read from the queue just before its subscription is
cancelled may still be sent, as one in a request under way is.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

from twisted.application.service import Service
from twisted.internet.defer import (
    Deferred,
    DeferredList,
    FirstError,
    gatherResults,
    inlineCallbacks,
    maybeDeferred,
)
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from .interfaces import (
    IDeliveryMethod,
    IEncodedDeliveryMethod,
    IRelayObserver,
    ISubscriptionStore,
)
from .manager import eventFromPayload, personalize, personalizedOctets
from .notification import EncodedEvent, Event
from .outcome import DeliveryOutcome, OutcomeKind
from .retry import RetryPolicy
from .store import QueuedEvent
from .subscription import Subscription, endsAfter


class Dispatcher(Service):
    """
    Delivers queued events.

    Tell it of new events as the relay does, with
    C{manager.onPublished(dispatcher.queued)} (L{queued}); or with
    C{manager.onQueued(dispatcher.wake)}, which looks at the queue after every
    publish.  Events another process queues are found by the poll.

    @param store: the L{ISubscriptionStore} holding the queue.
    @param delivery: the L{IDeliveryMethod}.
    @param clock: the L{IReactorTime} for time and timers.
    @param policy: when to retry and when to give up (L{RetryPolicy}).
    @param batchSize: the most events of one subscription, and of one request.
    @param maxInFlight: the most requests under way at once.
    @param pollInterval: the longest wait between two looks at the queue (other
        processes may add to a shared store).
    @param prepare: turns a stored event into the notification sent for one
        subscription; by default L{personalize} (the subscription's id, sequence
        number, printer URI and user data).  A source that forwards events as they
        are (the CUPS notifier) passes C{lambda event, subscription, sequence:
        event}.  With the default, and a delivery method that provides
        L{IEncodedDeliveryMethod}, the notifications are made from the stored
        octets where they can be (L{personalizedOctets}): the same octets,
        without decoding and encoding each event again.
    @param observer: an L{IRelayObserver} told of each delivery's outcome (the
        relay's metrics), or C{None}.
    """

    log = Logger()

    def __init__(
        self,
        store: ISubscriptionStore,
        delivery: IDeliveryMethod,
        clock: IReactorTime,
        policy: Optional[RetryPolicy] = None,
        *,
        batchSize: int = 50,
        maxInFlight: int = 20,
        pollInterval: float = 5.0,
        prepare: Callable[[Event, Subscription, int], Event] = personalize,
        observer: Optional[IRelayObserver] = None,
    ) -> None:
        self.store = store
        self.observer = observer
        self.prepare = prepare
        self.delivery = delivery
        self.clock = clock
        self.policy = policy or RetryPolicy()
        self.batchSize = batchSize
        self.maxInFlight = maxInFlight
        self.pollInterval = pollInterval
        self._timer: Optional[IDelayedCall] = None
        # Whether the pending timer is due now (a wake): another wake adds nothing.
        self._timerNow = False
        self._pumping = False
        self._again = False
        self._busy: Set[int] = set()
        self._inFlight: Dict[int, Deferred[None]] = {}
        self._requests = 0
        # Requests under way, by recipient URI.
        self._toRecipient: Dict[str, int] = {}
        # What the requests ended since the last debug log event acknowledged:
        # (recipient, ["subscription:first-last", ...]) for each.
        self._acknowledged: List[Tuple[str, List[str]]] = []
        self._logCall: Optional[IDelayedCall] = None
        # The subscriptions of the events read, by id: what the dispatcher uses
        # of one (its recipient, printer, user data, charset, language, events
        # and job) never changes once it is created (a renewal changes its
        # lease only), and ids are never reused; a cancelled one's queue goes
        # with it.  So each is read from the store once, not once a request.
        self._subscriptions: Dict[int, Subscription] = {}
        # The recipient of each subscription read (for queued()).
        self._recipientOf: Dict[int, str] = {}
        # Events queued since the last look (or read by it and left for a
        # fuller request), by recipient, for recipients with a request under
        # way: counted by queued(), never fewer than there are.
        self._held: Dict[str, int] = {}
        self._stopping = False
        self._pumpDone: Deferred[Any] = Deferred()

    # -- the service ------------------------------------------------------------

    def startService(self) -> None:
        super().startService()
        self._stopping = False
        self.wake()

    def stopService(self) -> Deferred[None]:
        """
        Stop taking events; fires once every delivery under way has been
        recorded in the store.
        """
        super().stopService()
        self._stopping = True
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        pending = list(self._inFlight.values())
        if self._pumping:
            # A look at the queue under way reads the store: wait for it too.
            pending.append(self._pumpDone)
        # Then what those requests acknowledged is logged at once.
        return DeferredList(pending, consumeErrors=True).addCallback(
            lambda _: self._logAcknowledged()
        )

    def wake(self) -> None:
        """
        Look at the queue now (new events were queued, or a delivery ended).
        The wakes of one reactor turn (one per publish) make one look.
        """
        if self._timer is not None and self._timerNow:
            # Fast path: a look is due already, at no later time than this one
            # would be (what _schedule would find, without asking the clock).
            return
        self._schedule(0.0)

    def queued(self, published: Sequence[Tuple[int, int]]) -> None:
        """
        Events were queued: C{(subscriptionId, sequenceNumber)} of each, as
        L{SubscriptionManager.publish <ipp_ntfy.manager.SubscriptionManager>}
        gives them (L{SubscriptionManager.onPublished
        <ipp_ntfy.manager.SubscriptionManager.onPublished>}).

        Look at the queue now (L{wake}), unless a look would send none of them:
        when each one's subscription has a request under way, or its recipient
        has one and fewer events than fill a request (C{batchSize}) wait for
        it.  The end of that request looks then, and finds them; at a steady
        rate below what one request at a time carries, that spares a read of
        the queue per publish.
        """
        if self._timer is not None and self._timerNow:
            return
        busy = self._busy
        for subscriptionId, _ in published:
            if subscriptionId in busy:
                continue
            recipient = self._recipientOf.get(subscriptionId)
            if recipient is None or recipient not in self._toRecipient:
                break
            held = self._held.get(recipient, 0) + 1
            self._held[recipient] = held
            if held >= self.batchSize:
                break
        else:
            return
        self._schedule(0.0)

    def _schedule(self, delay: float) -> None:
        if self._stopping or not self.running:
            return
        when = self.clock.seconds() + delay
        if self._timer is not None and self._timer.active():
            if self._timer.getTime() <= when:
                return
            self._timer.cancel()
        self._timer = self.clock.callLater(delay, self._pump)
        self._timerNow = delay <= 0.0

    # -- taking events ----------------------------------------------------------

    def _pump(self) -> None:
        self._timer = None
        if self._pumping:
            self._again = True
            return
        self._pumping = True
        d = self._takeDue()
        self._pumpDone = d

        def done(_: object) -> None:
            self._pumping = False
            if self._again:
                self._again = False
                self.wake()

        d.addErrback(lambda f: self.log.failure("taking due events failed", f))
        d.addBoth(done)

    @inlineCallbacks
    def _takeDue(self) -> Any:
        if self._stopping:
            return
        now = self.clock.seconds()
        room = self.maxInFlight - self._requests
        if room > 0:
            # Read no more than the free requests can carry, and nothing of the
            # subscriptions under way (their next events wait for the outcome).
            # A subscription busy when the read was asked for may be done by the
            # time it answers: what was read of it may be acknowledged since.
            busy = frozenset(self._busy)
            # What this look reads is no longer held (what queued() counts
            # from now on may be read too: counted twice, which costs at most
            # a look).
            self._held.clear()
            limit = self.batchSize * room
            reading = self.store.dueEvents(now, self.batchSize, limit, exclude=busy)
            # Asked for together: one store batch.
            nextDueReading = self.store.nextDue()
            try:
                due: List[QueuedEvent] = yield reading
            except BaseException:
                nextDueReading.addErrback(lambda _: None)
                raise
            byRecipient: OrderedDict[str, List[QueuedEvent]] = OrderedDict()
            recipientOf = self._recipientOf
            if len(recipientOf) > _MAX_REMEMBERED:
                recipientOf.clear()
            for item in due:
                if item.subscriptionId in busy or item.subscriptionId in self._busy:
                    continue
                recipientOf[item.subscriptionId] = item.recipientUri
                byRecipient.setdefault(item.recipientUri, []).append(item)
            for recipient, items in byRecipient.items():
                # Several requests to one recipient may be under way, each for
                # other subscriptions: order only holds within a subscription.
                # But only full ones: a few events wait for the request under
                # way to end and go in the next one, as a request costs far more
                # than an event.
                while items:
                    if self._requests >= self.maxInFlight or self._stopping:
                        break
                    if self._toRecipient.get(recipient) and len(items) < self.batchSize:
                        break
                    batch = self._batch(items)
                    subscriptions = {item.subscriptionId for item in batch}
                    items = [
                        item
                        for item in items[len(batch) :]
                        if item.subscriptionId not in subscriptions
                    ]
                    self._busy |= subscriptions
                    self._requests += 1
                    self._toRecipient[recipient] = (
                        self._toRecipient.get(recipient, 0) + 1
                    )
                    d = self._deliver(recipient, batch)
                    for subscriptionId in subscriptions:
                        self._inFlight[subscriptionId] = d
                    d.addErrback(self._deliveryFailed, recipient)
                    d.addBoth(self._finished, subscriptions, recipient)
                if items and recipient in self._toRecipient:
                    # Left for a fuller request, after the one under way.
                    self._held[recipient] = self._held.get(recipient, 0) + len(items)
            if len(due) >= limit and self._requests < self.maxInFlight:
                # There may be more due than we looked at.
                self._again = True
        else:
            nextDueReading = self.store.nextDue()
        nextDue = yield nextDueReading
        if nextDue is not None and nextDue > now:
            self._schedule(min(self.pollInterval, nextDue - now))
        else:
            # Due now means due but under way (or no room): the end of a delivery
            # wakes us; the poll is only a safety net.
            self._schedule(self.pollInterval)

    def _deliveryFailed(self, failure: Failure, recipient: str) -> None:
        self.log.failure(
            "delivering to {recipient} failed", failure, recipient=recipient
        )

    def _batch(self, items: List[QueuedEvent]) -> List[QueuedEvent]:
        """
        Up to C{batchSize} events, taking whole subscription runs in order.
        """
        return items[: self.batchSize]

    def _finished(self, _: object, subscriptions: Set[int], recipient: str) -> None:
        self._requests -= 1
        left = self._toRecipient.pop(recipient) - 1
        if left:
            self._toRecipient[recipient] = left
        self._busy -= subscriptions
        for subscriptionId in subscriptions:
            self._inFlight.pop(subscriptionId, None)
        if self._acknowledged:
            if len(self._acknowledged) >= self.maxInFlight:
                self._logAcknowledged()
            elif self._logCall is None:
                self._logCall = self.clock.callLater(_LOG_DELAY, self._logAcknowledged)
        self.wake()

    def _logAcknowledged(self) -> None:
        """
        Log at debug level, in one event, what the requests ended since the last
        one acknowledged: logged L{_LOG_DELAY} seconds after the first of them
        ended, or sooner once as many requests as may be under way have ended,
        or when the service stops.
        """
        if self._logCall is not None:
            if self._logCall.active():
                self._logCall.cancel()
            self._logCall = None
        acknowledged, self._acknowledged = self._acknowledged, []
        if not acknowledged:
            return
        self.log.debug(
            "delivered events: {delivered}",
            delivered="; ".join(
                f"to {recipient}: {', '.join(ranges)}"
                for recipient, ranges in acknowledged
            ),
        )

    # -- delivering and recording -----------------------------------------------

    @inlineCallbacks
    def _deliver(self, recipient: str, batch: List[QueuedEvent]) -> Any:
        # Every subscription of the batch asked for at once: one store batch.
        ids = list(dict.fromkeys(item.subscriptionId for item in batch))
        known = self._subscriptions
        unknown = [i for i in ids if i not in known]
        if unknown:
            read: List[Optional[Subscription]] = yield gatherResults(
                [self.store.getSubscription(i) for i in unknown],
                consumeErrors=True,
            ).addErrback(_firstError)
            if len(known) > _MAX_REMEMBERED:
                known.clear()
            for subscription in read:
                if subscription is not None:
                    known[subscription.subscriptionId] = subscription
        found: List[Optional[Subscription]] = [known.get(i) for i in ids]
        subscriptions = dict(zip(ids, found))
        # The notifications are made from the stored octets, not decoded and
        # encoded again, with the default prepare and a method that takes them.
        encoded: Optional[IEncodedDeliveryMethod] = (
            self.delivery
            if self.prepare is personalize
            and IEncodedDeliveryMethod.providedBy(self.delivery)
            else None
        )
        items: List[QueuedEvent] = []
        events: List[Event | EncodedEvent] = []
        if encoded is not None and None not in found:
            spliced = self._spliceAll(batch, subscriptions)
            if spliced is not None:
                items, events, batch = batch, spliced, []
        for item in batch:
            subscription = subscriptions[item.subscriptionId]
            if subscription is None:
                continue  # cancelled meanwhile: its queue went with it
            try:
                event: Optional[Event | EncodedEvent] = None
                if encoded is not None:
                    event = personalizedOctets(
                        item.payload, subscription, item.sequenceNumber
                    )
                if event is None:
                    event = self.prepare(
                        eventFromPayload(item.payload),
                        subscription,
                        item.sequenceNumber,
                    )
            except Exception as e:
                self.log.failure(
                    "event {sequence} of subscription {subscriptionId} is unreadable",
                    subscriptionId=item.subscriptionId,
                    sequence=item.sequenceNumber,
                )
                yield self.store.deadLetter(
                    item.subscriptionId,
                    [item.sequenceNumber],
                    f"unreadable: {e}",
                    self.clock.seconds(),
                )
                self._notDelivered("dead-lettered", 1)
                continue
            items.append(item)
            events.append(event)
        if not items:
            return
        outcomes: List[DeliveryOutcome]
        if encoded is not None:
            outcomes = yield encoded.deliverEncoded(recipient, events)
        else:
            outcomes = yield self.delivery.deliver(recipient, events)  # type: ignore[arg-type]
        now = self.clock.seconds()
        order = [item.subscriptionId for item in items]
        # Each subscription's outcomes are applied in order, but the subscriptions
        # all at once: their writes go in one store transaction (group commit).
        recorded: List[Deferred[Any]] = []
        acknowledged: List[str] = []
        for subscriptionId in dict.fromkeys(order):
            subscription = subscriptions[subscriptionId]
            assert subscription is not None
            first = order.index(subscriptionId)
            end = first + order.count(subscriptionId)
            if order[first:end].count(subscriptionId) == end - first:
                # One run of the batch (as a rule): slices.
                results = (items[first:end], events[first:end], outcomes[first:end])
            else:
                positions = [
                    index for index, sid in enumerate(order) if sid == subscriptionId
                ]
                results = (
                    [items[i] for i in positions],
                    [events[i] for i in positions],
                    [outcomes[i] for i in positions],
                )
            recorded.append(self._record(subscription, *results, now, acknowledged))
        yield gatherResults(recorded, consumeErrors=True).addErrback(_firstError)
        if acknowledged:
            # Logged by _finished for several requests at once: a log event
            # costs as much as the rest of a request's work on this thread.
            self._acknowledged.append((recipient, acknowledged))

    def _spliceAll(
        self,
        batch: List[QueuedEvent],
        subscriptions: Dict[int, Optional[Subscription]],
    ) -> Optional[List[Event | EncodedEvent]]:
        """
        The notifications of a whole batch made from the stored octets
        (L{personalizedOctets}), as a rule.

        @return: them; or C{None} if one of the events cannot be spliced or
            read, and then the caller makes each one by one (the same
            notifications: L{personalizedOctets} has no effect but its caches)
            and deals with the others.
        """
        try:
            spliced = [
                personalizedOctets(
                    item.payload,
                    subscriptions[item.subscriptionId],  # type: ignore[arg-type]
                    item.sequenceNumber,
                )
                for item in batch
            ]
        except Exception:
            return None
        if None in spliced:
            return None
        return spliced  # type: ignore[return-value]

    def _record(
        self,
        subscription: Subscription,
        items: List[QueuedEvent],
        events: List[Event | EncodedEvent],
        outcomes: List[DeliveryOutcome],
        now: float,
        acknowledged: List[str],
    ) -> Deferred[Any]:
        """
        Apply one subscription's outcomes, in order: the delivered prefix is
        acknowledged; the first event not delivered decides for the rest.

        When one delivered outcome stands for every event (the delivery method
        gives one object for a request whose events were all consumed), the
        events are acknowledged without looking at each outcome; otherwise, and
        for a subscription that may end with one of its events, L{_recordEach}
        does, which comes to the same.

        @param items: the subscription's events as queued, in order.
        @param events: the notifications sent for them.
        @param outcomes: what became of each.
        @param acknowledged: gets C{"subscription:first-last"} once the delivered
            prefix is acknowledged, for the debug log event (L{_logAcknowledged}).
        """
        first = outcomes[0]
        if (
            first.kind is OutcomeKind.DELIVERED
            and subscription.jobId is None
            and outcomes.count(first) == len(outcomes)
        ):
            # list.count compares by identity first: one C loop for the common
            # answer, where every outcome is the same object.
            # maybeDeferred: whatever the store does, a Deferred, as before.
            return maybeDeferred(
                self._acknowledgeAll, subscription, items, now, acknowledged
            )
        return self._recordEach(
            subscription, list(zip(items, events, outcomes)), now, acknowledged
        )

    def _acknowledgeAll(
        self,
        subscription: Subscription,
        items: List[QueuedEvent],
        now: float,
        acknowledged: List[str],
    ) -> Deferred[None]:
        """
        Acknowledge all of C{items}, delivered: what L{_recordEach} does when
        every outcome is L{OutcomeKind.DELIVERED} and the subscription is not a
        per-job one (so none of its events ends it).
        """
        subscriptionId = subscription.subscriptionId
        delivered = [item.sequenceNumber for item in items]

        def done(_: None) -> None:
            acknowledged.append(f"{subscriptionId}:{delivered[0]}-{delivered[-1]}")
            if self.observer is not None:
                self.observer.eventsDelivered([now - item.queuedAt for item in items])

        return self.store.acknowledge(subscriptionId, delivered).addCallback(done)

    @inlineCallbacks
    def _recordEach(
        self,
        subscription: Subscription,
        results: List[tuple[QueuedEvent, Event | EncodedEvent, DeliveryOutcome]],
        now: float,
        acknowledged: List[str],
    ) -> Any:
        """
        L{_record}, looking at each outcome.
        """
        subscriptionId = subscription.subscriptionId
        delivered: List[int] = []
        for item, _, outcome in results:
            if not outcome.delivered:
                break
            delivered.append(item.sequenceNumber)
        index = len(delivered)
        if delivered:
            yield self.store.acknowledge(subscriptionId, delivered)
            acknowledged.append(f"{subscriptionId}:{delivered[0]}-{delivered[-1]}")
            if self.observer is not None:
                self.observer.eventsDelivered(
                    [now - r[0].queuedAt for r in results[:index]]
                )
        ended = any(
            endsAfter(subscription, event.event, event.jobId)
            or outcome.kind is OutcomeKind.CANCEL
            for _, event, outcome in results[: len(delivered)]
        )
        if ended:
            yield self._cancel(subscription, "its job completed or the listener asked")
            self._notDelivered("cancelled", len(results) - index)
            return
        rest = results[index:]
        if not rest:
            return
        item, event, outcome = rest[0]
        sequences = [r[0].sequenceNumber for r in rest]
        if outcome.kind is OutcomeKind.CANCEL:
            yield self._cancel(subscription, outcome.reason)
            self._notDelivered("cancelled", len(rest))
            return
        if outcome.kind is OutcomeKind.FAILED:
            yield self.store.deadLetter(
                subscriptionId, [item.sequenceNumber], outcome.reason, now
            )
            self._notDelivered("dead-lettered", 1, len(rest) - 1)
            self.log.warn(
                "event {sequence} of subscription {subscriptionId} dead-lettered: "
                "{reason}",
                subscriptionId=subscriptionId,
                sequence=item.sequenceNumber,
                reason=outcome.reason,
                recipient=subscription.recipientUri,
            )
            return
        attempt = item.attempts + 1
        decision = self.policy.nextAttempt(
            attempt, item.queuedAt, now, outcome.retryAfter
        )
        if decision.deadLetter:
            yield self.store.deadLetter(
                subscriptionId,
                [item.sequenceNumber],
                f"{decision.reason}; last error: {outcome.reason}",
                now,
            )
            self._notDelivered("dead-lettered", 1, len(rest) - 1)
            self.log.warn(
                "event {sequence} of subscription {subscriptionId} dead-lettered "
                "after {attempt} attempts: {reason}",
                subscriptionId=subscriptionId,
                sequence=item.sequenceNumber,
                attempt=attempt,
                reason=outcome.reason,
                recipient=subscription.recipientUri,
            )
            return
        assert decision.retryAt is not None
        yield self.store.reschedule(
            subscriptionId, sequences, decision.retryAt, outcome.reason
        )
        self._notDelivered("retry", len(sequences))
        self.log.info(
            "delivery of subscription {subscriptionId} from event {sequence} to "
            "{recipient} failed ({reason}); attempt {attempt}, next in {delay:.1f} s",
            subscriptionId=subscriptionId,
            sequence=item.sequenceNumber,
            recipient=subscription.recipientUri,
            reason=outcome.reason,
            attempt=attempt,
            delay=decision.delay,
        )

    def _notDelivered(self, outcome: str, count: int, following: int = 0) -> None:
        """
        Tell the observer of C{count} events not delivered, and of C{following}
        events sent after them that stay queued, to be sent again.
        """
        if self.observer is not None:
            if count:
                self.observer.eventsNotDelivered(outcome, count)
            if following:
                self.observer.eventsNotDelivered("retry", following)

    @inlineCallbacks
    def _cancel(self, subscription: Subscription, reason: str) -> Any:
        self._subscriptions.pop(subscription.subscriptionId, None)
        yield self.store.cancelSubscription(subscription.subscriptionId)
        self.log.info(
            "subscription {subscriptionId} cancelled: {reason}",
            subscriptionId=subscription.subscriptionId,
            reason=reason,
            recipient=subscription.recipientUri,
        )


#: How long, in seconds, what a request acknowledged may wait to be logged with
#: what the next ones acknowledge (one log event costs as much as the rest of a
#: one-event request's work in the reactor thread).
_LOG_DELAY = 1.0


#: The most subscriptions whose recipient, and whose fields, a dispatcher keeps
#: (beyond, it forgets them all and reads them again as needed): a few MB.
_MAX_REMEMBERED = 20000


def _firstError(failure: Failure) -> Failure:
    """
    The failure of the first Deferred of a L{gatherResults} that failed, as
    awaiting them one after the other would have raised it.
    """
    failure.trap(FirstError)
    error = failure.value
    assert isinstance(error, FirstError)
    return error.subFailure
