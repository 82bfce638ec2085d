"""
The subscription manager and the retry queue (dispatcher), on a L{Clock} with a
scripted delivery method: no sleeping tests.
"""

from __future__ import annotations

import dataclasses
import json
import random
from functools import partial
from typing import Any, Callable, Dict, FrozenSet, List, Optional, Sequence, Tuple

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock
from twisted.logger import ILogObserver, LogEvent, globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer
from zope.interface.verify import verifyObject

import ipp_ntfy.manager as managerModule  # noqa: N812
from ipp_ntfy.dispatcher import Dispatcher
from ipp_ntfy.interfaces import IDeliveryMethod, IEncodedDeliveryMethod, IRelayObserver
from ipp_ntfy.ipp import (
    Attribute,
    Collection,
    Group,
    GroupTag,
    IppEncodeError,
    TextWithLanguage,
    ValueTag,
    encode,
)
from ipp_ntfy.manager import (
    SubscriptionManager,
    eventFromPayload,
    eventToPayload,
    personalize,
    personalizedOctets,
)
from ipp_ntfy.notification import (
    DIALECT_INDP,
    DIALECT_REPORT,
    EncodedEvent,
    Event,
    NotificationError,
    buildReport,
    encodeReport,
)
from ipp_ntfy.outcome import DeliveryOutcome, OutcomeKind
from ipp_ntfy.retry import RetryPolicy, backoffPolicy
from ipp_ntfy.store import MemoryStore
from ipp_ntfy.subscription import (
    ALL_EVENTS,
    JOB_EVENTS,
    PRINTER_EVENTS,
    SERVER_EVENTS,
    UMBRELLA_EVENTS,
    Subscription,
    SubscriptionError,
    SubscriptionPolicy,
    matches,
)

from .test_notification import cupsJobCompleted, eventAttributes

PRINTER = "ipp://relay.example/ipp/printers/q"
EVENT_KINDS = ["printer-stopped", "job-completed"]
#: Property tests that run the whole queue per example: no deadline, and
#: slow data generation is expected.
SLOW = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
DELIVERED = DeliveryOutcome(OutcomeKind.DELIVERED)


def event(
    kind: str = "printer-stopped", jobId: Optional[int] = None, n: int = 1
) -> Event:
    return Event(
        source="upstream",
        subscriptionId=99,
        sequenceNumber=n,
        event=kind,
        printerUri=PRINTER,
        jobId=jobId,
        printerUpTime=1000 + n,
        text=f"event {n}",
    )


@implementer(IDeliveryMethod)
class ScriptedDelivery:
    """
    Records each request; answers with what C{answer(recipient, events)} returns
    (default: every event delivered), or holds it when C{hold} is set.
    """

    def __init__(self) -> None:
        self.requests: List[Tuple[float, str, List[Event]]] = []
        self.answer: Callable[[str, List[Event]], List[DeliveryOutcome]] = (
            lambda recipient, events: [DELIVERED] * len(events)
        )
        self.clock: Optional[Clock] = None
        self.held: List[Deferred[List[DeliveryOutcome]]] = []
        self.hold = False

    def deliver(
        self, recipientUri: str, events: Sequence[Event]
    ) -> Deferred[List[DeliveryOutcome]]:
        now = self.clock.seconds() if self.clock else 0.0
        self.requests.append((now, recipientUri, list(events)))
        if self.hold:
            d: Deferred[List[DeliveryOutcome]] = Deferred()
            self.held.append(d)
            return d
        return succeed(self.answer(recipientUri, list(events)))

    def received(self, recipient: str) -> List[Tuple[int, int]]:
        """
        (subscription, sequence) of every event delivered to C{recipient}.
        """
        return [
            (e.subscriptionId, e.sequenceNumber)
            for _, r, events in self.requests
            if r == recipient
            for e in events
        ]


class Harness(SynchronousTestCase):
    """
    A manager and a dispatcher on a clock, a memory store and a scripted delivery.
    """

    def setUpQueue(self, wiring: str = "queued", **dispatcherOptions: Any) -> None:
        """
        @param wiring: how the manager tells the dispatcher of events queued:
            C{"queued"} (L{Dispatcher.queued}, what the relay does) or C{"wake"}
            (L{Dispatcher.wake} for each publish).
        """
        self.clock = Clock()
        self.clock.advance(1_800_000_000)
        self.store = MemoryStore()
        self.manager = SubscriptionManager(
            self.store, self.clock, SubscriptionPolicy(maxSubscriptions=5)
        )
        self.delivery = ScriptedDelivery()
        self.delivery.clock = self.clock
        jitter = random.Random(7).random
        self.dispatcher = Dispatcher(
            self.store,
            self.delivery,
            self.clock,
            RetryPolicy(backoffPolicy(jitter=jitter), maxAge=3600.0),
            **dispatcherOptions,
        )
        if wiring == "queued":
            self.manager.onPublished(self.dispatcher.queued)
        else:
            self.manager.onQueued(self.dispatcher.wake)
        self.manager.startService()
        self.dispatcher.startService()

    def subscribe(self, recipient: str, **kwargs: Any) -> int:
        kwargs.setdefault("events", ["all"])
        subscription = self.successResultOf(
            self.manager.subscribe(PRINTER, recipientUri=recipient, **kwargs)
        )
        return subscription.subscriptionId

    def publish(self, e: Event) -> List[Tuple[int, int]]:
        result: List[Tuple[int, int]] = self.successResultOf(self.manager.publish(e))
        return result

    def secondWhileFirstBusy(self) -> Tuple[int, int]:
        """
        Subscription C{a}'s request for event 1 under way (held); then
        subscription C{b}, to the same recipient, and event 2 published (to
        both).

        @return: C{a} and C{b}.
        """
        a = self.subscribe("http://a.example/n")
        self.delivery.hold = True
        self.publish(event(n=1))
        self.clock.advance(0)
        b = self.subscribe("http://a.example/n")
        self.publish(event(n=2))
        self.clock.advance(0)
        return a, b


class PayloadTests(SynchronousTestCase):
    def test_roundTrip(self) -> None:
        import datetime

        original = event("job-completed", jobId=7)
        original = original.__class__(
            **{
                **{
                    f: getattr(original, f)
                    for f in (
                        "source",
                        "subscriptionId",
                        "sequenceNumber",
                        "event",
                        "printerUri",
                        "jobId",
                        "text",
                    )
                },
                "receivedAt": datetime.datetime(
                    2026, 1, 2, tzinfo=datetime.timezone.utc
                ),
            }
        )
        self.assertEqual(eventFromPayload(eventToPayload(original)), original)


class ManagerTests(Harness):
    def setUp(self) -> None:
        self.setUpQueue()

    def test_sequenceNumbersGapFree(self) -> None:
        """
        Each subscription numbers its events 1, 2, 3..., independently.
        """
        a = self.subscribe("http://a.example/n", events=["printer-stopped"])
        b = self.subscribe("http://b.example/n", events=["all"])
        self.assertEqual(self.publish(event(n=1)), [(a, 1), (b, 1)])
        self.assertEqual(self.publish(event("job-created", jobId=3, n=2)), [(b, 2)])
        self.assertEqual(self.publish(event(n=3)), [(a, 2), (b, 3)])

    def test_subscriptionCache(self) -> None:
        """
        C{publish} caches a printer's subscriptions, and forgets them when the
        manager creates, renews or cancels one, or when the store no longer has
        one (cancelled by the dispatcher, straight in the store).
        """
        a = self.subscribe("http://a.example/n")
        self.assertEqual(self.publish(event(n=1)), [(a, 1)])
        self.assertIn(PRINTER, self.manager._cache)
        b = self.subscribe("http://b.example/n")
        self.assertEqual(self.publish(event(n=2)), [(a, 2), (b, 1)])
        self.successResultOf(self.manager.renew(b, 100))
        self.assertEqual(self.manager._cache, {})
        self.assertEqual(self.publish(event(n=3)), [(a, 3), (b, 2)])
        self.successResultOf(self.manager.cancel(a))
        self.assertEqual(self.publish(event(n=4)), [(b, 3)])
        self.successResultOf(self.store.cancelSubscription(b))
        self.assertEqual(self.publish(event(n=5)), [])
        self.assertNotIn(PRINTER, self.manager._cache)
        c = self.subscribe("http://c.example/n")
        self.assertEqual(self.publish(event(n=6)), [(c, 1)])

    def test_subscriptionCacheRace(self) -> None:
        """
        Subscriptions read while one is being created are not cached.
        """
        self.listSubscriptions = self.store.listSubscriptions
        self.store.listSubscriptions = self.holdList  # type: ignore[method-assign,assignment]
        self.held: List[Deferred[Any]] = []
        publishing = self.manager.publish(event(n=1))
        self.subscribe("http://a.example/n")
        [held] = self.held
        held.callback([])
        self.assertEqual(self.successResultOf(publishing), [])
        self.assertEqual(self.manager._cache, {})

    def holdList(self, *args: Any) -> Deferred[Any]:
        if not args:
            return self.listSubscriptions()
        d: Deferred[Any] = Deferred()
        self.held.append(d)
        return d

    def test_subscriptionCacheOff(self) -> None:
        """
        With C{cacheSubscriptions=False} every publish reads the store.
        """
        self.manager.cacheSubscriptions = False
        a = self.subscribe("http://a.example/n")
        self.assertEqual(self.publish(event(n=1)), [(a, 1)])
        self.assertEqual(self.manager._cache, {})

    def test_publishFailsWithoutQueueing(self) -> None:
        """
        When the store cannot append the event, C{publish}'s Deferred fails with
        that failure and nothing is announced as queued.
        """
        self.subscribe("http://a.example/n")
        self.assertEqual(len(self.publish(event(n=1))), 1)
        woken: List[None] = []
        self.manager.onQueued(lambda: woken.append(None))

        def refuse(entries: Any, now: float) -> Deferred[Any]:
            refused: Deferred[Any] = Deferred()
            refused.errback(ZeroDivisionError("disk full"))
            return refused

        self.patch(self.store, "appendEvents", refuse)
        self.failureResultOf(self.manager.publish(event(n=2)), ZeroDivisionError)
        self.assertEqual(woken, [])

    def test_publishErrorIsFailedDeferred(self) -> None:
        """
        An error before the append (here, encoding the event) is a failed
        Deferred, not an exception from C{publish}, with the printer's
        subscriptions cached or read from the store.
        """
        self.subscribe("http://a.example/n")

        def broken(e: Event) -> bytes:
            raise ValueError("cannot encode")

        self.patch(managerModule, "eventToPayload", broken)
        self.assertNotIn(PRINTER, self.manager._cache)
        self.failureResultOf(self.manager.publish(event(n=1)), ValueError)
        self.assertIn(PRINTER, self.manager._cache)
        self.failureResultOf(self.manager.publish(event(n=2)), ValueError)

    def test_hierarchy(self) -> None:
        """
        job-state-changed covers job-completed; the notification says which
        subscribed keyword matched.
        """
        s = self.subscribe("http://a.example/n", events=["job-state-changed"])
        self.assertEqual(self.publish(event("job-completed", jobId=1)), [(s, 1)])
        self.assertEqual(self.publish(event("printer-stopped")), [])
        [stored] = self.successResultOf(self.manager.history(s))
        self.assertEqual(stored.event, "job-state-changed")
        self.assertEqual(stored.subscriptionId, s)
        self.assertEqual(stored.printerUri, PRINTER)

    def test_leaseExpiry(self) -> None:
        s = self.subscribe("http://a.example/n", leaseDuration=120)
        self.clock.advance(119)
        self.assertIsNotNone(self.successResultOf(self.manager.get(s)))
        self.clock.advance(1)
        self.assertIsNone(self.successResultOf(self.manager.get(s)))
        self.assertEqual(self.publish(event()), [])

    def test_leaseRenewal(self) -> None:
        s = self.subscribe("http://a.example/n", leaseDuration=120)
        self.clock.advance(100)
        renewed = self.successResultOf(self.manager.renew(s, 120))
        self.assertEqual(renewed.leaseExpiresAt, self.clock.seconds() + 120)
        self.clock.advance(100)
        self.assertIsNotNone(self.successResultOf(self.manager.get(s)))

    def test_leaseForever(self) -> None:
        s = self.subscribe("http://a.example/n", leaseDuration=0)
        self.clock.advance(10 * 365 * 86400)
        self.assertIsNotNone(self.successResultOf(self.manager.get(s)))

    def test_sweepCancelsExpired(self) -> None:
        s = self.subscribe("http://a.example/n", leaseDuration=60)
        self.clock.advance(61)
        self.clock.advance(60)  # the sweep runs every 60 s
        self.assertIsNone(self.successResultOf(self.store.getSubscription(s)))

    def test_renewUnknown(self) -> None:
        failure = self.failureResultOf(self.manager.renew(12345), SubscriptionError)
        self.assertEqual(failure.value.statusCode, 0x0406)

    def test_limitAnswered0x0415(self) -> None:
        for n in range(5):
            self.subscribe(f"http://a.example/{n}")
        failure = self.failureResultOf(
            self.manager.subscribe(PRINTER, recipientUri="http://a.example/x"),
            SubscriptionError,
        )
        self.assertEqual(failure.value.statusCode, 0x0415)

    def test_throttledJobProgress(self) -> None:
        """
        notify-time-interval: at most one job-progress per interval; suppressed
        ones take no sequence number.
        """
        s = self.subscribe(
            "http://a.example/n", events=["job-progress", "job-completed"]
        )
        # The policy must accept notify-time-interval; set it on the stored record.
        stored = self.successResultOf(self.store.getSubscription(s))
        assert stored is not None
        self.successResultOf(
            self.store.updateSubscription(stored.replace(timeInterval=10))
        )
        self.assertEqual(self.publish(event("job-progress", jobId=1)), [(s, 1)])
        self.clock.advance(5)
        self.assertEqual(self.publish(event("job-progress", jobId=1)), [])
        self.assertEqual(self.publish(event("job-completed", jobId=1)), [(s, 2)])
        self.clock.advance(5)
        self.assertEqual(self.publish(event("job-progress", jobId=1)), [(s, 3)])


class DispatcherTests(Harness):
    def setUp(self) -> None:
        self.setUpQueue()

    def test_verify(self) -> None:
        self.assertTrue(verifyObject(IDeliveryMethod, self.delivery))

    def test_deliveredInOrder(self) -> None:
        s = self.subscribe("http://a.example/n", events=["all"])
        for n in range(1, 4):
            self.publish(event(n=n))
        self.clock.advance(0)
        self.assertEqual(
            self.delivery.received("http://a.example/n"), [(s, 1), (s, 2), (s, 3)]
        )
        self.assertEqual(self.successResultOf(self.store.queueDepth()), 0)

    def test_sameRecipientOneRequest(self) -> None:
        """
        Events queued together for one recipient go in one request, even across
        subscriptions.
        """
        a = self.subscribe("http://a.example/n")
        b = self.subscribe("http://a.example/n")
        self.dispatcher.stopService()
        self.publish(event(n=1))
        self.publish(event(n=2))
        self.dispatcher.startService()
        self.clock.advance(0)
        self.assertEqual(len(self.delivery.requests), 1)
        self.assertEqual(
            sorted(self.delivery.received("http://a.example/n")),
            [(a, 1), (a, 2), (b, 1), (b, 2)],
        )

    def test_otherSubscriptionsWhileInFlight(self) -> None:
        """
        While a request is under way, a full batch of other subscriptions goes to
        the same recipient in another request; a few events wait for the request
        under way to end and go together in the next one.  A subscription's next
        events always wait for the outcome of its earlier ones.
        """
        self.dispatcher.batchSize = 2
        a, b = self.secondWhileFirstBusy()
        self.assertEqual(len(self.delivery.requests), 1)
        self.publish(event(n=3))
        self.clock.advance(0)
        self.assertEqual(
            [
                [(e.subscriptionId, e.sequenceNumber) for e in r[2]]
                for r in self.delivery.requests
            ],
            [[(a, 1)], [(b, 1), (b, 2)]],
        )
        self.delivery.hold = False
        for held in self.delivery.held:
            held.callback([DELIVERED] * 2)
        self.clock.advance(0)
        self.assertEqual(
            [
                [(e.subscriptionId, e.sequenceNumber) for e in r[2]]
                for r in self.delivery.requests[2:]
            ],
            [[(a, 2), (a, 3)]],
        )
        self.assertEqual(self.successResultOf(self.store.queueDepth()), 0)

    def test_batchesSplitBySubscription(self) -> None:
        """
        With more due for one recipient than a request carries, several requests
        go at once, each with whole subscriptions' runs.
        """
        self.dispatcher.stopService()
        self.dispatcher.batchSize = 2
        subscriptions = [self.subscribe("http://a.example/n") for _ in range(3)]
        for n in range(1, 4):
            self.publish(event(n=n))
        self.delivery.hold = True
        self.dispatcher.startService()
        self.clock.advance(0)
        self.assertEqual(
            [
                [(e.subscriptionId, e.sequenceNumber) for e in r[2]]
                for r in self.delivery.requests
            ],
            [[(s, 1), (s, 2)] for s in subscriptions],
        )
        self.delivery.hold = False
        for held in list(self.delivery.held):
            held.callback([DELIVERED, DELIVERED])
        self.clock.advance(0)
        self.assertEqual(
            sorted(self.delivery.received("http://a.example/n")),
            sorted((s, n) for s in subscriptions for n in (1, 2, 3)),
        )
        self.assertEqual(self.successResultOf(self.store.queueDepth()), 0)

    def test_cancelOn0x0406(self) -> None:
        s = self.subscribe("http://a.example/n")
        self.delivery.answer = lambda r, events: (
            [DeliveryOutcome(OutcomeKind.CANCEL, "client-error-not-found")]
            * len(events)
        )
        self.publish(event())
        self.clock.advance(0)
        self.assertIsNone(self.successResultOf(self.store.getSubscription(s)))
        self.assertEqual(self.publish(event(n=2)), [])

    def test_cancelAfterConsuming(self) -> None:
        """
        0x0006: the event counts as delivered, then the subscription is cancelled.
        """
        s = self.subscribe("http://a.example/n")
        self.delivery.answer = lambda r, events: (
            [DeliveryOutcome(OutcomeKind.CANCEL, "cancel", consumed=True)] * len(events)
        )
        self.publish(event())
        self.clock.advance(0)
        self.assertIsNone(self.successResultOf(self.store.getSubscription(s)))
        self.assertEqual(self.successResultOf(self.store.deadLetters()), [])

    def test_httpGoneCancels(self) -> None:
        s = self.subscribe("http://a.example/n")
        self.delivery.answer = lambda r, events: (
            [DeliveryOutcome(OutcomeKind.CANCEL, "HTTP 410 Gone")] * len(events)
        )
        self.publish(event())
        self.clock.advance(0)
        self.assertIsNone(self.successResultOf(self.store.getSubscription(s)))

    def test_retryAfterHonoured(self) -> None:
        self.subscribe("http://a.example/n")
        answers = [
            [DeliveryOutcome(OutcomeKind.RETRY, "HTTP 503", retryAfter=120.0)],
            [DELIVERED],
        ]
        self.delivery.answer = lambda r, events: answers.pop(0)
        self.publish(event())
        self.clock.advance(0)
        self.assertEqual(len(self.delivery.requests), 1)
        self.clock.advance(119)
        self.assertEqual(len(self.delivery.requests), 1)
        self.clock.advance(1)
        self.assertEqual(len(self.delivery.requests), 2)
        self.assertEqual(self.successResultOf(self.store.queueDepth()), 0)

    def test_maximumAgeDeadLetters(self) -> None:
        """
        An event that cannot be delivered within the maximum age is dead-lettered
        with its last error; the subscription's later events go on.
        """
        s = self.subscribe("http://a.example/n")
        self.delivery.answer = lambda r, events: (
            [DeliveryOutcome(OutcomeKind.RETRY, "connection refused")] * len(events)
        )
        self.publish(event(n=1))
        for _ in range(200):
            self.clock.advance(60)
        [dead] = self.successResultOf(self.store.deadLetters(s))
        self.assertEqual(dead.sequenceNumber, 1)
        self.assertIn("maximum age reached", dead.lastError)
        self.assertIn("connection refused", dead.lastError)
        self.delivery.answer = lambda r, events: [DELIVERED] * len(events)
        self.publish(event(n=2))
        self.clock.advance(0)
        self.assertEqual(self.delivery.received("http://a.example/n")[-1], (s, 2))

    def test_failedIsDeadLetteredAtOnce(self) -> None:
        s = self.subscribe("http://a.example/n")
        answers = [
            [DeliveryOutcome(OutcomeKind.FAILED, "HTTP 400"), DELIVERED],
            [DELIVERED],
        ]
        self.delivery.answer = lambda r, events: answers.pop(0)
        self.dispatcher.stopService()
        self.publish(event(n=1))
        self.publish(event(n=2))
        self.dispatcher.startService()
        self.clock.advance(0)
        self.clock.advance(0)
        [dead] = self.successResultOf(self.store.deadLetters(s))
        self.assertEqual((dead.sequenceNumber, dead.lastError), (1, "HTTP 400"))
        self.assertEqual(
            self.delivery.received("http://a.example/n"), [(s, 1), (s, 2), (s, 2)]
        )
        self.assertEqual(self.successResultOf(self.store.queueDepth()), 0)

    def test_partialBatchKeepsOrder(self) -> None:
        """
        When the second of three events is not delivered, the first is
        acknowledged and the second and third are sent again, in order.
        """
        s = self.subscribe("http://a.example/n")
        answers = [
            [DELIVERED, DeliveryOutcome(OutcomeKind.RETRY, "0x0505"), DELIVERED],
            [DELIVERED, DELIVERED],
        ]
        self.delivery.answer = lambda r, events: answers.pop(0)
        self.dispatcher.stopService()
        for n in (1, 2, 3):
            self.publish(event(n=n))
        self.dispatcher.startService()
        self.clock.advance(0)
        self.clock.advance(400)
        self.assertEqual(
            self.delivery.received("http://a.example/n"),
            [(s, 1), (s, 2), (s, 3), (s, 2), (s, 3)],
        )
        self.assertEqual(self.successResultOf(self.store.queueDepth()), 0)

    def test_jobSubscriptionEndsAfterJobCompleted(self) -> None:
        s = self.subscribe("http://a.example/n", jobId=5, events=["job-completed"])
        self.publish(event("job-completed", jobId=5))
        self.clock.advance(0)
        self.assertEqual(self.delivery.received("http://a.example/n"), [(s, 1)])
        self.assertIsNone(self.successResultOf(self.store.getSubscription(s)))

    def test_outage(self) -> None:
        """
        A listener unreachable for 10 minutes: its events are retried with growing
        (jittered) backoff and all delivered in order once it is back; another
        recipient is served on time meanwhile.
        """
        down = self.subscribe("http://down.example/n")
        up = self.subscribe("http://up.example/n")
        outageEnds = self.clock.seconds() + 600

        def answer(recipient: str, events: List[Event]) -> List[DeliveryOutcome]:
            if (
                recipient == "http://down.example/n"
                and self.clock.seconds() < outageEnds
            ):
                return [DeliveryOutcome(OutcomeKind.RETRY, "connection refused")] * len(
                    events
                )
            return [DELIVERED] * len(events)

        self.delivery.answer = answer
        attempts: List[Dict[str, Any]] = []

        @implementer(ILogObserver)
        def observe(e: LogEvent) -> None:
            if "attempt" in e and e.get("subscriptionId") == down:
                attempts.append(e)

        globalLogPublisher.addObserver(observe)
        self.addCleanup(globalLogPublisher.removeObserver, observe)
        served: List[float] = []
        for n in range(1, 21):
            published = self.clock.seconds()
            self.publish(event(n=n))
            self.clock.advance(0)
            last = [
                t for t, r, _ in self.delivery.requests if r == "http://up.example/n"
            ][-1]
            served.append(last - published)
            self.clock.advance(30)
        self.assertEqual(served, [0.0] * 20)
        for _ in range(400):
            self.clock.advance(5)
        received = self.delivery.received("http://down.example/n")
        delivered = [seq for sub, seq in received if sub == down]
        # Everything arrived, in order (retries re-send a tail: duplicates only
        # of events whose delivery had failed).
        firsts = sorted(set(delivered), key=delivered.index)
        self.assertEqual(firsts, list(range(1, 21)))
        self.assertEqual(self.successResultOf(self.store.queueDepth(down)), 0)
        delays = [a["delay"] for a in attempts]
        self.assertGreater(len(delays), 3)
        self.assertTrue(all(d <= 300.0 for d in delays))
        self.assertLess(min(delays[:2]), 4.0)
        self.assertGreater(max(delays), 30.0)
        self.assertEqual(
            self.delivery.received("http://up.example/n"),
            [(up, n) for n in range(1, 21)],
        )

    def test_stopWaitsForInFlight(self) -> None:
        """
        stopService fires only once the delivery under way is recorded.
        """
        s = self.subscribe("http://a.example/n")
        self.delivery.hold = True
        self.publish(event())
        self.clock.advance(0)
        stopped = self.dispatcher.stopService()
        self.assertNoResult(stopped)
        self.delivery.held[0].callback([DELIVERED])
        self.successResultOf(stopped)
        self.assertEqual(self.successResultOf(self.store.queueDepth(s)), 0)

    def pumps(self) -> List[Any]:
        """
        The dispatcher's pending looks at the queue.
        """
        return [
            call
            for call in self.clock.getDelayedCalls()
            if getattr(call, "func", None) == self.dispatcher._pump
        ]

    def test_wakesOfOneTurnCoalesced(self) -> None:
        """
        The publishes of one turn wake the dispatcher once: one look at the
        queue, one request with all their events.
        """
        s = self.subscribe("http://a.example/n")
        self.clock.advance(0)
        for n in range(1, 6):
            self.publish(event(n=n))
            self.assertEqual(len(self.pumps()), 1)
        self.assertEqual(self.pumps()[0].getTime(), self.clock.seconds())
        self.clock.advance(0)
        self.assertEqual(len(self.delivery.requests), 1)
        self.assertEqual(
            self.delivery.received("http://a.example/n"), [(s, n) for n in range(1, 6)]
        )

    def test_wakeBringsPollForward(self) -> None:
        """
        A wake while only the poll is pending (the slow path) looks at the queue
        now, not at the poll.
        """
        self.clock.advance(0)
        [poll] = self.pumps()
        self.assertEqual(
            poll.getTime(), self.clock.seconds() + self.dispatcher.pollInterval
        )
        self.clock.advance(1)
        self.dispatcher.wake()
        [look] = self.pumps()
        self.assertEqual(look.getTime(), self.clock.seconds())
        self.assertFalse(poll.active())

    @settings(max_examples=200)
    @given(
        st.lists(
            st.one_of(
                st.just(("wake", 0.0)),
                st.tuples(st.just("schedule"), st.sampled_from([0.0, 0.5, 2.0, 5.0])),
                st.tuples(st.just("advance"), st.sampled_from([0.0, 0.5, 1.0, 3.0])),
                st.just(("stop", 0.0)),
                st.just(("start", 0.0)),
            ),
            max_size=30,
        )
    )
    def test_wakeSameAsSchedule(self, steps: List[Tuple[str, float]]) -> None:
        """
        C{wake}, with its fast path, schedules the looks at the queue just as
        C{_schedule(0.0)} (its slow path) does.
        """
        store = MemoryStore()
        seen = []
        for fast in (True, False):
            clock = Clock()
            dispatcher = Dispatcher(store, ScriptedDelivery(), clock)
            looks: List[float] = []

            def pump(
                dispatcher: Dispatcher = dispatcher,
                clock: Clock = clock,
                looks: List[float] = looks,
            ) -> None:
                dispatcher._timer = None
                looks.append(clock.seconds())

            dispatcher._pump = pump  # type: ignore[method-assign]
            dispatcher.running = True
            wake = dispatcher.wake if fast else partial(dispatcher._schedule, 0.0)
            pending = []
            for kind, value in steps:
                if kind == "wake":
                    wake()
                elif kind == "schedule":
                    dispatcher._schedule(value)
                elif kind == "advance":
                    clock.advance(value)
                elif kind == "stop":
                    dispatcher.stopService()
                else:
                    dispatcher._stopping = False
                    dispatcher.running = True
                pending.append([c.getTime() for c in clock.getDelayedCalls()])
            seen.append((looks, pending))
        self.assertEqual(seen[0], seen[1])

    def dispatcherLog(self) -> List[LogEvent]:
        """
        @return: a list that gets the dispatcher's log events from now on, until
            the test ends.
        """
        logged: List[LogEvent] = []

        def observe(e: LogEvent) -> None:
            if e.get("log_namespace") == "ipp_ntfy.dispatcher.Dispatcher":
                logged.append(e)

        observer = implementer(ILogObserver)(observe)
        globalLogPublisher.addObserver(observer)
        self.addCleanup(globalLogPublisher.removeObserver, observer)
        return logged

    def test_debugLoggedPerRound(self) -> None:
        """
        What the requests acknowledged is logged at debug level in one event, a
        second after the first of them ended, not one event per request.
        """
        logged = self.dispatcherLog()
        a = self.subscribe("http://a.example/n")
        b = self.subscribe("http://b.example/n")
        self.delivery.hold = True
        self.publish(event(n=1))
        self.publish(event(n=2))
        self.clock.advance(0)
        self.assertEqual(len(self.delivery.held), 2)
        self.delivery.held[0].callback([DELIVERED] * 2)
        self.assertEqual(logged, [])
        self.delivery.held[1].callback([DELIVERED] * 2)
        self.clock.advance(0.9)
        self.assertEqual(logged, [])
        self.clock.advance(0.1)
        [logEvent] = logged
        self.assertEqual(logEvent["log_level"].name, "debug")
        self.assertEqual(
            logEvent["delivered"],
            f"to http://a.example/n: {a}:1-2; to http://b.example/n: {b}:1-2",
        )

    def test_debugLoggedEveryMaxInFlight(self) -> None:
        """
        Under steady load (requests always under way), the debug event comes
        once as many requests as may be under way have ended.
        """
        self.dispatcher.maxInFlight = 2
        logged = self.dispatcherLog()
        a = self.subscribe("http://a.example/n")
        self.subscribe("http://b.example/n")
        self.delivery.hold = True
        self.publish(event(n=1))
        self.clock.advance(0)
        self.delivery.held[0].callback([DELIVERED])
        self.publish(event(n=2))
        self.clock.advance(0)
        self.assertEqual(len(self.delivery.held), 3)
        self.assertEqual(logged, [])
        self.delivery.held[1].callback([DELIVERED])
        [logEvent] = logged
        self.assertIn(f"to http://a.example/n: {a}:1-1", logEvent["delivered"])
        self.assertEqual(logEvent["delivered"].count("; "), 1)
        self.clock.advance(1)
        self.assertEqual(len(logged), 1)

    def test_debugLoggedWhenStopped(self) -> None:
        """
        Stopping the dispatcher logs what its last requests acknowledged once
        they have ended.
        """
        logged = self.dispatcherLog()
        a = self.subscribe("http://a.example/n")
        self.delivery.hold = True
        self.publish(event(n=1))
        self.clock.advance(0)
        stopped = self.dispatcher.stopService()
        self.delivery.held[0].callback([DELIVERED])
        self.successResultOf(stopped)
        [logEvent] = logged
        self.assertEqual(logEvent["delivered"], f"to http://a.example/n: {a}:1-1")
        self.assertIsNone(self.dispatcher._logCall)


class QueuedTests(Harness):
    """
    L{Dispatcher.queued}, told of each publish (the relay's wiring), looks at the
    queue only when that can send something, and no event waits for a look
    that does not come.
    """

    def setUp(self) -> None:
        self.setUpQueue()
        self.reads: List[FrozenSet[int]] = []
        self.subscriptionReads: List[int] = []
        dueEvents = self.store.dueEvents
        getSubscription = self.store.getSubscription

        def countedDueEvents(*args: Any, **kwargs: Any) -> Any:
            self.reads.append(kwargs.get("exclude", frozenset()))
            return dueEvents(*args, **kwargs)

        def countedGetSubscription(subscriptionId: int) -> Any:
            self.subscriptionReads.append(subscriptionId)
            return getSubscription(subscriptionId)

        self.patch(self.store, "dueEvents", countedDueEvents)
        self.patch(self.store, "getSubscription", countedGetSubscription)

    def sent(self) -> List[List[Tuple[int, int]]]:
        return [
            [(e.subscriptionId, e.sequenceNumber) for e in events]
            for _, _, events in self.delivery.requests
        ]

    def test_noLookWhileSubscriptionBusy(self) -> None:
        """
        Events of a subscription with a request under way make no look at the
        queue: the end of the request looks, and sends them together.
        """
        a = self.subscribe("http://a.example/n")
        self.delivery.hold = True
        self.publish(event(n=1))
        self.clock.advance(0)
        looks = len(self.reads)
        for n in range(2, 6):
            self.publish(event(n=n))
            self.clock.advance(0)
        self.assertEqual(len(self.reads), looks)
        self.delivery.hold = False
        self.delivery.held.pop().callback([DELIVERED])
        self.clock.advance(0)
        self.assertEqual(self.sent(), [[(a, 1)], [(a, n) for n in range(2, 6)]])
        # One look sent them; the end of that request looked once more.
        self.assertEqual(len(self.reads), looks + 2)
        self.assertEqual(self.successResultOf(self.store.queueDepth()), 0)

    def test_noLookWhileRecipientBusy(self) -> None:
        """
        Events of another subscription whose recipient has a request under way
        make no look at the queue while fewer than a request's worth wait: once
        the dispatcher knows that subscription's recipient (from a look), they
        wait for the end of the request, and go in the next one.
        """
        a, b = self.secondWhileFirstBusy()
        # b's recipient was not known yet: a look, which leaves b's event for
        # the next request.
        self.assertEqual(self.reads[-1], frozenset([a]))
        self.assertEqual(len(self.delivery.requests), 1)
        looks = len(self.reads)
        self.publish(event(n=3))
        self.clock.advance(0)
        self.assertEqual(len(self.reads), looks)
        self.delivery.hold = False
        self.delivery.held.pop().callback([DELIVERED])
        self.clock.advance(0)
        self.assertEqual(self.sent(), [[(a, 1)], [(a, 2), (a, 3), (b, 1), (b, 2)]])
        self.assertEqual(self.successResultOf(self.store.queueDepth()), 0)

    def test_lookForAFullRequest(self) -> None:
        """
        Once a request's worth waits for a busy recipient (the events left by
        the last look counted), a look sends it beside the request under way.
        """
        self.dispatcher.batchSize = 3
        a = self.subscribe("http://a.example/n", events=["job-completed"])
        b = self.subscribe("http://a.example/n", events=["printer-stopped"])
        self.delivery.hold = True
        self.publish(event("job-completed", jobId=1, n=1))
        self.clock.advance(0)
        self.publish(event(n=2))
        self.clock.advance(0)
        self.assertEqual(self.sent(), [[(a, 1)]])
        looks = len(self.reads)
        self.publish(event(n=3))
        self.clock.advance(0)
        self.assertEqual(len(self.reads), looks)
        self.publish(event(n=4))
        self.clock.advance(0)
        self.assertEqual(len(self.reads), looks + 1)
        self.assertEqual(self.sent(), [[(a, 1)], [(b, 1), (b, 2), (b, 3)]])

    def test_subscriptionReadOnce(self) -> None:
        """
        The dispatcher reads a subscription from the store once, not once a
        request: what it uses of one never changes.
        """
        a = self.subscribe("http://a.example/n")
        b = self.subscribe("http://b.example/n")
        for n in range(1, 5):
            self.publish(event(n=n))
            self.clock.advance(0)
        self.assertEqual(len(self.delivery.requests), 8)
        self.assertEqual(sorted(self.subscriptionReads), [a, b])

    def test_cancelledSubscriptionForgotten(self) -> None:
        """
        A subscription the dispatcher cancels is no longer kept.
        """
        a = self.subscribe("http://a.example/n")
        self.publish(event(n=1))
        self.clock.advance(0)
        self.assertIn(a, self.dispatcher._subscriptions)
        self.delivery.answer = lambda recipient, events: (
            [DeliveryOutcome(OutcomeKind.CANCEL, "HTTP 410 Gone")] * len(events)
        )
        self.publish(event(n=2))
        self.clock.advance(0)
        self.assertIsNone(self.successResultOf(self.store.getSubscription(a)))
        self.assertNotIn(a, self.dispatcher._subscriptions)

    @settings(max_examples=200, deadline=None)
    @given(
        st.integers(1, 3),
        st.lists(
            st.tuples(st.sampled_from(["a", "b"]), st.sampled_from(EVENT_KINDS)),
            min_size=1,
            max_size=4,
        ),
        st.lists(
            st.one_of(
                st.tuples(st.just("publish"), st.sampled_from(EVENT_KINDS)),
                st.tuples(st.just("answer"), st.integers(0, 5)),
            ),
            max_size=40,
        ),
    )
    def test_nothingWaitsForALookThatDoesNotCome(
        self,
        batchSize: int,
        subscriptions: List[Tuple[str, str]],
        steps: List[Tuple[str, Any]],
    ) -> None:
        """
        Whatever the publishes and the order in which requests end, with the
        clock never reaching a poll, every event is delivered once, in order
        per subscription: a look C{queued} leaves out always comes at the end
        of a request.
        """
        self.setUpQueue(batchSize=batchSize)
        ids = [
            self.subscribe(f"http://{recipient}.example/n", events=[kind])
            for recipient, kind in subscriptions
        ]
        held: List[Tuple[Deferred[List[DeliveryOutcome]], int]] = []

        def deliver(recipientUri: str, events: Sequence[Event]) -> Deferred[Any]:
            self.delivery.requests.append((0.0, recipientUri, list(events)))
            d: Deferred[List[DeliveryOutcome]] = Deferred()
            held.append((d, len(events)))
            return d

        self.patch(self.delivery, "deliver", deliver)
        published: Dict[int, List[int]] = {i: [] for i in ids}
        n = 0
        for step, value in steps:
            if step == "publish":
                n += 1
                jobId = 1 if value.startswith("job-") else None
                for subscriptionId, sequence in self.publish(
                    event(value, jobId=jobId, n=n)
                ):
                    published[subscriptionId].append(sequence)
            elif held:
                d, count = held.pop(value % len(held))
                d.callback([DELIVERED] * count)
            self.clock.advance(0)
        while held:
            d, count = held.pop(0)
            d.callback([DELIVERED] * count)
            self.clock.advance(0)
        self.assertEqual(self.successResultOf(self.store.queueDepth()), 0)
        received: Dict[int, List[int]] = {i: [] for i in ids}
        for request in self.sent():
            for subscriptionId, sequence in request:
                received[subscriptionId].append(sequence)
        self.assertEqual(received, published)


class PersonalizeTests(SynchronousTestCase):
    def test_sameAsReplace(self) -> None:
        """
        L{personalize} gives what C{dataclasses.replace} of the seven fields gives,
        attributes and their order included, whatever the event already has.
        """
        import dataclasses

        from ipp_ntfy.ipp import Attribute, Group, GroupTag, ValueTag
        from ipp_ntfy.subscription import Subscription

        subscriptions = [
            Subscription(
                subscriptionId=4,
                printerUri="ipp://relay/ipp/printers/p",
                events=("printer-state-changed",),
                recipientUri="http://x/",
                userData=b"mine",
                naturalLanguage="de",
            ),
            Subscription(
                subscriptionId=7,
                printerUri=PRINTER,
                events=("all",),
                recipientUri="http://x/",
                charset="us-ascii",
            ),
        ]
        extra = Attribute.of("x-vendor", ValueTag.KEYWORD, "v")
        events = [
            event("printer-stopped"),
            event("job-completed", jobId=3),
            dataclasses.replace(event(), printerUri=None, userData=b"old"),
            dataclasses.replace(
                event(),
                printerState=5,
                printerStateReasons=("paused",),
                attributes=Group(
                    GroupTag.EVENT_NOTIFICATION,
                    [extra, Attribute.of("printer-name", ValueTag.NAME, "p")],
                ),
            ),
            eventFromPayload(eventToPayload(event("job-completed", jobId=9))),
        ]
        for subscription in subscriptions:
            for e in events:
                expected = dataclasses.replace(
                    e,
                    subscriptionId=subscription.subscriptionId,
                    sequenceNumber=12,
                    event=personalize(e, subscription, 12).event,
                    printerUri=subscription.printerUri,
                    userData=subscription.userData,
                    charset=subscription.charset,
                    naturalLanguage=subscription.naturalLanguage,
                )
                mine = personalize(e, subscription, 12)
                self.assertEqual(mine, expected)
                self.assertEqual(
                    list(mine.attributes.attributes),
                    list(expected.attributes.attributes),
                )

    def test_fields(self) -> None:
        from ipp_ntfy.subscription import Subscription

        subscription = Subscription(
            subscriptionId=4,
            printerUri="ipp://relay/ipp/printers/p",
            events=("printer-state-changed",),
            recipientUri="http://x/",
            userData=b"mine",
            naturalLanguage="de",
        )
        mine = personalize(event("printer-stopped"), subscription, 17)
        self.assertEqual(
            (mine.subscriptionId, mine.sequenceNumber, mine.event, mine.printerUri),
            (4, 17, "printer-state-changed", "ipp://relay/ipp/printers/p"),
        )
        self.assertEqual((mine.userData, mine.naturalLanguage), (b"mine", "de"))
        self.assertEqual(mine.text, "event 1")


_SUBSCRIPTIONS = [
    Subscription(
        subscriptionId=4,
        printerUri="ipp://relay/ipp/printers/p",
        events=("printer-state-changed", "job-completed"),
        recipientUri="http://x/",
        userData=b"mine",
        naturalLanguage="de",
    ),
    Subscription(
        subscriptionId=2**31 - 1,
        printerUri=PRINTER,
        events=("all",),
        jobId=3,
        recipientUri="http://x/",
        charset="us-ascii",
    ),
]


class SplicedNotificationTests(SynchronousTestCase):
    """
    L{personalizedOctets} makes from a stored event the octets of the
    notification that L{personalize} gives, and the report L{encodeReport}
    writes of them is octet for octet what L{buildReport} and L{encode} write.
    """

    def assertSameReport(self, payload: bytes) -> int:
        """
        Compare the two ways for each of L{_SUBSCRIPTIONS} and a few sequence
        numbers.

        @return: how many took the spliced way.
        """
        spliced = 0
        for subscription in _SUBSCRIPTIONS:
            for sequence in (1, 70000, 2**31 - 1):
                slow = personalize(eventFromPayload(payload), subscription, sequence)
                fast = personalizedOctets(payload, subscription, sequence)
                if fast is None:
                    continue
                spliced += 1
                for dialect in (DIALECT_REPORT, DIALECT_INDP):
                    self.assertEqual(
                        encodeReport([fast, fast], "ipp://app/n", 5, dialect),
                        encode(buildReport([slow, slow], "ipp://app/n", 5, dialect)),
                    )
                self.assertEqual((fast.event, fast.jobId), (slow.event, slow.jobId))
                self.assertEqual(
                    fast.toEvent().toGroup().attributes, slow.toGroup().attributes
                )
                self.assertEqual(fast.attributeCount, len(slow.toGroup().attributes))
        return spliced

    def test_cupsEvents(self) -> None:
        """
        CUPS's job-completed event, and events made here, take the spliced way.
        """
        for e in [
            cupsJobCompleted(),
            event("printer-stopped"),
            event("job-completed", jobId=3),
            dataclasses.replace(event(), printerUri=None, userData=b"old"),
            dataclasses.replace(
                event(),
                attributes=Group(
                    GroupTag.EVENT_NOTIFICATION,
                    [Attribute.of("x-vendor", ValueTag.KEYWORD, "v", "w")],
                ),
            ),
        ]:
            self.assertEqual(self.assertSameReport(eventToPayload(e)), 6)

    @settings(SLOW, max_examples=300)
    @given(eventAttributes())
    def test_sameAsPersonalize(self, attributes: List[Attribute]) -> None:
        """
        Whatever the event, the spliced way (where it is taken) gives the octets
        of the decoded way.
        """
        try:
            payload = eventToPayload(Event.fromGroup(attributes, source="s"))
        except (NotificationError, IppEncodeError):
            return  # not an event, or not one that can be stored
        self.assertSameReport(payload)

    def test_notSpliced(self) -> None:
        """
        Not spliced, so decoded: a payload stored without the layout, an event
        whose typed field has a value of another type than the fast path reads
        (C{notify-text} with a language), a group with a collection, and a
        sequence number beyond 32 bits.
        """
        e = event("job-completed", jobId=3)
        old = json.dumps({"source": e.source, "receivedAt": None}).encode()
        payload = old + b"\n" + eventToPayload(e).partition(b"\n")[2]
        self.assertEqual(eventFromPayload(payload), e)
        self.assertIsNone(personalizedOctets(payload, _SUBSCRIPTIONS[0], 1))
        withLanguage = dataclasses.replace(
            e,
            text="fertig",
            attributes=Group(
                GroupTag.EVENT_NOTIFICATION,
                [
                    Attribute.of(
                        "notify-text",
                        ValueTag.TEXT_WITH_LANGUAGE,
                        TextWithLanguage("fertig", "de"),
                    )
                ],
            ),
        )
        withCollection = dataclasses.replace(
            e,
            attributes=Group(
                GroupTag.EVENT_NOTIFICATION,
                [Attribute.collection("x-c", Collection([Attribute.integer("a", 1)]))],
            ),
        )
        for unusual in (withLanguage, withCollection):
            payload = eventToPayload(unusual)
            self.assertNotIn(b'"splice"', payload.partition(b"\n")[0])
            self.assertEqual(eventFromPayload(payload), unusual)
            self.assertIsNone(personalizedOctets(payload, _SUBSCRIPTIONS[0], 1))
        self.assertIsNone(
            personalizedOctets(eventToPayload(e), _SUBSCRIPTIONS[0], 2**31)
        )

    def test_payloadHeader(self) -> None:
        """
        The stored header is the JSON it was, with the layout last.
        """
        e = dataclasses.replace(event(), source='a "quoted" s\u00f6urce')
        header = json.loads(eventToPayload(e).partition(b"\n")[0])
        self.assertEqual(list(header), ["source", "receivedAt", "splice"], header)
        self.assertEqual(header["source"], e.source)
        self.assertEqual(header["splice"][:2], ["printer-stopped", None])
        self.assertEqual(eventFromPayload(eventToPayload(e)), e)


_KEYWORDS = sorted(
    JOB_EVENTS
    | PRINTER_EVENTS
    | SERVER_EVENTS
    | UMBRELLA_EVENTS
    | {"none", "job-progress", "x-vendor", "job-x"}
)


class MatchesTests(SynchronousTestCase):
    """
    The manager's remembered L{matches} gives what L{matches} does.
    """

    @settings(max_examples=300)
    @given(
        st.lists(st.sampled_from(_KEYWORDS), min_size=1, max_size=3),
        st.sampled_from(_KEYWORDS),
        st.one_of(st.none(), st.integers(1, 3)),
        st.one_of(st.none(), st.integers(1, 3)),
    )
    def test_sameAsMatches(
        self,
        events: List[str],
        keyword: str,
        subscribedJob: Optional[int],
        jobId: Optional[int],
    ) -> None:
        subscription = Subscription(
            subscriptionId=1,
            printerUri=PRINTER,
            events=tuple(events),
            jobId=subscribedJob,
        )
        # Twice: remembered the second time.
        for _ in range(2):
            self.assertEqual(
                managerModule._matches(subscription, keyword, jobId),
                matches(subscription, keyword, jobId),
            )


def slowPayload(e: Event) -> bytes:
    """
    L{eventToPayload} without its compiled encoders: the group encoded by
    L{encode}, the splice offsets found by walking the octets.
    """
    saved = dict(managerModule._SHAPES)
    compiler = managerModule.compileGroupEncoder
    managerModule._SHAPES.clear()
    managerModule.compileGroupEncoder = lambda *args: None
    try:
        return eventToPayload(e)
    finally:
        managerModule.compileGroupEncoder = compiler
        managerModule._SHAPES.clear()
        managerModule._SHAPES.update(saved)


class PayloadEncoderTests(SynchronousTestCase):
    """
    L{eventToPayload}'s encoder compiled per shape gives the payload of the
    generic encoder, octet for octet.
    """

    def assertSamePayload(self, e: Event) -> bytes:
        try:
            slow = slowPayload(e)
        except (NotificationError, IppEncodeError) as error:
            self.assertRaises(type(error), eventToPayload, e)
            return b""
        # Twice: the shape is learnt the first time, used the second.
        self.assertEqual(eventToPayload(e), slow)
        self.assertEqual(eventToPayload(e), slow)
        return slow

    @settings(SLOW, max_examples=300)
    @given(eventAttributes())
    def test_sameAsGeneric(self, attributes: List[Attribute]) -> None:
        """
        Whatever the event, the same payload both ways.
        """
        try:
            e = Event.fromGroup(attributes, source="s")
        except NotificationError:
            return
        self.assertSamePayload(e)

    def test_eventsOfOneShape(self) -> None:
        """
        Events of one shape with other values (and other sources and receive
        times, or the same objects as the event before) each get their own
        payload, the generic one; one with a value the compiled
        encoder leaves to L{encode} too, and one that cannot be stored fails
        as it did.
        """
        import datetime

        base = cupsJobCompleted()
        spliced = 0
        times = [
            datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
            datetime.datetime(2026, 1, 1, 0, 1, tzinfo=datetime.timezone.utc),
        ]
        sources = ["a", "b"]
        for n in range(1, 9):
            e = dataclasses.replace(
                base,
                jobId=n,
                text=f"Job #{n} \u00e9" * n,
                printerUri=f"ipp://p{n}/ipp",
                receivedAt=times[n // 2 % 2],
                source=sources[n // 3 % 2],
            )
            payload = self.assertSamePayload(e)
            spliced += b'"splice"' in payload
            self.assertEqual(eventFromPayload(payload), e)
        self.assertEqual(spliced, 8)
        group = list(base.toGroup())
        # An int subclass: encode() writes it, the compiled encoder leaves it.
        unusual = Event.fromGroup(
            [*group, Attribute("x-count", (_Int(7),), (0x21,))], source="s"
        )
        self.assertIn(b'"splice"', self.assertSamePayload(unusual))
        tooBig = Event.fromGroup(
            [*group, Attribute("x-count", (2**40,), (0x21,))], source="s"
        )
        self.assertRaises(IppEncodeError, eventToPayload, tooBig)
        self.assertEqual(eventToPayload(base), slowPayload(base))


class _Int(int):
    """
    An int of another type.
    """


@implementer(IEncodedDeliveryMethod)
class EncodedDelivery(ScriptedDelivery):
    """
    A L{ScriptedDelivery} that also takes encoded events.
    """

    def deliverEncoded(
        self, recipientUri: str, events: Sequence[Event | EncodedEvent]
    ) -> Deferred[List[DeliveryOutcome]]:
        return self.deliver(recipientUri, events)  # type: ignore[arg-type]


class EncodedDispatchTests(Harness):
    """
    With a delivery method that takes encoded events, the dispatcher sends the
    spliced notifications.
    """

    def test_sendsEncoded(self) -> None:
        """
        The notifications go encoded, as personalize would make them.
        """
        self.setUpQueue()
        self.dispatcher.delivery = self.delivery = EncodedDelivery()
        self.delivery.clock = self.clock
        sid = self.subscribe("http://a/", userData=b"u")
        self.publish(event("job-completed", jobId=5))
        self.publish(event("printer-stopped", n=2))
        self.clock.advance(0)
        [(_, recipient, sent)] = self.delivery.requests
        self.assertEqual(recipient, "http://a/")
        self.assertEqual([type(e) for e in sent], [EncodedEvent, EncodedEvent])
        subscription = self.successResultOf(self.store.getSubscription(sid))
        assert subscription is not None
        self.assertEqual(
            [e.toEvent().toGroup() for e in sent],  # type: ignore[attr-defined]
            [
                personalize(original, subscription, n).toGroup()
                for n, original in enumerate(
                    [event("job-completed", jobId=5), event("printer-stopped", n=2)], 1
                )
            ],
        )
        self.assertEqual(self.successResultOf(self.store.queueDepth(sid)), 0)

    def test_otherPrepareSendsEvents(self) -> None:
        """
        With a C{prepare} of its own, the dispatcher sends what it gives, through
        C{deliver}.
        """
        self.setUpQueue()
        self.dispatcher.delivery = self.delivery = EncodedDelivery()
        self.dispatcher.prepare = lambda e, subscription, sequence: e
        self.delivery.clock = self.clock
        self.subscribe("http://a/")
        original = event("job-completed", jobId=5)
        self.publish(original)
        self.clock.advance(0)
        [(_, _, sent)] = self.delivery.requests
        self.assertEqual(sent, [original])


class CachedSplicingTests(SynchronousTestCase):
    """
    L{personalizedOctets} keeps what it made for the subscription of its last
    call, and C{notify-subscribed-event} by the subscription's events, the
    keyword and whether the event is of another job: whatever the order of the
    calls, it gives what L{personalize} does.
    """

    @settings(SLOW, max_examples=200)
    @given(
        st.lists(
            st.tuples(
                st.lists(
                    st.sampled_from(
                        sorted(ALL_EVENTS | {"job-state-changed", "x-vendor"})
                    ),
                    min_size=1,
                    max_size=3,
                ),
                st.sampled_from([None, 5, 6]),
                st.integers(1, 3),
            ),
            min_size=1,
            max_size=4,
        ),
        st.lists(
            st.tuples(
                st.integers(0, 3),
                st.sampled_from(
                    ["job-completed", "job-created", "printer-stopped", "x-vendor"]
                ),
                st.sampled_from([None, 5, 6, 7]),
                st.integers(0, 2**31 - 1),
            ),
            min_size=1,
            max_size=12,
        ),
    )
    def test_sameAsPersonalize(
        self,
        made: List[Tuple[List[str], Optional[int], int]],
        calls: List[Tuple[int, str, Optional[int], int]],
    ) -> None:
        subscriptions = [
            Subscription(
                subscriptionId=sid,
                printerUri=PRINTER,
                events=tuple(events),
                jobId=jobId,
                recipientUri="http://x/",
                userData=b"u%d" % sid,
            )
            for events, jobId, sid in made
        ]
        for which, kind, jobId, sequence in calls:
            subscription = subscriptions[which % len(subscriptions)]
            e = event(kind, jobId=jobId)
            payload = eventToPayload(e)
            fast = personalizedOctets(payload, subscription, sequence)
            assert fast is not None
            slow = personalize(eventFromPayload(payload), subscription, sequence)
            self.assertEqual((fast.event, fast.jobId), (slow.event, slow.jobId))
            self.assertEqual(
                encodeReport([fast], "ipp://app/n", 5),
                encode(buildReport([slow], "ipp://app/n", 5)),
            )

    def test_malformedOffsets(self) -> None:
        """
        Offsets read once are reused only for the same octets: a header whose
        offsets cannot be read fails each time, as the first time.
        """
        payload = eventToPayload(event("job-completed", jobId=3))
        header, _, body = payload.partition(b"\n")
        self.assertIsNotNone(personalizedOctets(payload, _SUBSCRIPTIONS[0], 1))
        numbers = header[header.rindex(b"[") :]
        for bad in [b", 1]}", b", x, 1, 2, 3]}"]:
            broken = header.replace(numbers[numbers.index(b",", 3) :], bad)
            for _ in range(2):
                self.assertRaises(
                    ValueError,
                    personalizedOctets,
                    broken + b"\n" + body,
                    _SUBSCRIPTIONS[0],
                    1,
                )


@implementer(IRelayObserver)
class RecordingObserver:
    """
    An L{IRelayObserver} that writes down what it is told of deliveries.
    """

    def __init__(self) -> None:
        self.told: List[Tuple[str, Any]] = []

    def eventsReceived(self, source: str, count: int) -> None:
        pass

    def eventsDelivered(self, latencies: Sequence[float]) -> None:
        self.told.append(("delivered", list(latencies)))

    def eventsNotDelivered(self, outcome: str, count: int) -> None:
        self.told.append((outcome, count))

    def upstreamPollFailed(self, upstreamUri: str) -> None:
        pass


class OneByOneDispatcher(Dispatcher):
    """
    A L{Dispatcher} that always looks at each outcome (no shortcut for a
    request whose events were all delivered).
    """

    def _record(
        self,
        subscription: Subscription,
        items: List[Any],
        events: List[Any],
        outcomes: List[DeliveryOutcome],
        now: float,
        acknowledged: List[str],
    ) -> Deferred[Any]:
        return self._recordEach(
            subscription, list(zip(items, events, outcomes)), now, acknowledged
        )


_ANSWERS = [
    DeliveryOutcome(OutcomeKind.RETRY, "0x0505", status=0x0505),
    DeliveryOutcome(OutcomeKind.CANCEL, "0x0406", status=0x0406),
    DeliveryOutcome(OutcomeKind.CANCEL, "0x0006", consumed=True, status=6),
    DeliveryOutcome(OutcomeKind.FAILED, "0x0400", status=0x0400),
]


def _identify(sent: Event | EncodedEvent) -> Tuple[int, int]:
    """
    @return: the subscription and sequence number of a notification sent.
    """
    e = sent.toEvent() if isinstance(sent, EncodedEvent) else sent
    return (e.subscriptionId, e.sequenceNumber)


def encodedQueue() -> Tuple[Clock, MemoryStore, SubscriptionManager, EncodedDelivery]:
    """
    A clock, a memory store, a manager on them and a delivery that takes
    encoded events, for a dispatcher of the caller's class.
    """
    clock = Clock()
    clock.advance(1_800_000_000)
    store = MemoryStore()
    manager = SubscriptionManager(store, clock, SubscriptionPolicy())
    delivery = EncodedDelivery()
    delivery.clock = clock
    return clock, store, manager, delivery


class RecordingShortcutTests(SynchronousTestCase):
    """
    The dispatcher's shortcut for a request whose events were all delivered
    (one outcome object for all) leaves the store, the requests and the
    observer as looking at each outcome does.
    """

    def runQueue(
        self,
        dispatcherClass: type,
        subscriptions: List[Tuple[str, Optional[int]]],
        published: List[Tuple[str, Optional[int]]],
        answers: List[Tuple[str, int]],
    ) -> Any:
        clock, store, manager, delivery = encodedQueue()
        script = list(answers)

        def answer(recipient: str, events: List[Event]) -> List[DeliveryOutcome]:
            how, pick = script.pop(0) if script else ("same", 0)
            if how == "same":
                return [DELIVERED] * len(events)
            if how == "equal":
                return [DeliveryOutcome(OutcomeKind.DELIVERED) for _ in events]
            return [
                DELIVERED if (pick >> n) % 3 else _ANSWERS[(pick + n) % 4]
                for n in range(len(events))
            ]

        delivery.answer = answer
        observer = RecordingObserver()
        dispatcher = dispatcherClass(
            store,
            delivery,
            clock,
            RetryPolicy(backoffPolicy(jitter=random.Random(7).random), maxAge=3600.0),
            batchSize=3,
            observer=observer,
        )
        manager.onQueued(dispatcher.wake)
        ids = []
        for recipient, jobId in subscriptions:
            subscription = self.successResultOf(
                manager.subscribe(
                    PRINTER, recipientUri=recipient, events=["all"], jobId=jobId
                )
            )
            ids.append(subscription.subscriptionId)
        for kind, jobId in published:
            self.successResultOf(manager.publish(event(kind, jobId=jobId)))
        dispatcher.startService()
        for _ in range(6):
            clock.advance(400)
        requests = [
            (
                when,
                recipient,
                [_identify(e) for e in sent],
            )
            for when, recipient, sent in delivery.requests
        ]
        stored = [self.successResultOf(store.getSubscription(i)) for i in ids]
        return (
            requests,
            observer.told,
            self.successResultOf(store.queueDepth()),
            [
                (d.subscriptionId, d.sequenceNumber, d.lastError)
                for d in self.successResultOf(store.deadLetters())
            ],
            [s is None for s in stored],
        )

    @settings(SLOW, max_examples=150)
    @given(
        st.lists(
            st.tuples(
                st.sampled_from(["http://a/", "http://b/"]),
                st.sampled_from([None, 5]),
            ),
            min_size=1,
            max_size=3,
        ),
        st.lists(
            st.tuples(
                st.sampled_from(["printer-stopped", "job-completed"]),
                st.sampled_from([None, 5, 6]),
            ),
            min_size=1,
            max_size=7,
        ),
        st.lists(
            st.tuples(st.sampled_from(["same", "equal", "mixed"]), st.integers(0, 255)),
            max_size=8,
        ),
    )
    def test_sameAsOneByOne(
        self,
        subscriptions: List[Tuple[str, Optional[int]]],
        published: List[Tuple[str, Optional[int]]],
        answers: List[Tuple[str, int]],
    ) -> None:
        shortcut = self.runQueue(Dispatcher, subscriptions, published, answers)
        oneByOne = self.runQueue(OneByOneDispatcher, subscriptions, published, answers)
        self.assertEqual(shortcut, oneByOne)

    def test_shortcutTaken(self) -> None:
        """
        All delivered, with one outcome object or equal ones: acknowledged
        without L{Dispatcher._recordEach}; with another outcome among them, it
        is used.
        """
        calls: List[str] = []

        class Counting(Dispatcher):
            def _recordEach(self, *args: Any) -> Any:
                calls.append(how)
                return Dispatcher._recordEach(self, *args)

        for how in ["same", "equal", "mixed"]:
            requests, told, depth, dead, gone = self.runQueue(
                Counting,
                [("http://a/", None)],
                [("printer-stopped", None)] * 2,
                [(how, 0)],
            )
            self.assertEqual((depth, dead, gone), (0, [], [False]))
        self.assertEqual(set(calls), {"mixed"})


class OneByOneSplicing(Dispatcher):
    """
    A L{Dispatcher} that makes each notification of a batch on its own.
    """

    def _spliceAll(self, batch: Any, subscriptions: Any) -> None:
        return None


class SpliceAllTests(SynchronousTestCase):
    """
    The dispatcher splices a whole batch at once; when one of its events
    cannot be spliced or read, it makes each on its own.  Either way, the same
    requests and the same store.
    """

    def runQueue(self, dispatcherClass: type, kinds: List[Tuple[int, str]]) -> Any:
        clock, store, manager, delivery = encodedQueue()
        dispatcher = dispatcherClass(store, delivery, clock, RetryPolicy(), batchSize=4)
        ids = [
            self.successResultOf(
                manager.subscribe(PRINTER, recipientUri="http://a/", events=["all"])
            ).subscriptionId
            for _ in range(2)
        ]
        for n, (which, kind) in enumerate(kinds, 1):
            e = event("job-completed", jobId=n, n=n)
            payload = eventToPayload(e)
            if kind == "old":
                old = json.dumps({"source": e.source, "receivedAt": None}).encode()
                payload = old + b"\n" + payload.partition(b"\n")[2]
            elif kind == "unreadable":
                payload = b"not an event"
            self.successResultOf(
                store.appendEvents([(ids[which], payload)], clock.seconds())
            )
        dispatcher.startService()
        clock.advance(0)
        return (
            # The unreadable ones are logged, with their error.
            len(self.flushLoggedErrors(ValueError)),
            [sent for _, _, sent in delivery.requests],
            self.successResultOf(store.queueDepth()),
            [
                (d.subscriptionId, d.sequenceNumber, d.lastError)
                for d in self.successResultOf(store.deadLetters())
            ],
        )

    @settings(SLOW, max_examples=100)
    @given(
        st.lists(
            st.tuples(
                st.integers(0, 1),
                st.sampled_from(["spliced"] * 4 + ["old", "unreadable"]),
            ),
            min_size=1,
            max_size=9,
        )
    )
    def test_sameAsOneByOne(self, kinds: List[Tuple[int, str]]) -> None:
        self.assertEqual(
            self.runQueue(Dispatcher, kinds), self.runQueue(OneByOneSplicing, kinds)
        )

    def test_kinds(self) -> None:
        """
        A batch of spliced events goes encoded; one with an event stored
        without the layout sends that one decoded; an unreadable one is
        dead-lettered.
        """
        logged, requests, depth, dead = self.runQueue(
            Dispatcher,
            [(0, "spliced"), (0, "spliced"), (1, "old"), (1, "unreadable")],
        )
        self.assertEqual(
            [[type(e).__name__ for e in sent] for sent in requests],
            [["EncodedEvent", "EncodedEvent", "Event"]],
        )
        self.assertEqual((depth, [(s, n) for s, n, _ in dead]), (0, [(2, 2)]))
        self.assertEqual(logged, 1)
