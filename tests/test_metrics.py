"""
The relay's metrics (L{ipp_ntfy.metrics}): the counters and the histogram on a
L{Clock}, fed by the real dispatcher, poller and pushed-printer sink; the
C{/metrics} resource; and a real relay on loopback, scraped over HTTP and parsed
with C{prometheus_client}'s own parser, its every metric moving when it should.
"""

from __future__ import annotations

import time
from typing import Any, Dict, List, Optional, Tuple

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from twisted.internet import reactor as _reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.task import Clock, deferLater
from twisted.python.usage import UsageError
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.client import Agent, readBody
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Site
from twisted.web.test.requesthelper import DummyRequest
from zope.interface.verify import verifyObject

from ipp_ntfy import tap
from ipp_ntfy.delivery import HttpDeliveryMethod
from ipp_ntfy.interfaces import IRelayObserver
from ipp_ntfy.ipp import Attribute, Group, GroupTag, Message
from ipp_ntfy.ippclient import IppClient
from ipp_ntfy.manager import SubscriptionManager
from ipp_ntfy.metrics import LATENCY_BUCKETS, MetricsResource, RelayMetrics
from ipp_ntfy.notification import Event
from ipp_ntfy.outcome import DeliveryOutcome, OutcomeKind
from ipp_ntfy.relay import PushedPrinterSink
from ipp_ntfy.retry import RetryPolicy, backoffPolicy
from ipp_ntfy.store import MemoryStore, QueueStats, RecipientQueue

from .test_ippget import UPSTREAM, PollerTestCase
from .test_queue import DELIVERED, Harness, event
from .test_relay import App, RelayTestsMixin

reactor: Any = _reactor

#: Every metric family the relay exposes.
FAMILIES = {
    "ipp_ntfy_events_received",
    "ipp_ntfy_deliveries",
    "ipp_ntfy_delivery_latency_seconds",
    "ipp_ntfy_upstream_poll_errors",
    "ipp_ntfy_queue_depth",
    "ipp_ntfy_queue_oldest_age_seconds",
    "ipp_ntfy_subscriptions",
    "ipp_ntfy_dead_letters",
}

_Key = Tuple[str, Tuple[Tuple[str, str], ...]]


class Scrape:
    """
    One scrape, parsed with C{prometheus_client}'s parser.

    @ivar families: the metric families by name, with their help text.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.families: Dict[str, str] = {}
        self.samples: Dict[_Key, float] = {}
        for family in text_string_to_metric_families(text):
            self.families[family.name] = family.documentation
            for sample in family.samples:
                key = (sample.name, tuple(sorted(sample.labels.items())))
                self.samples[key] = sample.value

    def has(self, name: str, **labels: str) -> bool:
        return (name, tuple(sorted(labels.items()))) in self.samples

    def __call__(self, name: str, **labels: str) -> float:
        """
        @return: the sample's value; 0 for a series not there (yet).
        """
        return self.samples.get((name, tuple(sorted(labels.items()))), 0.0)

    def subscriptions(self) -> Tuple[float, float, float, float]:
        """
        @return: push active, push expired, pull active, pull expired.
        """
        name = "ipp_ntfy_subscriptions"
        return (
            self(name, kind="push", state="active"),
            self(name, kind="push", state="expired"),
            self(name, kind="pull", state="active"),
            self(name, kind="pull", state="expired"),
        )


def scrapeOf(metrics: RelayMetrics, stats: Optional[QueueStats] = None) -> Scrape:
    return Scrape(metrics.render(stats, 1000.0).decode("utf-8"))


class RelayMetricsTests(SynchronousTestCase):
    """
    L{RelayMetrics} alone.
    """

    def test_providesObserver(self) -> None:
        self.assertTrue(verifyObject(IRelayObserver, RelayMetrics()))

    def test_everyMetricWithHelp(self) -> None:
        """
        Every metric is there from the start, named C{ipp_ntfy_...}, with help
        text; the counters without the wall clock's C{_created} series.
        """
        scrape = scrapeOf(RelayMetrics(), QueueStats())
        self.assertEqual(set(scrape.families), FAMILIES)
        for name, documentation in scrape.families.items():
            self.assertTrue(documentation, name)
        self.assertNotIn("_created", scrape.text)
        for outcome in ("delivered", "retry", "cancelled", "dead-lettered"):
            self.assertTrue(scrape.has("ipp_ntfy_deliveries_total", outcome=outcome))

    def test_ownRegistry(self) -> None:
        """
        Each L{RelayMetrics} counts in a registry of its own: two in one process
        do not clash or share, and the global registry is left alone.
        """
        first, second = RelayMetrics(), RelayMetrics()
        first.eventsReceived("front", 2)
        self.assertEqual(
            scrapeOf(first)("ipp_ntfy_events_received_total", source="front"), 2
        )
        self.assertFalse(
            scrapeOf(second).has("ipp_ntfy_events_received_total", source="front")
        )
        self.assertIsNone(REGISTRY.get_sample_value("ipp_ntfy_dead_letters"))

    def test_counters(self) -> None:
        """
        Events received count by source, not-delivered events by outcome, failed
        polls by upstream; a URI's user name and password are not shown.
        """
        metrics = RelayMetrics()
        metrics.eventsReceived("front", 1)
        metrics.eventsReceived("front", 2)
        metrics.eventsReceived("ipp://cups:631/printers/q", 1)
        metrics.eventsNotDelivered("retry", 3)
        metrics.eventsNotDelivered("dead-lettered", 1)
        metrics.eventsNotDelivered("cancelled", 2)
        metrics.upstreamPollFailed("ipps://relay:secret@cups:631/printers/q")
        metrics.upstreamPollFailed("ipps://cups:631/printers/q")
        scrape = scrapeOf(metrics)
        received = "ipp_ntfy_events_received_total"
        self.assertEqual(scrape(received, source="front"), 3)
        self.assertEqual(scrape(received, source="ipp://cups:631/printers/q"), 1)
        deliveries = "ipp_ntfy_deliveries_total"
        self.assertEqual(scrape(deliveries, outcome="retry"), 3)
        self.assertEqual(scrape(deliveries, outcome="dead-lettered"), 1)
        self.assertEqual(scrape(deliveries, outcome="cancelled"), 2)
        self.assertEqual(scrape(deliveries, outcome="delivered"), 0)
        self.assertEqual(
            scrape(
                "ipp_ntfy_upstream_poll_errors_total",
                upstream="ipps://cups:631/printers/q",
            ),
            2,
        )
        self.assertNotIn("secret", scrape.text)

    def test_latencyHistogram(self) -> None:
        """
        Each delivered event counts once as delivered and once in the latency
        histogram, in the first bucket its latency fits.
        """
        metrics = RelayMetrics()
        metrics.eventsDelivered([0.003, 0.7, 120.0])
        metrics.eventsDelivered([-1.0])  # a clock stepped back: 0, not negative
        scrape = scrapeOf(metrics)
        self.assertEqual(scrape("ipp_ntfy_deliveries_total", outcome="delivered"), 4)
        name = "ipp_ntfy_delivery_latency_seconds"
        self.assertEqual(scrape(name + "_count"), 4)
        self.assertAlmostEqual(scrape(name + "_sum"), 120.703)
        self.assertEqual(scrape(name + "_bucket", le="0.005"), 2)
        self.assertEqual(scrape(name + "_bucket", le="0.5"), 2)
        self.assertEqual(scrape(name + "_bucket", le="1.0"), 3)
        self.assertEqual(scrape(name + "_bucket", le="60.0"), 3)
        self.assertEqual(scrape(name + "_bucket", le="300.0"), 4)
        self.assertEqual(scrape(name + "_bucket", le="+Inf"), 4)
        self.assertEqual(
            len(LATENCY_BUCKETS) + 1,
            len([key for key in scrape.samples if key[0] == name + "_bucket"]),
        )

    def test_storeGauges(self) -> None:
        """
        The store's figures: depth and age of the oldest event per recipient
        (at the time given), subscriptions by kind and state, dead letters.
        Recipients that differ only in user info share one series.
        """
        stats = QueueStats(
            recipients=(
                RecipientQueue("http://a.example/n", 3, 900.0),
                RecipientQueue("http://user:pw@b.example/n", 1, 990.0),
                RecipientQueue("http://b.example/n", 2, 995.0),
            ),
            pushActive=4,
            pushExpired=1,
            pullActive=2,
            pullExpired=0,
            deadLetters=7,
        )
        scrape = scrapeOf(RelayMetrics(), stats)
        depth, age = "ipp_ntfy_queue_depth", "ipp_ntfy_queue_oldest_age_seconds"
        self.assertEqual(scrape(depth, recipient="http://a.example/n"), 3)
        self.assertEqual(scrape(age, recipient="http://a.example/n"), 100)
        self.assertEqual(scrape(depth, recipient="http://b.example/n"), 3)
        self.assertEqual(scrape(age, recipient="http://b.example/n"), 10)
        self.assertNotIn("pw@", scrape.text)
        self.assertEqual(scrape.subscriptions(), (4, 1, 2, 0))
        self.assertEqual(scrape("ipp_ntfy_dead_letters"), 7)

    def test_noStaleQueues(self) -> None:
        """
        A recipient whose queue is empty has no series at the next scrape; a
        render without the store's figures has none of them.
        """
        metrics = RelayMetrics()
        full = QueueStats(recipients=(RecipientQueue("http://a.example/n", 1, 0.0),))
        self.assertTrue(
            scrapeOf(metrics, full).has(
                "ipp_ntfy_queue_depth", recipient="http://a.example/n"
            )
        )
        self.assertFalse(
            scrapeOf(metrics, QueueStats()).has(
                "ipp_ntfy_queue_depth", recipient="http://a.example/n"
            )
        )
        scrape = scrapeOf(metrics)
        self.assertFalse(scrape.has("ipp_ntfy_dead_letters"))
        self.assertIn("ipp_ntfy_subscriptions", scrape.families)


class DispatcherMetricsTests(Harness):
    """
    The dispatcher tells its observer of each outcome, on a clock.
    """

    def setUp(self) -> None:
        self.metrics = RelayMetrics()
        self.setUpQueue(observer=self.metrics)

    def scrape(self) -> Scrape:
        return scrapeOf(self.metrics)

    def outcome(self, outcome: str) -> float:
        return self.scrape()("ipp_ntfy_deliveries_total", outcome=outcome)

    def test_deliveredWithLatency(self) -> None:
        """
        Delivered events count as delivered, and their time from queued to
        delivered (on the dispatcher's clock) goes in the histogram.
        """
        self.subscribe("http://a.example/n")
        self.delivery.hold = True
        self.publish(event(n=1))
        self.publish(event(n=2))
        self.clock.advance(0)
        self.assertEqual(self.outcome("delivered"), 0)
        self.clock.advance(3)
        [held] = self.delivery.held
        held.callback([DELIVERED, DELIVERED])
        scrape = self.scrape()
        self.assertEqual(scrape("ipp_ntfy_deliveries_total", outcome="delivered"), 2)
        name = "ipp_ntfy_delivery_latency_seconds"
        self.assertEqual(scrape(name + "_count"), 2)
        self.assertEqual(scrape(name + "_sum"), 6)
        self.assertEqual(scrape(name + "_bucket", le="2.5"), 0)
        self.assertEqual(scrape(name + "_bucket", le="5.0"), 2)

    def test_retry(self) -> None:
        """
        Events not delivered and rescheduled count as retry, each time.
        """
        self.subscribe("http://a.example/n")
        self.delivery.answer = lambda r, events: (
            [DeliveryOutcome(OutcomeKind.RETRY, "connection refused")] * len(events)
        )
        self.publish(event(n=1))
        self.publish(event(n=2))
        self.clock.advance(0)
        self.assertEqual(self.outcome("retry"), 2)
        self.clock.advance(60)
        self.assertEqual(self.outcome("retry"), 4)
        self.assertEqual(self.outcome("delivered"), 0)

    def test_cancelled(self) -> None:
        """
        Events dropped with a subscription the recipient cancelled count as
        cancelled; an event consumed before the cancel counts as delivered.
        """
        self.subscribe("http://a.example/n")
        self.subscribe("http://b.example/n")
        self.delivery.answer = lambda r, events: (
            [DeliveryOutcome(OutcomeKind.CANCEL, "client-error-not-found")]
            * len(events)
            if r == "http://a.example/n"
            else [DeliveryOutcome(OutcomeKind.CANCEL, "cancel", consumed=True)]
            + [DeliveryOutcome(OutcomeKind.RETRY, "timeout")] * (len(events) - 1)
        )
        self.delivery.hold = True
        self.publish(event(n=1))
        self.publish(event(n=2))
        self.clock.advance(0)
        for held, (_, recipient, events) in zip(
            self.delivery.held, self.delivery.requests
        ):
            held.callback(self.delivery.answer(recipient, events))
        self.assertEqual(self.outcome("cancelled"), 3)
        self.assertEqual(self.outcome("delivered"), 1)

    def test_deadLettered(self) -> None:
        """
        An event the recipient refuses for good counts as dead-lettered; the
        subscription's events sent with it stay queued: retry.
        """
        self.subscribe("http://a.example/n")
        self.delivery.hold = True
        self.publish(event(n=1))
        self.publish(event(n=2))
        self.clock.advance(0)
        [held] = self.delivery.held
        held.callback([DeliveryOutcome(OutcomeKind.FAILED, "HTTP 400")] * 2)
        self.assertEqual(self.outcome("dead-lettered"), 1)
        self.assertEqual(self.outcome("retry"), 1)

    def test_maximumAgeDeadLetters(self) -> None:
        """
        An event retried until its maximum age counts as dead-lettered then.
        """
        self.subscribe("http://a.example/n")
        self.delivery.answer = lambda r, events: (
            [DeliveryOutcome(OutcomeKind.RETRY, "connection refused")] * len(events)
        )
        self.publish(event(n=1))
        for _ in range(70):
            self.clock.advance(60)
        self.assertEqual(self.outcome("dead-lettered"), 1)
        self.assertGreater(self.outcome("retry"), 1)


class PollerMetricsTests(PollerTestCase):
    """
    The ippget poller tells its observer of failed requests and of the events
    it publishes.
    """

    def test_pollErrors(self) -> None:
        """
        Each failed request to the upstream counts once.
        """
        metrics = RelayMetrics()
        self.upstream.down = "Connection was refused by other side"
        poller = self.start(observer=metrics)
        self.advance(20)
        attempts = len(poller.client.times)  # type: ignore[attr-defined]
        self.assertGreater(attempts, 2)
        errors = "ipp_ntfy_upstream_poll_errors_total"
        self.assertEqual(scrapeOf(metrics)(errors, upstream=UPSTREAM), attempts)
        self.upstream.down = None
        self.advance(60)
        self.assertEqual(scrapeOf(metrics)(errors, upstream=UPSTREAM), attempts)

    def test_eventsReceived(self) -> None:
        """
        Each event published counts as received from the upstream.
        """
        metrics = RelayMetrics()
        self.start(observer=metrics)
        self.upstream.addEvent("printer-stopped")
        self.upstream.addEvent("printer-state-changed")
        self.advance(2)
        received = "ipp_ntfy_events_received_total"
        self.assertEqual(len(self.received()), 2)
        self.assertEqual(scrapeOf(metrics)(received, source=UPSTREAM), 2)


class SinkMetricsTests(SynchronousTestCase):
    def test_eventsReceived(self) -> None:
        """
        The events a printer pushes count as received from it; a re-sent one,
        dropped, does not.
        """
        clock = Clock()
        store = MemoryStore()
        manager = SubscriptionManager(store, clock)
        metrics = RelayMetrics()
        sink = PushedPrinterSink(
            "front", "ipp://relay/ipp/printers/front", manager, store, metrics
        )
        pushed = Event(
            source="front",
            subscriptionId=3,
            sequenceNumber=5,
            event="printer-stopped",
            printerUri="ipp://front.example/ipp/print",
        )
        for _ in range(2):
            self.assertEqual(self.successResultOf(sink.receive(pushed)), 0)
        received = "ipp_ntfy_events_received_total"
        self.assertEqual(scrapeOf(metrics)(received, source="front"), 1)


class SlowStore(MemoryStore):
    """
    A store whose C{queueStats} answers when the test says.
    """

    def __init__(self) -> None:
        super().__init__()
        self.asked: List[Tuple[float, Deferred[QueueStats]]] = []

    def queueStats(self, now: float) -> Deferred[QueueStats]:
        d: Deferred[QueueStats] = Deferred()
        self.asked.append((now, d))
        return d


class MetricsResourceTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.clock.advance(500)
        self.metrics = RelayMetrics()
        self.store = SlowStore()
        self.resource = MetricsResource(self.metrics, self.store, self.clock)

    def test_answersOnceTheStoreHas(self) -> None:
        """
        C{GET /metrics} asks the store for its figures as of now, and answers
        in the Prometheus text format once the store has answered.
        """
        request = DummyRequest([b""])
        self.assertEqual(self.resource.render(request), NOT_DONE_YET)
        [(now, d)] = self.store.asked
        self.assertEqual(now, 500)
        self.assertEqual(request.written, [])
        d.callback(QueueStats(recipients=(RecipientQueue("http://a/n", 2, 440.0),)))
        self.assertEqual(request.finished, 1)
        self.assertEqual(request.responseCode, None)
        self.assertEqual(
            request.responseHeaders.getRawHeaders(b"content-type"),
            [b"text/plain; version=0.0.4; charset=utf-8"],
        )
        scrape = Scrape(b"".join(request.written).decode("utf-8"))
        self.assertEqual(scrape("ipp_ntfy_queue_depth", recipient="http://a/n"), 2)
        self.assertEqual(
            scrape("ipp_ntfy_queue_oldest_age_seconds", recipient="http://a/n"), 60
        )

    def test_storeFails(self) -> None:
        """
        When the store cannot answer, the answer is a 503 and the error is
        logged.
        """
        store = MemoryStore()
        store.close()
        resource = MetricsResource(self.metrics, store, self.clock)
        request = DummyRequest([b""])
        resource.render(request)
        self.assertEqual(request.responseCode, 503)
        self.assertEqual(request.finished, 1)
        self.assertEqual(len(self.flushLoggedErrors()), 1)

    def test_clientGone(self) -> None:
        """
        Nothing is written for a client that went away while the store was read.
        """
        request = DummyRequest([b""])
        self.resource.render(request)
        request.processingFailed(Exception("connection lost"))
        [(_, d)] = self.store.asked
        d.callback(QueueStats())
        self.assertEqual(request.written, [])


class OptionsTests(SynchronousTestCase):
    def parse(self, *argv: str) -> Any:
        options = tap.Options()
        options.parseOptions(["relay", *argv])
        return options.subOptions

    def test_options(self) -> None:
        """
        /metrics is served by default; C{--no-metrics} turns it off;
        C{--metrics-listen} (repeatable) moves it to endpoints of its own; the
        two together make no sense.
        """
        sub = self.parse()
        self.assertEqual((sub["no-metrics"], sub["metrics-listen"]), (0, []))
        self.assertTrue(self.parse("--no-metrics")["no-metrics"])
        sub = self.parse("--metrics-listen", "tcp:9631", "--metrics-listen", "unix:m")
        self.assertEqual(sub["metrics-listen"], ["tcp:9631", "unix:m"])
        self.assertRaises(
            UsageError, self.parse, "--no-metrics", "--metrics-listen", "tcp:9631"
        )
        text = str(tap.RelayOptions())
        self.assertIn("--no-metrics", text)
        self.assertIn("--metrics-listen", text)
        self.assertIn("/metrics", text)

    def test_service(self) -> None:
        """
        The options reach the relay service.
        """
        options = tap.Options()
        options.parseOptions(["relay", "--metrics-listen", "tcp:9631"])
        relay = tap.makeService(options)
        self.assertIsInstance(relay.metrics, RelayMetrics)  # type: ignore[attr-defined]
        self.assertEqual(relay.metricsListen, ["tcp:9631"])  # type: ignore[attr-defined]
        options = tap.Options()
        options.parseOptions(["relay", "--no-metrics"])
        self.assertIsNone(tap.makeService(options).metrics)  # type: ignore[attr-defined]


# -- A real relay, scraped over HTTP ----------------------------------------------


class Refusing(Resource):
    """
    A recipient that answers every POST with one HTTP status.
    """

    isLeaf = True

    def __init__(self, code: int) -> None:
        super().__init__()
        self.code = code

    def render_POST(self, request: Any) -> bytes:
        request.setResponseCode(self.code)
        return b"no"


def _operation(printerUri: str, *more: Attribute) -> Group:
    return Group(
        GroupTag.OPERATION,
        [
            Attribute.charset("attributes-charset", "utf-8"),
            Attribute.naturalLanguage("attributes-natural-language", "en"),
            Attribute.uri("printer-uri", printerUri),
            Attribute.nameValue("requesting-user-name", "app"),
            *more,
        ],
    )


class RelayScrapeTests(RelayTestsMixin, TestCase):
    """
    A real relay on loopback: a printer pushes to it, applications subscribe to
    it, an upstream is unreachable; C{/metrics} is scraped over HTTP and parsed.
    """

    timeout = 120

    def listen(self, resource: Resource) -> str:
        port = reactor.listenTCP(0, Site(resource), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        return f"http://127.0.0.1:{port.getHost().port}/events"

    def deadUpstream(self) -> str:
        """
        @return: an upstream URI where nothing listens.
        """
        port = reactor.listenTCP(0, Site(Resource()), interface="127.0.0.1")
        number = port.getHost().port
        port.stopListening()
        return f"ipp://127.0.0.1:{number}/printers/gone"

    @inlineCallbacks
    def get(self, url: str) -> Any:
        response = yield Agent(reactor).request(b"GET", url.encode("ascii"))
        body = yield readBody(response)
        return response, body

    @inlineCallbacks
    def scrape(self, port: int) -> Any:
        response, body = yield self.get(f"http://127.0.0.1:{port}/metrics")
        self.assertEqual(response.code, 200, body)
        [contentType] = response.headers.getRawHeaders(b"content-type")
        self.assertTrue(contentType.startswith(b"text/plain; version=0.0.4"))
        return Scrape(body.decode("utf-8"))

    @inlineCallbacks
    def scrapeUntil(self, port: int, condition: Any, why: str) -> Any:
        """
        Scrape until C{condition(scrape)} holds (at most 30 seconds).
        """
        deadline = time.monotonic() + 30
        while True:
            scrape = yield self.scrape(port)
            if condition(scrape):
                return scrape
            if time.monotonic() > deadline:
                self.fail(f"{why}; last scrape:\n{scrape.text}")
            yield deferLater(reactor, 0.05, lambda: None)

    @inlineCallbacks
    def ipp(self, port: int, name: str, message: Message) -> Any:
        client = IppClient(reactor)
        self.addCleanup(client.close)
        answer = yield client.request(
            f"ipp://127.0.0.1:{port}/ipp/printers/{name}", message
        )
        self.assertEqual(answer.statusCode, 0, answer)
        return answer

    @inlineCallbacks
    def subscribe(  # type: ignore[override]
        self, relay: Any, name: str, recipient: Optional[str]
    ) -> Any:
        """
        Create-Printer-Subscriptions on printer object C{name}: push to
        C{recipient}, or pull with C{None}.
        """
        port = yield self.relayPort(relay)
        template = [Attribute.keyword("notify-events", "all")]
        if recipient is None:
            template.append(Attribute.keyword("notify-pull-method", "ippget"))
        else:
            template.append(Attribute.uri("notify-recipient-uri", recipient))
        answer = yield self.ipp(
            port,
            name,
            Message(
                (2, 0),
                0x0016,
                7,
                [
                    _operation(relay.printerUri(name)),
                    Group(GroupTag.SUBSCRIPTION, template),
                ],
            ),
        )
        return answer.group(GroupTag.SUBSCRIPTION).value("notify-subscription-id")

    @inlineCallbacks
    def push(self, port: int, sequence: int) -> Any:
        """
        The printer pushes its event C{sequence} to C{/notify/front}.
        """
        delivery = HttpDeliveryMethod(reactor)
        self.addCleanup(delivery.pool.closeCachedConnections)
        printerEvent = Event(
            source="printer",
            subscriptionId=33,
            sequenceNumber=sequence,
            event="printer-stopped",
            printerUri="ipp://front.example/ipp/print",
            printerState=5,
        )
        [outcome] = yield delivery.deliver(
            f"http://127.0.0.1:{port}/notify/front", [printerEvent]
        )
        self.assertTrue(outcome.delivered, outcome)

    @inlineCallbacks
    def test_everyMetricMoves(self) -> Any:
        """
        Each metric moves when it should: subscriptions created and cancelled;
        an event pushed in, delivered (with its latency); the listener down
        (retries, the queue and its oldest event's age growing), back (the
        queue drained); a refusing recipient (dead letters); a recipient that
        is gone (cancelled); an unreachable upstream (poll errors).
        """
        upstream = self.deadUpstream()
        relay = self.startRelay(
            printers=["front"],
            upstreams=[upstream],
            retryPolicy=RetryPolicy(
                backoffPolicy(initialDelay=0.05, maxDelay=0.2), maxAge=3600
            ),
        )
        port = yield self.relayPort(relay)
        deliveries = "ipp_ntfy_deliveries_total"
        latency = "ipp_ntfy_delivery_latency_seconds_count"
        received = "ipp_ntfy_events_received_total"
        depth, age = "ipp_ntfy_queue_depth", "ipp_ntfy_queue_oldest_age_seconds"

        scrape = yield self.scrape(port)
        self.assertEqual(set(scrape.families), FAMILIES)
        self.assertEqual(scrape.subscriptions(), (0, 0, 0, 0))
        self.assertEqual(scrape(deliveries, outcome="delivered"), 0)
        self.assertEqual(scrape("ipp_ntfy_dead_letters"), 0)

        # The upstream is unreachable.
        errors = "ipp_ntfy_upstream_poll_errors_total"
        scrape = yield self.scrapeUntil(
            port,
            lambda s: s(errors, upstream=upstream) >= 1,
            "no upstream poll error counted",
        )
        failedPolls = scrape(errors, upstream=upstream)

        # Subscriptions, by kind.
        app = App()
        self.addCleanup(app.stop)
        yield self.subscribe(relay, "front", app.uri)
        pullId = yield self.subscribe(relay, "front", None)
        scrape = yield self.scrape(port)
        self.assertEqual(scrape.subscriptions(), (1, 0, 1, 0))

        # An event in, delivered; the same report again is not counted.
        yield self.push(port, 1)
        scrape = yield self.scrapeUntil(
            port,
            lambda s: s(deliveries, outcome="delivered") == 1,
            "the event was not counted as delivered",
        )
        self.assertEqual(scrape(received, source="front"), 1)
        self.assertEqual(scrape(latency), 1)
        self.assertFalse(scrape.has(depth, recipient=app.uri))
        yield self.push(port, 1)
        scrape = yield self.scrape(port)
        self.assertEqual(scrape(received, source="front"), 1)
        self.assertEqual(app.sink.events[0][2], "printer-stopped")

        # The listener is down: retries, and the queue grows and ages.
        yield app.stop()
        yield self.push(port, 2)
        first = yield self.scrapeUntil(
            port,
            lambda s: s(deliveries, outcome="retry") >= 1,
            "no retry counted",
        )
        self.assertEqual(first(depth, recipient=app.uri), 1)
        yield self.push(port, 3)
        later = yield self.scrapeUntil(
            port,
            lambda s: (
                s(depth, recipient=app.uri) == 2
                and s(age, recipient=app.uri) > first(age, recipient=app.uri)
                and s(deliveries, outcome="retry") > first(deliveries, outcome="retry")
            ),
            "the queue did not grow and age, or no more retries",
        )
        self.assertEqual(later(received, source="front"), 3)
        self.assertEqual(later(deliveries, outcome="delivered"), 1)

        # It is back: the queue drains.
        app.start()
        scrape = yield self.scrapeUntil(
            port,
            lambda s: s(deliveries, outcome="delivered") == 3,
            "the queued events were not delivered",
        )
        self.assertFalse(scrape.has(depth, recipient=app.uri))
        self.assertEqual(scrape(latency), 3)
        self.assertEqual([s for _, s, _ in app.sink.events], [1, 2, 3])

        # A recipient that refuses for good: dead letters.
        yield self.subscribe(relay, "front", self.listen(Refusing(400)))
        scrape = yield self.scrape(port)
        self.assertEqual(scrape.subscriptions(), (2, 0, 1, 0))
        yield self.push(port, 4)
        scrape = yield self.scrapeUntil(
            port,
            lambda s: (
                s(deliveries, outcome="dead-lettered") == 1
                and s(deliveries, outcome="delivered") == 4
            ),
            "no dead letter counted",
        )
        self.assertEqual(scrape("ipp_ntfy_dead_letters"), 1)

        # A recipient that is gone: its subscription is cancelled.
        yield self.subscribe(relay, "front", self.listen(Refusing(404)))
        scrape = yield self.scrape(port)
        self.assertEqual(scrape.subscriptions(), (3, 0, 1, 0))
        yield self.push(port, 5)
        scrape = yield self.scrapeUntil(
            port,
            lambda s: (
                s(deliveries, outcome="cancelled") == 1
                and s(deliveries, outcome="dead-lettered") == 2
                and s(deliveries, outcome="delivered") == 5
            ),
            "no cancel counted",
        )
        self.assertEqual(scrape.subscriptions(), (2, 0, 1, 0))
        self.assertEqual(scrape("ipp_ntfy_dead_letters"), 2)

        # An application cancels its pull subscription.
        yield self.ipp(
            port,
            "front",
            Message(
                (2, 0),
                0x001B,
                8,
                [
                    _operation(
                        relay.printerUri("front"),
                        Attribute.integer("notify-subscription-id", pullId),
                    )
                ],
            ),
        )
        scrape = yield self.scrape(port)
        self.assertEqual(scrape.subscriptions(), (2, 0, 0, 0))

        # The upstream is still unreachable: each new attempt counts.
        yield self.scrapeUntil(
            port,
            lambda s: s(errors, upstream=upstream) > failedPolls,
            "the next failed poll was not counted",
        )

    @inlineCallbacks
    def test_ownEndpoint(self) -> Any:
        """
        With C{metricsListen}, C{/metrics} is served there and not on the
        relay's endpoints.
        """
        relay = self.startRelay(
            printers=["front"], metricsListen=["tcp:0:interface=127.0.0.1"]
        )
        port = yield self.relayPort(relay)
        [metricsPort] = relay.metricsPorts
        response, _ = yield self.get(f"http://127.0.0.1:{port}/metrics")
        self.assertEqual(response.code, 404)
        scrape = yield self.scrape(metricsPort.getHost().port)
        self.assertEqual(set(scrape.families), FAMILIES)

    @inlineCallbacks
    def test_off(self) -> Any:
        """
        With C{metrics=False}, there is no C{/metrics}, and nothing counts.
        """
        relay = self.startRelay(printers=["front"], metrics=False)
        port = yield self.relayPort(relay)
        self.assertIsNone(relay.metrics)
        self.assertIsNone(relay.dispatcher.observer)
        response, _ = yield self.get(f"http://127.0.0.1:{port}/metrics")
        self.assertEqual(response.code, 404)
