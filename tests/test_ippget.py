"""
The ippget poller (L{ipp_ntfy.sources.ippget}) and the IPP client under it
(L{ipp_ntfy.ippclient}).

Three kinds of tests:
    - deterministic ones: the poller on a L{Clock}, talking to L{FakeUpstream}
      (a scripted IPP printer with ippget subscriptions) through L{FakeClient},
      publishing through a real L{SubscriptionManager} on a L{MemoryStore};
    - loopback ones: L{IppClient} and the poller against the same fake served by
      twisted.web on 127.0.0.1;
    - end to end: a private cupsd (L{tests.cupsd}), the relay's manager,
      dispatcher and HTTP delivery, two application subscriptions pushed to a
      real listener, and one poller on the cupsd queue.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Callable, Dict, List, Optional, Tuple, cast

from twisted.internet import reactor as _reactor
from twisted.internet.defer import (
    CancelledError,
    Deferred,
    fail,
    inlineCallbacks,
    succeed,
)
from twisted.internet.task import Clock, deferLater
from twisted.logger import ILogObserver, Logger, globalLogPublisher
from twisted.trial.unittest import SkipTest, SynchronousTestCase, TestCase
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request, Site
from zope.interface import implementer

from ipp_ntfy.delivery import HttpDeliveryMethod
from ipp_ntfy.dispatcher import Dispatcher
from ipp_ntfy.interfaces import INotificationSink
from ipp_ntfy.ipp import Attribute, Group, GroupTag, Message, decode, encode
from ipp_ntfy.ippclient import (
    IppClient,
    IppClientError,
    IppHttpError,
    IppResponseError,
    IppTransportError,
    isSuccessful,
    operationGroup,
)
from ipp_ntfy.listener import NotificationListener, NotificationSite
from ipp_ntfy.manager import SubscriptionManager, eventFromPayload
from ipp_ntfy.notification import Event
from ipp_ntfy.sources.ippget import (
    CANCEL_SUBSCRIPTION,
    CREATE_PRINTER_SUBSCRIPTIONS,
    EVENTS_LOST,
    GET_NOTIFICATIONS,
    GET_SUBSCRIPTIONS,
    LOST_EVENTS_ATTRIBUTE,
    RENEW_SUBSCRIPTION,
    Cursor,
    UpstreamPoller,
    cursorName,
    getSubscriptionsRequest,
)
from ipp_ntfy.store import MemoryStore, SQLiteStore

from .cupsd import CupsDaemon, cupsAvailable

reactor: Any = _reactor

UPSTREAM = "ipp://cups.example:631/printers/q"
LOCAL = "ipp://relay.example:8631/ipp/printers/q"

NOT_FOUND = 0x0406


# -- A fake upstream --------------------------------------------------------------


@dataclasses.dataclass
class FakeSubscription:
    subscriptionId: int
    userName: str
    userData: bytes
    events: Tuple[str, ...]
    lease: int
    kept: List[Tuple[int, Group]] = dataclasses.field(default_factory=list)
    lastSequence: int = 0


def _op(message: Message, name: str) -> Any:
    return message.operation.value(name)


def _operation(*more: Attribute) -> Group:
    return Group(
        GroupTag.OPERATION,
        [
            Attribute.charset("attributes-charset", "utf-8"),
            Attribute.naturalLanguage("attributes-natural-language", "en"),
            *more,
        ],
    )


class FakeUpstream:
    """
    An IPP printer with ippget subscriptions, in memory, as far as the poller
    needs one: Create-Printer-Subscriptions, Renew-Subscription,
    Cancel-Subscription, Get-Subscriptions, Get-Notifications.

    @ivar inclusive: whether C{notify-sequence-numbers} N returns events from N
        on (RFC 3996, cupsd) rather than above N (ippserver).
    @ivar getInterval: the C{notify-get-interval} of Get-Notifications answers,
        or C{None} for none (a long poll).
    @ivar longPoll: whether a Get-Notifications with C{notify-wait} and nothing
        to return waits for an event (L{FakeClient} keeps it pending).
    @ivar grantLease: the lease granted, or C{None} to say nothing (as cupsd).
    @ivar down: a reason to fail every request as unreachable, or C{None}.
    @ivar replies: per operation id, answers to give instead of the usual one
        (callables taking the request), first in first out.
    @ivar requests: every request received, in order.
    """

    def __init__(
        self,
        *,
        inclusive: bool = True,
        getInterval: Optional[int] = 60,
        longPoll: bool = False,
        grantLease: Optional[int] = None,
        upTime: int = 1000,
    ) -> None:
        self.inclusive = inclusive
        self.getInterval = getInterval
        self.longPoll = longPoll
        self.grantLease = grantLease
        self.upTime = upTime
        self.down: Optional[str] = None
        self.replies: Dict[int, List[Callable[[Message], Message]]] = {}
        self.requests: List[Message] = []
        self.subscriptions: Dict[int, FakeSubscription] = {}
        self.nextId = 1
        self.waiting: List[Tuple[Message, Deferred[Message]]] = []

    def requestsOf(self, operation: int) -> List[Message]:
        return [m for m in self.requests if m.operationId == operation]

    @property
    def operations(self) -> List[int]:
        return [m.operationId for m in self.requests]

    def addEvent(
        self,
        keyword: str,
        jobId: Optional[int] = None,
        jobState: Optional[int] = None,
    ) -> None:
        """
        An event happens: each subscription gets it, with its next sequence
        number, like cupsd writes it.
        """
        for subscription in self.subscriptions.values():
            subscription.lastSequence += 1
            attributes = [
                Attribute.charset("notify-charset", "utf-8"),
                Attribute.naturalLanguage("notify-natural-language", "en-US"),
                Attribute.integer(
                    "notify-subscription-id", subscription.subscriptionId
                ),
                Attribute.integer("notify-sequence-number", subscription.lastSequence),
                Attribute.keyword("notify-subscribed-event", keyword),
                Attribute.octetString("notify-user-data", subscription.userData),
                Attribute.integer("printer-up-time", self.upTime),
                Attribute.text("notify-text", f"{keyword} happened"),
                Attribute.uri("notify-printer-uri", "ipp://cups.example/printers/q"),
                Attribute.nameValue("printer-name", "q"),
                Attribute.enum("printer-state", 5 if "stopped" in keyword else 3),
                Attribute.keyword("printer-state-reasons", "none"),
                Attribute.boolean("printer-is-accepting-jobs", True),
            ]
            if jobId is not None:
                attributes += [
                    Attribute.integer("notify-job-id", jobId),
                    Attribute.enum("job-state", jobState or 3),
                    Attribute.nameValue("job-name", "hostname"),
                    Attribute.keyword("job-state-reasons", "none"),
                ]
            group = Group(GroupTag.EVENT_NOTIFICATION, attributes)
            subscription.kept.append((subscription.lastSequence, group))
        self.wakeWaiting()

    def dropOldest(self, subscriptionId: int, count: int) -> None:
        """
        Events leave the cache before anyone fetched them.
        """
        del self.subscriptions[subscriptionId].kept[:count]

    def wakeWaiting(self) -> None:
        waiting, self.waiting = self.waiting, []
        for message, d in waiting:
            d.callback(self.handle(message, waited=True))

    def handle(self, message: Message, waited: bool = False) -> Message:
        queued = self.replies.get(message.operationId)
        if queued:
            return queued.pop(0)(message)
        handler = {
            CREATE_PRINTER_SUBSCRIPTIONS: self._create,
            RENEW_SUBSCRIPTION: self._renew,
            CANCEL_SUBSCRIPTION: self._cancel,
            GET_NOTIFICATIONS: self._getNotifications,
            GET_SUBSCRIPTIONS: self._getSubscriptions,
        }.get(message.operationId)
        if handler is None:
            return self.answer(message, 0x0501)
        return handler(message)

    def answer(
        self,
        message: Message,
        status: int = 0,
        operation: Tuple[Attribute, ...] = (),
        groups: Tuple[Group, ...] = (),
    ) -> Message:
        return Message(
            (2, 0),
            status,
            message.requestId,
            [_operation(*operation), *groups],
        )

    def _create(self, message: Message) -> Message:
        template = message.group(GroupTag.SUBSCRIPTION)
        assert template is not None
        subscription = FakeSubscription(
            self.nextId,
            str(_op(message, "requesting-user-name")),
            cast(bytes, template.value("notify-user-data", b"")),
            tuple(template["notify-events"].values),  # type: ignore[arg-type]
            int(template.value("notify-lease-duration", 86400)),  # type: ignore[call-overload]
        )
        self.nextId += 1
        self.subscriptions[subscription.subscriptionId] = subscription
        granted = [Attribute.integer("notify-subscription-id", self.nextId - 1)]
        if self.grantLease is not None:
            granted.append(Attribute.integer("notify-lease-duration", self.grantLease))
        return self.answer(message, groups=(Group(GroupTag.SUBSCRIPTION, granted),))

    def _renew(self, message: Message) -> Message:
        subscriptionId = _op(message, "notify-subscription-id")
        if subscriptionId not in self.subscriptions:
            return self.answer(message, NOT_FOUND)
        granted = []
        if self.grantLease is not None:
            granted.append(Attribute.integer("notify-lease-duration", self.grantLease))
        return self.answer(message, groups=(Group(GroupTag.SUBSCRIPTION, granted),))

    def _cancel(self, message: Message) -> Message:
        subscriptionId = _op(message, "notify-subscription-id")
        if self.subscriptions.pop(subscriptionId, None) is None:
            return self.answer(message, NOT_FOUND)
        return self.answer(message)

    def _getSubscriptions(self, message: Message) -> Message:
        groups = tuple(
            Group(
                GroupTag.SUBSCRIPTION,
                [
                    Attribute.integer("notify-subscription-id", s.subscriptionId),
                    Attribute.keyword("notify-pull-method", "ippget"),
                    Attribute.nameValue("notify-subscriber-user-name", s.userName),
                    Attribute.octetString("notify-user-data", s.userData),
                ],
            )
            for s in self.subscriptions.values()
        )
        return self.answer(message, groups=groups)

    def pending(self, message: Message) -> List[Group]:
        subscriptionId = _op(message, "notify-subscription-ids")
        subscription = self.subscriptions[subscriptionId]
        asked = _op(message, "notify-sequence-numbers")
        if asked is None:
            return [group for _, group in subscription.kept]
        if self.inclusive:
            return [group for seq, group in subscription.kept if seq >= asked]
        return [group for seq, group in subscription.kept if seq > asked]

    def _getNotifications(self, message: Message) -> Message:
        if _op(message, "notify-subscription-ids") not in self.subscriptions:
            return self.answer(message, NOT_FOUND)
        operation = []
        if self.getInterval is not None:
            operation.append(Attribute.integer("notify-get-interval", self.getInterval))
        operation.append(Attribute.integer("printer-up-time", self.upTime))
        return self.answer(
            message, operation=tuple(operation), groups=tuple(self.pending(message))
        )

    def wouldWait(self, message: Message) -> bool:
        return (
            self.longPoll
            and message.operationId == GET_NOTIFICATIONS
            and _op(message, "notify-wait") is True
            and _op(message, "notify-subscription-ids") in self.subscriptions
            and not self.pending(message)
        )


class FakeClient:
    """
    Stands for L{IppClient}: hands each request to a L{FakeUpstream} at once, or
    keeps a long poll pending until an event or its cancellation.
    """

    def __init__(self, upstream: FakeUpstream, clock: Clock) -> None:
        self.upstream = upstream
        self.clock = clock
        self.times: List[Tuple[float, int]] = []
        self.closed = False
        self._ids = 0

    def nextRequestId(self) -> int:
        self._ids += 1
        return self._ids

    def request(
        self, uri: str, message: Message, timeout: Optional[float] = None
    ) -> Deferred[Message]:
        assert uri == UPSTREAM
        # What goes over the wire must encode.
        message = decode(encode(message))
        self.upstream.requests.append(message)
        self.times.append((self.clock.seconds(), message.operationId))
        if self.upstream.down is not None:
            return fail(IppTransportError(uri, self.upstream.down))
        if self.upstream.wouldWait(message):

            def cancel(d: Deferred[Message]) -> None:
                self.upstream.waiting = [
                    (m, w) for m, w in self.upstream.waiting if w is not d
                ]

            d: Deferred[Message] = Deferred(cancel)
            self.upstream.waiting.append((message, d))
            return d
        return succeed(self.upstream.handle(message))

    def close(self) -> Deferred[None]:
        self.closed = True
        return succeed(None)


class GatedManager:
    """
    A manager whose C{publish} waits for the test to open the gate.
    """

    def __init__(self, manager: SubscriptionManager) -> None:
        self.manager = manager
        self.gates: List[Deferred[None]] = []

    def publish(self, event: Event) -> Deferred[Any]:
        gate: Deferred[None] = Deferred()
        self.gates.append(gate)
        return gate.addCallback(lambda _: self.manager.publish(event))


# -- Deterministic tests ------------------------------------------------------------


class PollerTestCase(SynchronousTestCase):
    """
    A poller on a L{Clock} against a L{FakeUpstream}; two application
    subscriptions on the local printer: C{all}, and C{job-completed} only.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.clock.advance(1_700_000_000)
        self.store = MemoryStore()
        self.manager = SubscriptionManager(self.store, self.clock)
        self.upstream = FakeUpstream()
        self.everything = self.successResultOf(
            self.manager.subscribe(LOCAL, pullMethod="ippget", events=("all",))
        )
        self.jobsOnly = self.successResultOf(
            self.manager.subscribe(
                LOCAL, pullMethod="ippget", events=("job-completed",)
            )
        )
        self.logged: List[Dict[str, Any]] = []

    def makePoller(self, **kwargs: Any) -> UpstreamPoller:
        manager = kwargs.pop("manager", self.manager)
        client = FakeClient(self.upstream, self.clock)
        kwargs.setdefault("jitter", lambda: 1.0)
        poller = UpstreamPoller(
            UPSTREAM, LOCAL, manager, self.store, self.clock, client=client, **kwargs
        )
        poller.log = Logger(
            namespace="test", observer=cast(ILogObserver, self.logged.append)
        )
        return poller

    def start(self, **kwargs: Any) -> UpstreamPoller:
        poller = self.makePoller(**kwargs)
        poller.startService()
        self.addCleanup(self.stop, poller)
        return poller

    def stop(self, poller: UpstreamPoller) -> None:
        if poller.running:
            self.successResultOf(poller.stopService())
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def received(self, subscription: Any = None) -> List[Event]:
        subscription = subscription or self.everything
        return list(
            self.successResultOf(self.manager.history(subscription.subscriptionId))
        )

    def keywords(self, subscription: Any = None) -> List[str]:
        return [e.event for e in self.received(subscription)]

    def cursor(self) -> Optional[str]:
        return self.successResultOf(self.store.getCursor(cursorName(UPSTREAM)))

    def gets(self) -> List[Message]:
        return self.upstream.requestsOf(GET_NOTIFICATIONS)

    def advance(self, seconds: float, step: float = 0.5) -> None:
        end = self.clock.seconds() + seconds
        while self.clock.seconds() + step <= end:
            self.clock.advance(step)
        self.clock.advance(end - self.clock.seconds())


class SubscribingTests(PollerTestCase):
    def test_createsIppgetSubscription(self) -> None:
        """
        Without a cursor the poller creates a printer subscription with the
        ippget pull method, our events, lease, user name and user data, stores
        the cursor, and starts polling at once.
        """
        self.start(events=("printer-stopped", "job-completed"), leaseDuration=600)
        create = self.upstream.requests[0]
        self.assertEqual(create.operationId, CREATE_PRINTER_SUBSCRIPTIONS)
        self.assertEqual(_op(create, "printer-uri"), UPSTREAM)
        self.assertEqual(_op(create, "requesting-user-name"), "ipp-ntfy")
        template = create.group(GroupTag.SUBSCRIPTION)
        assert template is not None
        self.assertEqual(template.value("notify-pull-method"), "ippget")
        self.assertEqual(
            template["notify-events"].values, ("printer-stopped", "job-completed")
        )
        self.assertEqual(template.value("notify-lease-duration"), 600)
        self.assertEqual(template.value("notify-user-data"), b"ipp-ntfy relay")
        self.assertNotIn("notify-recipient-uri", template)
        self.assertEqual(self.cursor(), "1:0:")
        self.assertEqual(self.upstream.operations[1], GET_NOTIFICATIONS)
        self.assertEqual(len(self.upstream.subscriptions), 1)

    def test_getNotificationsRequest(self) -> None:
        """
        Get-Notifications names our subscription and asks for notify-wait; with
        nothing seen yet it sends no sequence number, which inclusive and
        exclusive servers both read as "everything kept".
        """
        self.start()
        get = self.gets()[0]
        self.assertEqual(_op(get, "notify-subscription-ids"), 1)
        self.assertIs(_op(get, "notify-wait"), True)
        self.assertNotIn("notify-sequence-numbers", get.operation)
        self.assertEqual(_op(get, "requesting-user-name"), "ipp-ntfy")

    def test_unreadableCursorIsIgnored(self) -> None:
        """
        A cursor that cannot be read is logged and replaced by a new
        subscription.
        """
        self.store.setCursor(cursorName(UPSTREAM), "garbage")
        self.start()
        self.assertEqual(self.upstream.operations[0], CREATE_PRINTER_SUBSCRIPTIONS)
        self.assertEqual(self.cursor(), "1:0:")
        self.assertTrue(any("unreadable" in e["log_format"] for e in self.logged))

    def test_createRefusedBacksOff(self) -> None:
        """
        An upstream that refuses to create the subscription is asked again
        later, with growing delays, and the refusal is logged.
        """

        def refuse(message: Message) -> Message:
            return self.upstream.answer(
                message,
                0x0403,
                (Attribute.text("status-message", "Not allowed."),),
            )

        self.upstream.replies[CREATE_PRINTER_SUBSCRIPTIONS] = [refuse, refuse]
        poller = self.start()
        self.assertEqual(self.upstream.operations, [CREATE_PRINTER_SUBSCRIPTIONS])
        self.assertIsNone(poller.cursor)
        self.clock.advance(1)
        self.assertEqual(len(self.upstream.requests), 2)
        self.clock.advance(1.9)
        self.assertEqual(len(self.upstream.requests), 2)
        self.clock.advance(0.1)
        self.assertEqual(
            self.upstream.operations[:4],
            [CREATE_PRINTER_SUBSCRIPTIONS] * 3 + [GET_NOTIFICATIONS],
        )
        warnings = [e for e in self.logged if "trying again" in e["log_format"]]
        self.assertIn("client-error-not-authorized", warnings[0]["reason"])
        self.assertIn("Not allowed.", warnings[0]["reason"])


class PublishingTests(PollerTestCase):
    def test_eventsPublishedInOrderOnLocalPrinter(self) -> None:
        """
        Upstream events reach the local printer's subscriptions in order, with
        the local printer URI, the upstream as source, and the upstream's
        keyword, job id, states and other attributes.
        """
        self.start()
        self.upstream.addEvent("printer-stopped")
        self.upstream.addEvent("job-created", jobId=7, jobState=3)
        self.upstream.addEvent("job-completed", jobId=7, jobState=9)
        self.advance(2)
        events = self.received()
        self.assertEqual(
            [e.event for e in events],
            ["printer-stopped", "job-created", "job-completed"],
        )
        for event in events:
            self.assertEqual(event.printerUri, LOCAL)
            self.assertEqual(event.source, UPSTREAM)
            self.assertEqual(event.printerUpTime, 1000)
            self.assertEqual(event.attributes.value("printer-name"), "q")
            self.assertIsNotNone(event.receivedAt)
        self.assertEqual(events[0].printerState, 5)
        self.assertEqual(events[2].jobId, 7)
        self.assertEqual(events[2].jobState, 9)
        self.assertEqual(events[2].attributes.value("job-name"), "hostname")
        self.assertEqual(events[2].text, "job-completed happened")
        self.assertEqual(self.keywords(self.jobsOnly), ["job-completed"])
        self.assertEqual(self.cursor(), "1:3:1000")

    def test_storedEventKeepsUpstreamIdentity(self) -> None:
        """
        What the manager stores is the upstream's event: its subscription id and
        sequence number, so (source, subscription id, sequence) tells re-sent
        events apart.
        """
        self.start()
        self.upstream.addEvent("printer-stopped")
        self.advance(2)
        stored = self.successResultOf(
            self.store.eventsSince(self.everything.subscriptionId, 1, 10)
        )
        event = eventFromPayload(stored[0][1])
        self.assertEqual(event.key, (UPSTREAM, 1, 1))
        self.assertEqual(event.printerUri, LOCAL)

    def test_unreadableEventIsSkipped(self) -> None:
        """
        An event group that is not an event is logged and skipped; the cursor
        moves past it and the next one is published.
        """
        poller = self.start()
        self.upstream.addEvent("printer-stopped")
        kept = self.upstream.subscriptions[1].kept
        sequence, group = kept[0]
        kept[0] = (
            sequence,
            Group(
                group.tag,
                [a for a in group if a.name != "notify-subscribed-event"],
            ),
        )
        self.upstream.addEvent("printer-state-changed")
        self.advance(2)
        self.assertEqual(self.keywords(), ["printer-state-changed"])
        self.assertEqual(poller.cursor, Cursor(1, 2, 1000))
        self.assertTrue(any("unreadable" in e["log_format"] for e in self.logged))

    def test_cursorAdvancesOnlyAfterPublish(self) -> None:
        """
        The cursor moves past an event only once the manager has stored it; a
        stop waits for a publish under way, and the next start fetches what was
        not published (at least once, never lost).
        """
        gated = GatedManager(self.manager)
        poller = self.makePoller(manager=gated)
        poller.startService()
        self.upstream.addEvent("printer-stopped")
        self.upstream.addEvent("printer-state-changed")
        self.advance(2)
        self.assertEqual(len(gated.gates), 1)
        self.assertEqual(self.cursor(), "1:0:")
        stopped = poller.stopService()
        self.assertNoResult(stopped)
        gated.gates[0].callback(None)
        self.successResultOf(stopped)
        self.assertEqual(self.cursor(), "1:1:1000")
        self.assertEqual(self.keywords(), ["printer-stopped"])
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.start()
        self.assertEqual(self.keywords(), ["printer-stopped", "printer-state-changed"])


class PollingTests(PollerTestCase):
    def test_waitsPollIntervalNotCupsInterval(self) -> None:
        """
        cupsd answers at once with notify-get-interval 60; the poller polls
        again after min(60, pollInterval).
        """
        self.start(pollInterval=2.0)
        self.assertEqual(len(self.gets()), 1)
        self.clock.advance(1.9)
        self.assertEqual(len(self.gets()), 1)
        self.clock.advance(0.1)
        self.assertEqual(len(self.gets()), 2)

    def test_followsShorterUpstreamInterval(self) -> None:
        """
        With a pollInterval longer than notify-get-interval the upstream's
        interval is followed.
        """
        self.start(pollInterval=300.0)
        self.clock.advance(59)
        self.assertEqual(len(self.gets()), 1)
        self.clock.advance(1)
        self.assertEqual(len(self.gets()), 2)

    def test_newEventsRepollAtOnce(self) -> None:
        """
        A poll that brought new events is followed by another at once.
        """
        self.start()
        self.upstream.addEvent("printer-stopped")
        self.clock.advance(2)
        # The poll with the event, then one right after it.
        self.assertEqual(len(self.gets()), 3)

    def test_inclusiveSequenceNumbersLearned(self) -> None:
        """
        The poller asks for the last sequence number it saw; an inclusive
        upstream (cupsd) sends that event again, which is dropped, and from then
        on the poller asks for last + 1.
        """
        self.start()
        self.upstream.addEvent("printer-stopped")
        self.clock.advance(2)
        asked = [_op(m, "notify-sequence-numbers") for m in self.gets()]
        self.assertEqual(asked, [None, None, 1])
        self.upstream.addEvent("printer-state-changed")
        self.clock.advance(2)
        asked = [_op(m, "notify-sequence-numbers") for m in self.gets()]
        self.assertEqual(asked[3:], [2, 3])
        self.assertEqual(self.keywords(), ["printer-stopped", "printer-state-changed"])

    def test_exclusiveSequenceNumbers(self) -> None:
        """
        An upstream that returns events above the number given (ippserver)
        keeps being asked for the last one seen, so none is skipped.
        """
        self.upstream.inclusive = False
        self.start()
        for keyword in ("printer-stopped", "printer-state-changed", "job-created"):
            self.upstream.addEvent(keyword)
            self.clock.advance(2)
        asked = [_op(m, "notify-sequence-numbers") for m in self.gets()]
        self.assertEqual(asked[-1], 3)
        self.assertEqual(
            self.keywords(), ["printer-stopped", "printer-state-changed", "job-created"]
        )

    def test_longPoll(self) -> None:
        """
        An upstream that honours notify-wait holds the poll until an event; the
        poller publishes it and polls again at once, without the clock moving.
        """
        self.upstream.longPoll = True
        self.upstream.inclusive = False
        self.upstream.getInterval = None
        self.start()
        self.assertEqual(len(self.upstream.waiting), 1)
        self.upstream.addEvent("printer-stopped")
        self.assertEqual(self.keywords(), ["printer-stopped"])
        self.assertEqual(len(self.upstream.waiting), 1)
        self.assertEqual(len(self.gets()), 2)

    def test_emptyLongPollNotInATightLoop(self) -> None:
        """
        An answer without notify-get-interval and without events is followed by
        the next poll, but not sooner than minInterval after the previous one.
        """
        self.upstream.getInterval = None
        self.start(minInterval=1.0)
        self.assertEqual(len(self.gets()), 1)
        self.clock.advance(0.9)
        self.assertEqual(len(self.gets()), 1)
        self.clock.advance(0.1)
        self.assertEqual(len(self.gets()), 2)

    def test_busyUpstreamWaitsItsInterval(self) -> None:
        """
        server-error-busy with notify-get-interval: poll again after that.
        """

        def busy(message: Message) -> Message:
            return self.upstream.answer(
                message, 0x0507, (Attribute.integer("notify-get-interval", 5),)
            )

        self.upstream.replies[GET_NOTIFICATIONS] = [busy]
        self.start()
        self.clock.advance(4.9)
        self.assertEqual(len(self.gets()), 1)
        self.clock.advance(0.1)
        self.assertEqual(len(self.gets()), 2)

    def test_stopCancelsLongPoll(self) -> None:
        """
        stopService abandons a long poll under way and leaves no timer.
        """
        self.upstream.longPoll = True
        self.upstream.getInterval = None
        poller = self.makePoller()
        poller.startService()
        self.assertEqual(len(self.upstream.waiting), 1)
        self.successResultOf(poller.stopService())
        self.assertEqual(self.upstream.waiting, [])
        self.assertEqual(self.clock.getDelayedCalls(), [])
        # The client was given: whoever gave it closes it.
        self.assertFalse(cast(FakeClient, poller.client).closed)

    def test_stopWhileWaiting(self) -> None:
        """
        stopService between polls cancels the timer.
        """
        poller = self.makePoller()
        poller.startService()
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        self.successResultOf(poller.stopService())
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.clock.advance(100)
        self.assertEqual(len(self.gets()), 1)


class RestartTests(PollerTestCase):
    def test_restartResumesWithoutDuplicates(self) -> None:
        """
        A new poller on the same store renews the stored subscription (no new
        one) and publishes only what came after the cursor.
        """
        first = self.start()
        self.upstream.addEvent("printer-stopped")
        self.upstream.addEvent("job-created", jobId=1)
        self.clock.advance(2)
        self.successResultOf(first.stopService())
        self.upstream.addEvent("job-completed", jobId=1)
        self.upstream.requests.clear()
        self.start()
        self.assertEqual(
            self.upstream.operations[:2], [RENEW_SUBSCRIPTION, GET_NOTIFICATIONS]
        )
        self.assertEqual(_op(self.upstream.requests[0], "notify-subscription-id"), 1)
        self.assertEqual(
            self.keywords(), ["printer-stopped", "job-created", "job-completed"]
        )
        self.assertEqual(len(self.upstream.subscriptions), 1)
        self.assertEqual(self.cursor(), "1:3:1000")

    def test_duplicatesAfterCrashSkipped(self) -> None:
        """
        Events at or below the cursor (a server that sends them anyway) are not
        published again.
        """
        self.upstream.inclusive = False
        self.upstream.subscriptions[1] = FakeSubscription(1, "x", b"", ("all",), 3600)
        self.upstream.nextId = 2
        self.upstream.addEvent("printer-stopped")
        self.upstream.addEvent("printer-state-changed")
        self.upstream.addEvent("job-created", jobId=3)
        self.store.setCursor(cursorName(UPSTREAM), "1:2:1000")

        def everything(message: Message) -> Message:
            return self.upstream.answer(
                message,
                groups=tuple(g for _, g in self.upstream.subscriptions[1].kept),
            )

        self.upstream.replies[GET_NOTIFICATIONS] = [everything]
        self.start()
        self.assertEqual(self.keywords(), ["job-created"])
        self.assertEqual(self.cursor(), "1:3:1000")


class RenewalTests(PollerTestCase):
    def test_renewAtHalfTheGrantedLease(self) -> None:
        """
        Renew-Subscription goes out at half the lease the upstream granted,
        asking for the configured lease again.
        """
        self.upstream.grantLease = 600
        self.start(leaseDuration=3600)
        self.advance(299)
        self.assertEqual(self.upstream.requestsOf(RENEW_SUBSCRIPTION), [])
        self.advance(1)
        renewals = self.upstream.requestsOf(RENEW_SUBSCRIPTION)
        self.assertEqual(len(renewals), 1)
        self.assertEqual(_op(renewals[0], "notify-subscription-id"), 1)
        group = renewals[0].group(GroupTag.SUBSCRIPTION)
        assert group is not None
        self.assertEqual(group.value("notify-lease-duration"), 3600)
        self.advance(299)
        self.assertEqual(len(self.upstream.requestsOf(RENEW_SUBSCRIPTION)), 1)
        self.advance(1)
        self.assertEqual(len(self.upstream.requestsOf(RENEW_SUBSCRIPTION)), 2)

    def test_renewWithRequestedLeaseWhenNoneGranted(self) -> None:
        """
        cupsd does not say what lease it granted: the one asked for counts.
        """
        self.start(leaseDuration=3600, pollInterval=60)
        self.advance(1799, step=10)
        self.assertEqual(self.upstream.requestsOf(RENEW_SUBSCRIPTION), [])
        self.advance(1, step=1)
        self.assertEqual(len(self.upstream.requestsOf(RENEW_SUBSCRIPTION)), 1)

    def test_foreverLeaseNeverRenewed(self) -> None:
        self.start(leaseDuration=0, pollInterval=60)
        self.advance(100_000, step=60)
        self.assertEqual(self.upstream.requestsOf(RENEW_SUBSCRIPTION), [])

    def test_renewRefusedKeepsPolling(self) -> None:
        """
        An upstream that cannot renew (no such operation) is still polled, and
        asked to renew again later.
        """
        self.upstream.grantLease = 100

        def unsupported(message: Message) -> Message:
            return self.upstream.answer(message, 0x0501)

        self.upstream.replies[RENEW_SUBSCRIPTION] = [unsupported]
        self.start()
        self.advance(50)
        self.assertEqual(len(self.upstream.requestsOf(RENEW_SUBSCRIPTION)), 1)
        polls = len(self.gets())
        self.advance(9)
        self.assertGreater(len(self.gets()), polls)
        self.advance(1)
        self.assertEqual(len(self.upstream.requestsOf(RENEW_SUBSCRIPTION)), 2)


class RecreationTests(PollerTestCase):
    def assertLostReported(self, event: Event, count: Optional[int]) -> None:
        self.assertEqual(event.event, EVENTS_LOST)
        self.assertEqual(event.printerUri, LOCAL)
        self.assertEqual(event.source, UPSTREAM)
        self.assertEqual(event.attributes.value(LOST_EVENTS_ATTRIBUTE), count)
        assert event.text is not None
        if count is None:
            self.assertIn("may have been lost", event.text)
        else:
            self.assertIn(f"{count} events", event.text)

    def test_notFoundRecreates(self) -> None:
        """
        client-error-not-found on Get-Notifications (the subscription expired,
        or the server lost it): a new subscription, and an events-lost event
        before the new subscription's events.
        """
        poller = self.start()
        self.upstream.addEvent("printer-stopped")
        self.clock.advance(2)
        del self.upstream.subscriptions[1]
        self.clock.advance(2)
        self.assertEqual(
            self.upstream.operations[-2:],
            [CREATE_PRINTER_SUBSCRIPTIONS, GET_NOTIFICATIONS],
        )
        self.assertEqual(len(self.upstream.subscriptions), 1)
        self.upstream.addEvent("printer-state-changed")
        self.clock.advance(2)
        events = self.received()
        self.assertEqual(
            [e.event for e in events],
            ["printer-stopped", EVENTS_LOST, "printer-state-changed"],
        )
        self.assertLostReported(events[1], None)
        self.assertIn("upstream subscription 1", events[1].text or "")
        self.assertEqual(poller.cursor, Cursor(2, 1, 1000))
        self.assertEqual(self.cursor(), "2:1:1000")
        # A subscription to job-completed only does not get the report.
        self.assertEqual(self.keywords(self.jobsOnly), [])

    def test_renewNotFoundRecreates(self) -> None:
        """
        A stored subscription the upstream no longer has (the relay was down
        longer than the lease) is re-created at start, with an events-lost event.
        """
        self.store.setCursor(cursorName(UPSTREAM), "9:42:1000")
        self.start()
        self.assertEqual(
            self.upstream.operations[:3],
            [RENEW_SUBSCRIPTION, CREATE_PRINTER_SUBSCRIPTIONS, GET_NOTIFICATIONS],
        )
        self.assertEqual(self.keywords(), [EVENTS_LOST])
        self.assertIn("after sequence number 42", self.received()[0].text or "")
        self.assertEqual(self.cursor(), "1:0:1000")

    def test_eventsCompleteRecreates(self) -> None:
        """
        successful-ok-events-complete: the events that came with it are
        published, then the subscription is re-created.
        """
        self.start()
        self.upstream.addEvent("printer-stopped")

        def complete(message: Message) -> Message:
            answer = self.upstream.handle(message)
            del self.upstream.subscriptions[1]
            return answer.replace(code=0x0007)

        self.upstream.replies[GET_NOTIFICATIONS] = [complete]
        self.clock.advance(2)
        self.assertEqual(self.keywords(), ["printer-stopped", EVENTS_LOST])
        self.assertEqual(len(self.upstream.requestsOf(CREATE_PRINTER_SUBSCRIPTIONS)), 2)
        self.assertEqual(list(self.upstream.subscriptions), [2])

    def test_upTimeBackwardsRecreates(self) -> None:
        """
        printer-up-time going backwards means the upstream restarted: the old
        subscription is cancelled and a new one created, with an events-lost
        event.
        """
        self.start()
        self.upstream.addEvent("printer-stopped")
        self.clock.advance(2)
        self.upstream.upTime = 5
        self.upstream.addEvent("printer-state-changed")
        self.clock.advance(2)
        cancels = self.upstream.requestsOf(CANCEL_SUBSCRIPTION)
        self.assertEqual([_op(m, "notify-subscription-id") for m in cancels], [1])
        self.assertEqual(list(self.upstream.subscriptions), [2])
        self.assertEqual(self.keywords(), ["printer-stopped", EVENTS_LOST])
        self.assertIn("restarted", self.received()[1].text or "")
        self.upstream.addEvent("printer-stopped")
        self.clock.advance(2)
        self.assertEqual(self.cursor(), "2:1:5")

    def test_gapReported(self) -> None:
        """
        Events the upstream dropped before they were fetched are reported by an
        events-lost event with their count, in place; the cursor moves past them.
        """
        self.start()
        self.upstream.addEvent("printer-stopped")
        self.upstream.addEvent("printer-state-changed")
        self.clock.advance(2)
        for keyword in ("job-created", "job-completed", "printer-stopped"):
            self.upstream.addEvent(keyword, jobId=4 if "job" in keyword else None)
        self.upstream.dropOldest(1, 4)
        self.clock.advance(2)
        events = self.received()
        self.assertEqual(
            [e.event for e in events],
            [
                "printer-stopped",
                "printer-state-changed",
                EVENTS_LOST,
                "printer-stopped",
            ],
        )
        self.assertLostReported(events[2], 2)
        self.assertIn("sequence numbers 3 to 4", events[2].text or "")
        self.assertEqual(self.cursor(), "1:5:1000")
        stored = self.successResultOf(
            self.store.eventsSince(self.everything.subscriptionId, 3, 1)
        )
        self.assertEqual(eventFromPayload(stored[0][1]).key, (UPSTREAM, 1, 3))
        self.assertEqual(self.keywords(self.jobsOnly), [])

    def test_gapAtStart(self) -> None:
        """
        A new subscription whose first kept event is not number 1 lost the ones
        before.
        """
        self.upstream.longPoll = True
        self.upstream.getInterval = None
        self.start()
        self.upstream.longPoll = False
        sub = self.upstream.subscriptions[1]
        sub.lastSequence = 2
        self.upstream.addEvent("printer-stopped")
        self.assertEqual(self.keywords(), [EVENTS_LOST, "printer-stopped"])
        self.assertEqual(self.received()[0].attributes.value(LOST_EVENTS_ATTRIBUTE), 2)


class UnreachableTests(PollerTestCase):
    def test_backsOffCappedAndLogs(self) -> None:
        """
        An unreachable upstream is tried again after 1, 2, 4... seconds (with
        the injected jitter at its maximum), capped at maxBackoff, and each
        failure is logged with the delay.
        """
        self.upstream.down = "Connection was refused by other side"
        poller = self.start(maxBackoff=30)
        self.advance(200)
        times = [t for t, _ in cast(FakeClient, poller.client).times]
        gaps = [round(b - a, 3) for a, b in zip(times, times[1:])]
        self.assertEqual(gaps[:7], [1, 2, 4, 8, 16, 30, 30])
        warnings = [e for e in self.logged if "trying again" in e["log_format"]]
        self.assertEqual(warnings[1]["delay"], 2)
        self.assertIn("refused", warnings[0]["reason"])
        self.upstream.down = None
        self.advance(30)
        self.assertEqual(self.cursor(), "1:0:")
        self.assertTrue(any("answers again" in e["log_format"] for e in self.logged))

    def test_jitterFromInjectedRandom(self) -> None:
        """
        The delay is drawn by the injected jitter, but never below minInterval.
        """
        self.upstream.down = "refused"
        poller = self.start(jitter=lambda: 0.25, minInterval=0.5)
        self.advance(20)
        times = [t for t, _ in cast(FakeClient, poller.client).times]
        gaps = [round(b - a, 3) for a, b in zip(times, times[1:])]
        self.assertEqual(gaps[:5], [0.5, 0.5, 1, 2, 4])

    def test_backAfterOutageRenewsFirst(self) -> None:
        """
        Once an unreachable upstream answers again, the poller renews to learn
        whether the subscription survived; it did (cupsd keeps them), so polling
        goes on with it: no new subscription, no events-lost event.
        """
        self.start()
        self.upstream.addEvent("printer-stopped")
        self.clock.advance(2)
        self.upstream.down = "Connection was refused by other side"
        self.advance(10)
        self.upstream.down = None
        self.upstream.addEvent("printer-state-changed")
        self.upstream.requests.clear()
        self.advance(20)
        self.assertEqual(
            self.upstream.operations[:2], [RENEW_SUBSCRIPTION, GET_NOTIFICATIONS]
        )
        self.assertEqual(self.upstream.requestsOf(CREATE_PRINTER_SUBSCRIPTIONS), [])
        self.assertEqual(self.keywords(), ["printer-stopped", "printer-state-changed"])

    def test_backAfterOutageWithoutSubscription(self) -> None:
        """
        An upstream that came back without our subscription gets a new one.
        """
        self.start()
        self.clock.advance(2)
        self.upstream.down = "refused"
        self.advance(5)
        self.upstream.down = None
        self.upstream.subscriptions.clear()
        self.advance(20)
        self.assertEqual(list(self.upstream.subscriptions), [2])
        self.assertEqual(self.keywords(), [EVENTS_LOST])


class CursorTests(SynchronousTestCase):
    def test_roundTrip(self) -> None:
        for cursor in (Cursor(7, 42, 1717171717), Cursor(1), Cursor(3, 0, 0)):
            self.assertEqual(Cursor.parse(cursor.format()), cursor)
        self.assertEqual(Cursor(7, 42, 1717171717).format(), "7:42:1717171717")
        self.assertEqual(Cursor(7, 42).format(), "7:42:")

    def test_refused(self) -> None:
        for text in ("", "1:2", "a:b:c", "0:1:", "1:-1:", "1:2:3:4"):
            self.assertRaises(ValueError, Cursor.parse, text)

    def test_name(self) -> None:
        self.assertEqual(cursorName(UPSTREAM), "ippget:" + UPSTREAM)


# -- Loopback tests ----------------------------------------------------------------


class UpstreamResource(Resource):
    """
    Serves a L{FakeUpstream} over HTTP, as an IPP printer does.
    """

    isLeaf = True

    def __init__(self, upstream: FakeUpstream) -> None:
        super().__init__()
        self.upstream = upstream

    def render_POST(self, request: Request) -> bytes:
        assert request.content is not None
        message = decode(request.content.read())
        self.upstream.requests.append(message)
        request.setHeader(b"content-type", b"application/ipp")
        return encode(self.upstream.handle(message))


class Silent(Resource):
    isLeaf = True

    def render_POST(self, request: Request) -> object:
        return NOT_DONE_YET


class Plain(Resource):
    isLeaf = True

    def __init__(self, body: bytes, contentType: bytes = b"text/html") -> None:
        super().__init__()
        self.body = body
        self.contentType = contentType

    def render_POST(self, request: Request) -> bytes:
        request.setHeader(b"content-type", self.contentType)
        return self.body


def getNotifications(uri: str, subscriptionId: int = 1) -> Message:
    return Message(
        (2, 0),
        GET_NOTIFICATIONS,
        9,
        [
            operationGroup(
                uri, "me", Attribute.integer("notify-subscription-ids", subscriptionId)
            )
        ],
    )


class IppClientTests(TestCase):
    def serve(self, resource: Resource) -> str:
        root = Resource()
        root.putChild(b"printers", resource)
        port = reactor.listenTCP(0, Site(root), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        return f"ipp://127.0.0.1:{port.getHost().port}/printers/q"

    def client(self, **kwargs: Any) -> IppClient:
        client = IppClient(reactor, **kwargs)

        @inlineCallbacks
        def close() -> Any:
            # A connection dropped mid-response reaches the pool a little later,
            # and the server sees it go a little later still.
            yield deferLater(reactor, 0.05, lambda: None)
            yield client.close()
            yield deferLater(reactor, 0.05, lambda: None)

        self.addCleanup(close)
        return client

    @inlineCallbacks
    def test_roundTrip(self):
        """
        An ipp: URI is POSTed to over HTTP; the response message comes back,
        whatever its IPP status.
        """
        upstream = FakeUpstream()
        uri = self.serve(UpstreamResource(upstream))
        client = self.client()
        response = yield client.request(uri, getNotifications(uri))
        self.assertEqual(response.statusCode, NOT_FOUND)
        self.assertEqual(response.requestId, 9)
        self.assertEqual(upstream.requests[0].operationId, GET_NOTIFICATIONS)
        self.assertFalse(isSuccessful(response.statusCode))

    @inlineCallbacks
    def test_httpError(self):
        uri = self.serve(Resource())
        error = yield self.assertFailure(
            self.client().request(uri.replace("/q", ""), getNotifications(uri)),
            IppHttpError,
        )
        self.assertIn(error.code, (404, 405))

    @inlineCallbacks
    def test_notIpp(self):
        uri = self.serve(Plain(b"<html></html>"))
        error = yield self.assertFailure(
            self.client().request(uri, getNotifications(uri)), IppResponseError
        )
        self.assertIn("not application/ipp", error.reason)

    @inlineCallbacks
    def test_undecodable(self):
        uri = self.serve(Plain(b"\x02\x00\x00", b"application/ipp"))
        error = yield self.assertFailure(
            self.client().request(uri, getNotifications(uri)), IppResponseError
        )
        self.assertIn("unreadable", error.reason)

    @inlineCallbacks
    def test_tooLarge(self):
        uri = self.serve(Plain(b"\x02\x00" + b"\x00" * 5000, b"application/ipp"))
        error = yield self.assertFailure(
            self.client(maxResponseBytes=1000).request(uri, getNotifications(uri)),
            IppResponseError,
        )
        self.assertIn("over 1000 bytes", error.reason)

    @inlineCallbacks
    def test_timeout(self):
        uri = self.serve(Silent())
        error = yield self.assertFailure(
            self.client().request(uri, getNotifications(uri), timeout=0.2),
            IppTransportError,
        )
        self.assertIn("no answer within 0.2 s", error.reason)

    @inlineCallbacks
    def test_refused(self):
        port = reactor.listenTCP(0, Site(Resource()), interface="127.0.0.1")
        number = port.getHost().port
        yield port.stopListening()
        uri = f"ipp://127.0.0.1:{number}/printers/q"
        error = yield self.assertFailure(
            self.client().request(uri, getNotifications(uri)), IppTransportError
        )
        self.assertIn("refused", error.reason.lower())

    @inlineCallbacks
    def test_cancel(self):
        uri = self.serve(Silent())
        d = self.client().request(uri, getNotifications(uri))
        yield deferLater(reactor, 0.05, lambda: None)
        d.cancel()
        yield self.assertFailure(d, CancelledError)

    @inlineCallbacks
    def test_badUri(self):
        error = yield self.assertFailure(
            self.client().request("mailto:a@b", getNotifications("mailto:a@b")),
            IppClientError,
        )
        self.assertIn("unsupported scheme", error.reason)


@implementer(INotificationSink)
class RecordingSink:
    """
    Takes every event.
    """

    def __init__(self) -> None:
        self.events: List[Event] = []

    def receive(self, event: Event) -> Deferred[int]:
        self.events.append(event)
        return succeed(0)


@inlineCallbacks
def waitFor(
    condition: Callable[[], bool],
    timeout: float,
    what: str,
    details: Callable[[], str] = lambda: "",
) -> Any:
    """
    Poll C{condition} every 50 ms on the real reactor.

    @raise AssertionError: if it does not hold within C{timeout} seconds.
    """
    deadline = reactor.seconds() + timeout
    while not condition():
        if reactor.seconds() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{details()}")
        yield deferLater(reactor, 0.05, lambda: None)


class LoopbackPollerTests(TestCase):
    @inlineCallbacks
    def test_pollsOverHttpWithSQLiteStore(self):
        """
        The poller with a real IppClient against an upstream served on
        loopback, on a SQLite store: events arrive; a second poller on the same
        store file resumes the subscription and publishes only what is new.
        """
        upstream = FakeUpstream(getInterval=1)
        root = Resource()
        root.putChild(b"printers", UpstreamResource(upstream))
        port = reactor.listenTCP(0, Site(root), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        uri = f"ipp://127.0.0.1:{port.getHost().port}/printers/q"
        store = yield SQLiteStore.open(self.mktemp(), reactor)
        self.addCleanup(store.close)
        manager = SubscriptionManager(store, reactor)
        subscription = yield manager.subscribe(
            LOCAL, pullMethod="ippget", events=("all",)
        )

        def makePoller() -> UpstreamPoller:
            poller = UpstreamPoller(
                uri, LOCAL, manager, store, reactor, pollInterval=0.1, minInterval=0.05
            )
            poller.startService()
            self.addCleanup(lambda: poller.stopService() if poller.running else None)
            return poller

        poller = makePoller()
        yield waitFor(lambda: poller.cursor is not None, 5, "the subscription")
        upstream.addEvent("printer-stopped")
        upstream.addEvent("job-completed", jobId=3, jobState=9)
        yield waitFor(lambda: poller.published == 2, 5, "two events")
        yield poller.stopService()
        upstream.addEvent("printer-state-changed")
        upstream.requests.clear()
        poller = makePoller()
        yield waitFor(lambda: poller.published == 1, 5, "the third event")
        yield poller.stopService()
        self.assertEqual(upstream.operations[0], RENEW_SUBSCRIPTION)
        self.assertEqual(len(upstream.subscriptions), 1)
        events = yield manager.history(subscription.subscriptionId)
        self.assertEqual(
            [e.event for e in events],
            ["printer-stopped", "job-completed", "printer-state-changed"],
        )
        self.assertEqual(events[0].source, uri)
        cursor = yield store.getCursor(cursorName(uri))
        self.assertEqual(cursor, "1:3:1000")


# -- End to end with a real cupsd ------------------------------------------------


class CupsEndToEndTests(TestCase):
    """
    A private cupsd with a C{file:/dev/null} queue; the relay side: manager,
    dispatcher and HTTP delivery on a memory store, two application
    subscriptions pushing to a real loopback listener, one poller on the queue.
    """

    timeout = 120

    def setUp(self) -> Any:
        reason = cupsAvailable()
        if reason is not None:
            raise SkipTest(reason)
        self.cups = CupsDaemon(os.path.abspath(self.mktemp()))
        self.cups.start()
        self.addCleanup(self.cups.stop)
        self.upstreamUri = self.cups.addQueue("test")
        self.store = MemoryStore()
        self.manager = SubscriptionManager(self.store, reactor)
        self.sinks = {b"one": RecordingSink(), b"two": RecordingSink()}
        root = Resource()
        for name, sink in self.sinks.items():
            root.putChild(name, NotificationListener(sink, source=name.decode()))
        port = reactor.listenTCP(0, NotificationSite(root), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        delivery = HttpDeliveryMethod(reactor)
        self.addCleanup(delivery.pool.closeCachedConnections)
        self.dispatcher = Dispatcher(self.store, delivery, reactor, pollInterval=0.5)
        self.manager.onQueued(self.dispatcher.wake)
        self.dispatcher.startService()
        self.addCleanup(self.dispatcher.stopService)
        self.listenerBase = f"http://127.0.0.1:{port.getHost().port}/"
        self.client = IppClient(reactor)
        self.addCleanup(self.client.close)
        return self.subscribeApplications()

    @inlineCallbacks
    def subscribeApplications(self) -> Any:
        self.applications = []
        for name in self.sinks:
            subscription = yield self.manager.subscribe(
                LOCAL,
                recipientUri=self.listenerBase + name.decode(),
                events=("all",),
            )
            self.applications.append(subscription)

    def startPoller(self) -> UpstreamPoller:
        poller = UpstreamPoller(
            self.upstreamUri,
            LOCAL,
            self.manager,
            self.store,
            reactor,
            pollInterval=0.25,
            minInterval=0.1,
            maxBackoff=1.0,
        )
        self.logged: List[Dict[str, Any]] = []

        def observe(event: Dict[str, Any]) -> None:
            self.logged.append(event)
            globalLogPublisher(event)

        poller.log = Logger(namespace="poller", observer=cast(ILogObserver, observe))
        poller.startService()
        self.addCleanup(lambda: poller.stopService() if poller.running else None)
        return poller

    def log(self) -> str:
        received = {
            name.decode(): [(e.event, e.jobId) for e in sink.events]
            for name, sink in self.sinks.items()
        }
        return (
            f"received: {received}\ncupsd error_log (tail):\n"
            + self.cups.errorLog()[-4000:]
        )

    def keywords(self, name: bytes) -> List[str]:
        return [e.event for e in self.sinks[name].events]

    def waitForEvent(self, keyword: str, timeout: float = 20) -> Deferred[Any]:
        return waitFor(
            lambda: all(keyword in self.keywords(name) for name in self.sinks),
            timeout,
            f"{keyword} at both applications",
            self.log,
        )

    @inlineCallbacks
    def ourSubscriptions(self) -> Any:
        """
        Every subscription on the cupsd queue (Get-Subscriptions,
        my-subscriptions false), as 0x06 groups.
        """
        response = yield self.client.request(
            self.upstreamUri,
            getSubscriptionsRequest(
                self.upstreamUri, self.client.nextRequestId(), userName="tester"
            ),
        )
        self.assertTrue(isSuccessful(response.statusCode), str(response))
        return list(response.groupsOf(GroupTag.SUBSCRIPTION))

    @inlineCallbacks
    def test_relayFansOutCupsEvents(self):
        """
        cupsdisable reaches both applications as printer-stopped; a job reaches
        them as job-created ... job-completed in order; and cupsd has exactly
        one subscription, ours, for both applications.
        """
        poller = self.startPoller()
        yield waitFor(
            lambda: poller.cursor is not None, 10, "the upstream subscription", self.log
        )

        # (a) cupsdisable -> printer-stopped
        self.cups.run("cupsdisable", "test")
        yield self.waitForEvent("printer-stopped")
        for sink in self.sinks.values():
            stopped = [e for e in sink.events if e.event == "printer-stopped"][0]
            self.assertEqual(stopped.printerState, 5)
            self.assertEqual(stopped.printerUri, LOCAL)

        # (b) a job: job-created ... job-completed, in order
        self.cups.run("cupsenable", "test")
        output = self.cups.run("lp", "-d", "test", "/etc/hostname").stdout.decode()
        jobId = int(output.split("test-")[1].split()[0])
        yield self.waitForEvent("job-completed")
        for name, sink in self.sinks.items():
            jobEvents = [e.event for e in sink.events if e.jobId == jobId]
            self.assertEqual(jobEvents[0], "job-created", self.log())
            self.assertEqual(jobEvents[-1], "job-completed", self.log())
            # Each application's notifications are numbered 1, 2, 3... by the
            # relay, whatever cupsd numbered them.
            self.assertEqual(
                [e.sequenceNumber for e in sink.events],
                list(range(1, len(sink.events) + 1)),
            )
            self.assertEqual(
                {e.subscriptionId for e in sink.events},
                {self.applications[list(self.sinks).index(name)].subscriptionId},
            )
        self.assertEqual(self.keywords(b"one"), self.keywords(b"two"))

        # (c) fan-out: one upstream subscription for both applications
        groups = yield self.ourSubscriptions()
        self.assertEqual(len(groups), 1, groups)
        group = groups[0]
        self.assertEqual(group.value("notify-pull-method"), "ippget")
        self.assertEqual(group.value("notify-subscriber-user-name"), "ipp-ntfy")
        self.assertEqual(group.value("notify-user-data"), b"ipp-ntfy relay")
        assert poller.cursor is not None
        self.assertEqual(
            group.value("notify-subscription-id"), poller.cursor.subscriptionId
        )
        yield poller.stopService()

    @inlineCallbacks
    def test_cupsdRestart(self):
        """
        cupsd stops and starts again: the poller backs off while it is away,
        then renews.  cupsd keeps the subscription and its sequence numbers
        across the restart, but not the events it had not handed out: the one it
        numbered while shutting down is never fetchable, so the poller reports
        exactly one lost event, then carries on with the same subscription
        (server-started, then the next printer event).  Still one subscription
        on cupsd.
        """
        poller = self.startPoller()
        yield waitFor(
            lambda: poller.cursor is not None, 10, "the upstream subscription", self.log
        )
        self.cups.run("cupsdisable", "test")
        yield self.waitForEvent("printer-stopped")
        assert poller.cursor is not None
        before = poller.cursor
        self.cups.stop()
        yield deferLater(reactor, 1.5, lambda: None)
        self.cups.start()
        self.cups.run("cupsenable", "test")
        yield self.waitForEvent("printer-state-changed", timeout=30)
        groups = yield self.ourSubscriptions()
        self.assertEqual(len(groups), 1, groups)
        assert poller.cursor is not None
        self.assertEqual(
            poller.cursor.subscriptionId, before.subscriptionId, self.log()
        )
        for sink in self.sinks.values():
            keywords = [e.event for e in sink.events]
            self.assertEqual(keywords[0], "printer-stopped", self.log())
            lost = [e for e in sink.events if e.event == EVENTS_LOST]
            self.assertEqual(len(lost), 1, self.log())
            self.assertEqual(lost[0].attributes.value(LOST_EVENTS_ATTRIBUTE), 1)
            self.assertIn("server-started", keywords[keywords.index(EVENTS_LOST) :])
        self.assertTrue(
            any("trying again" in e["log_format"] for e in self.logged),
            "the outage was not noticed",
        )
        yield poller.stopService()
