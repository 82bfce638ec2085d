"""
The relay, whole: C{twistd ipp-ntfy relay} as a program, and the relay service
in process between a real cupsd (upstream) or a pushing printer and application
listeners on loopback.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from typing import Any, Dict, List, Optional, Tuple

from twisted.internet import reactor as _reactor
from twisted.internet.defer import Deferred, inlineCallbacks, succeed
from twisted.internet.task import deferLater
from twisted.trial.unittest import SkipTest, SynchronousTestCase, TestCase
from zope.interface import implementer

from ipp_ntfy import tap
from ipp_ntfy.delivery import HttpDeliveryMethod
from ipp_ntfy.interfaces import INotificationSink
from ipp_ntfy.ipp import Attribute, Group, GroupTag, Message
from ipp_ntfy.ippclient import IppClient
from ipp_ntfy.listener import NotificationListener, NotificationSite
from ipp_ntfy.notification import Event
from ipp_ntfy.relay import RelayService, defaultBaseUri, printerName
from ipp_ntfy.retry import RetryPolicy, backoffPolicy
from ipp_ntfy.service import resourceAt

from .cupsd import CupsDaemon, cupsAvailable
from .test_tap import TWISTD, _env

reactor: Any = _reactor


@implementer(INotificationSink)
class AppSink:
    """
    An application's listener: records (subscription id, sequence, event).
    """

    def __init__(self) -> None:
        self.events: List[Tuple[int, int, str]] = []

    def receive(self, event: Event) -> Deferred[int]:
        self.events.append((event.subscriptionId, event.sequenceNumber, event.event))
        return succeed(0)


class App:
    """
    An application listener on a fixed loopback port that can be stopped and
    started again.
    """

    def __init__(self) -> None:
        self.sink = AppSink()
        self.site = _TrackingSite(
            resourceAt("/events", NotificationListener(self.sink)), idleTimeout=5
        )
        self.port: Any = reactor.listenTCP(0, self.site, interface="127.0.0.1")
        self.number = self.port.getHost().port

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.number}/events"

    def stop(self) -> Deferred[None]:
        """
        Stop listening and drop the open connections: the listener is gone.
        """
        for channel in list(self.site.channels):
            if channel.transport is not None:
                channel.transport.abortConnection()
        d: Deferred[None] = self.port.stopListening()
        return d

    def start(self) -> None:
        self.port = reactor.listenTCP(self.number, self.site, interface="127.0.0.1")


class _TrackingSite(NotificationSite):
    """
    A site that knows its open connections.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.channels: set[Any] = set()

    def buildProtocol(self, addr: object) -> Any:
        channel = super().buildProtocol(addr)
        self.channels.add(channel)
        lost = channel.connectionLost

        def connectionLost(reason: Any) -> None:
            self.channels.discard(channel)
            lost(reason)

        channel.connectionLost = connectionLost  # type: ignore[method-assign]
        return channel


def subscribeRequest(
    printerUri: str, recipient: str, events: Tuple[str, ...]
) -> Message:
    return Message(
        (2, 0),
        0x0016,
        7,
        [
            Group(
                GroupTag.OPERATION,
                [
                    Attribute.charset("attributes-charset", "utf-8"),
                    Attribute.naturalLanguage("attributes-natural-language", "en"),
                    Attribute.uri("printer-uri", printerUri),
                    Attribute.nameValue("requesting-user-name", "app"),
                ],
            ),
            Group(
                GroupTag.SUBSCRIPTION,
                [
                    Attribute.uri("notify-recipient-uri", recipient),
                    Attribute.keyword("notify-events", *events),
                    Attribute.integer("notify-lease-duration", 0),
                ],
            ),
        ],
    )


class OptionsTests(SynchronousTestCase):
    def parse(self, *argv: str) -> Any:
        options = tap.Options()
        options.parseOptions(["relay", *argv])
        return options.subOptions

    def test_defaults(self) -> None:
        sub = self.parse()
        self.assertEqual(sub["listen"], ["tcp:8631"])
        self.assertEqual(sub["db"], "ipp-ntfy.sqlite3")
        self.assertEqual((sub["upstream"], sub["printer"]), ([], []))

    def test_repeatable(self) -> None:
        sub = self.parse(
            "--upstream",
            "ipp://cups:631/printers/a",
            "--upstream",
            "ipp://cups:631/printers/b",
            "--printer",
            "c",
            "--printer",
            "d",
        )
        self.assertEqual(len(sub["upstream"]), 2)
        self.assertEqual(sub["printer"], ["c", "d"])

    def test_refused(self) -> None:
        from twisted.python.usage import UsageError

        self.assertRaises(UsageError, self.parse, "--upstream", "lpd://x/q")
        self.assertRaises(
            UsageError,
            self.parse,
            "--upstream",
            "ipp://a/printers/q",
            "--upstream",
            "ipp://b/printers/q",
        )
        self.assertRaises(UsageError, self.parse, "--printer", "a/b")
        self.assertRaises(UsageError, self.parse, "--ca-file", "/nonexistent.pem")

    def test_helpExplainsEveryOption(self) -> None:
        text = str(tap.RelayOptions())
        for option in (
            "--listen",
            "--db",
            "--upstream",
            "--printer",
            "--base-uri",
            "--ca-file",
            "--pin",
            "--client-cert",
            "--insecure",
            "--poll-interval",
            "--event-life",
        ):
            self.assertIn(option, text)

    def test_names(self) -> None:
        self.assertEqual(printerName("ipp://cups:631/printers/lobby"), "lobby")
        self.assertEqual(printerName("ipp://cups:631/printers/lobby/"), "lobby")
        self.assertTrue(defaultBaseUri(["ssl:8443:privateKey=k"]).startswith("ipps://"))
        self.assertTrue(defaultBaseUri(["tcp:port=9000"]).endswith(":9000/ipp"))


class TwistdRelayTests(SynchronousTestCase):
    """
    C{twistd -n ipp-ntfy relay} starts on the SQLite default, logs where it
    listens, and stops cleanly on SIGTERM.
    """

    def test_startStop(self) -> None:
        workdir = os.path.abspath(self.mktemp())
        os.makedirs(workdir)
        process = subprocess.Popen(
            [
                *TWISTD,
                "-n",
                "--pidfile=",
                "ipp-ntfy",
                "relay",
                "--listen",
                "tcp:0:interface=127.0.0.1",
                "--printer",
                "front",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=_env(),
            cwd=workdir,
        )
        log = b""
        try:
            assert process.stdout is not None
            deadline = time.monotonic() + 30
            while b"relay ready" not in log and time.monotonic() < deadline:
                line = process.stdout.readline()
                if not line:
                    break
                log += line
            self.assertIn(b"listening on tcp:0:interface=127.0.0.1 (127.0.0.1:", log)
            self.assertIn(b"relay ready: printers front", log)
            self.assertTrue(os.path.exists(os.path.join(workdir, "ipp-ntfy.sqlite3")))
        finally:
            process.send_signal(signal.SIGTERM)
            rest, _ = process.communicate(timeout=30)
        self.assertIn(process.returncode, (0, -signal.SIGTERM), log + rest)
        self.assertIn(b"Server Shut Down.", rest)

    def test_help(self) -> None:
        result = subprocess.run(
            [*TWISTD, "ipp-ntfy", "relay", "--help"], capture_output=True, env=_env()
        )
        self.assertEqual(result.returncode, 0)
        self.assertIn(b"--upstream", result.stdout)


class RelayTestsMixin:
    def startRelay(self, **kwargs: Any) -> Any:
        relay = RelayService(
            reactor,
            listen=["tcp:0:interface=127.0.0.1"],
            db=os.path.abspath(self.mktemp()),  # type: ignore[attr-defined]
            baseUri="ipp://relay.test:8631/ipp",
            pollInterval=0.5,
            **kwargs,
        )
        relay.startService()
        self.addCleanup(relay.stopService)  # type: ignore[attr-defined]
        return relay

    @inlineCallbacks
    def relayPort(self, relay: RelayService) -> Any:
        yield relay.started
        [port] = relay.ports
        return port.getHost().port

    @inlineCallbacks
    def subscribe(
        self,
        relay: RelayService,
        name: str,
        app: App,
        events: Tuple[str, ...] = ("all",),
    ) -> Any:
        port = yield self.relayPort(relay)
        client = IppClient(reactor)
        self.addCleanup(client.close)  # type: ignore[attr-defined]
        answer = yield client.request(
            f"ipp://127.0.0.1:{port}/ipp/printers/{name}",
            subscribeRequest(relay.printerUri(name), app.uri, events),
        )
        self.assertEqual(answer.statusCode, 0, answer)  # type: ignore[attr-defined]
        group = answer.group(GroupTag.SUBSCRIPTION)
        return group.value("notify-subscription-id")

    @inlineCallbacks
    def waitFor(self, condition: Any, seconds: float, why: Any) -> Any:
        deadline = time.monotonic() + seconds
        while not condition():
            if time.monotonic() > deadline:
                self.fail(why())  # type: ignore[attr-defined]
            yield deferLater(reactor, 0.1, lambda: None)


class PushedPrinterTests(RelayTestsMixin, TestCase):
    timeout = 60

    @inlineCallbacks
    def test_pushedReportReachesApplication(self):
        """
        A printer pushes to /notify/front; an application subscribed to printer
        object front gets the event with its own subscription id and sequence; the
        same report sent again is acknowledged and dropped.
        """
        app = App()
        self.addCleanup(app.stop)
        relay = self.startRelay(printers=["front"])
        subscriptionId = yield self.subscribe(relay, "front", app)
        port = yield self.relayPort(relay)
        delivery = HttpDeliveryMethod(reactor)
        self.addCleanup(delivery.pool.closeCachedConnections)
        printerEvent = Event(
            source="printer",
            subscriptionId=33,
            sequenceNumber=5,
            event="printer-stopped",
            printerUri="ipp://front.example/ipp/print",
            printerState=5,
        )
        for _ in range(2):
            outcomes = yield delivery.deliver(
                f"http://127.0.0.1:{port}/notify/front", [printerEvent]
            )
            self.assertTrue(outcomes[0].delivered, outcomes)
        yield self.waitFor(lambda: app.sink.events, 10, lambda: "nothing arrived")
        yield deferLater(reactor, 0.5, lambda: None)
        self.assertEqual(app.sink.events, [(subscriptionId, 1, "printer-stopped")])


class CupsRelayTests(RelayTestsMixin, TestCase):
    """
    The relay between a real cupsd and an application.
    """

    timeout = 240

    def setUp(self) -> None:
        why = cupsAvailable()
        if why is not None:
            raise SkipTest(why)
        self.cups = CupsDaemon(self.mktemp())
        self.cups.start()
        self.addCleanup(self.cups.stop)
        self.queueUri = self.cups.addQueue("test")

    def events(self, app: App) -> List[str]:
        return [e for _, _, e in app.sink.events]

    def why(self, app: App) -> Any:
        return lambda: f"received {app.sink.events}\n{self.cups.errorLog()[-3000:]}"

    @inlineCallbacks
    def test_upstreamJobAndFanOut(self):
        """
        Two applications subscribe to the relay's printer object for a cupsd
        queue: cupsdisable reaches both as printer-stopped, a job as job-created
        ... job-completed in order; cupsd has one subscription, the relay's.
        """
        first, second = App(), App()
        self.addCleanup(first.stop)
        self.addCleanup(second.stop)
        relay = self.startRelay(upstreams=[self.queueUri])
        a = yield self.subscribe(relay, "test", first)
        b = yield self.subscribe(
            relay, "test", second, ("job-state-changed", "printer-stopped")
        )
        self.assertNotEqual(a, b)
        # Let the poller subscribe upstream before anything happens.
        yield deferLater(reactor, 1.5, lambda: None)
        self.cups.run("cupsdisable", "test")
        yield self.waitFor(
            lambda: (
                "printer-stopped" in self.events(first)
                and "printer-stopped" in self.events(second)
            ),
            30,
            self.why(first),
        )
        self.cups.run("cupsenable", "test")
        self.cups.run("lp", "-d", "test", "/etc/hostname")
        yield self.waitFor(
            lambda: (
                "job-completed" in self.events(first)
                and self.events(second).count("job-state-changed") >= 3
            ),
            60,
            self.why(second),
        )
        jobEvents = [e for e in self.events(first) if e.startswith("job-")]
        self.assertEqual(jobEvents[0], "job-created", self.events(first))
        self.assertEqual(jobEvents[-1], "job-completed", self.events(first))
        # The second asked for job-state-changed and printer-stopped: the job's
        # events reach it under that keyword (notify-subscribed-event), and no
        # printer-state-changed at all.
        self.assertEqual(
            set(self.events(second)), {"printer-stopped", "job-state-changed"}
        )
        for app in (first, second):
            sequences = [s for _, s, _ in app.sink.events]
            self.assertEqual(sequences, list(range(1, len(sequences) + 1)))
        subscriptions = yield _cupsSubscriptions(self.cups, self.queueUri)
        self.assertEqual(len(subscriptions), 1, subscriptions)
        self.assertEqual(subscriptions[0].get("notify-pull-method"), "ippget")

    @inlineCallbacks
    def test_listenerDownForAMinute(self):
        """
        The application's listener stops for a minute while events happen; once
        it is back, every event arrives, in order.

        The relay retries at most 5 s apart: with the default backoff (capped
        at 5 minutes, full jitter) the retry due after a minute of failures
        could be drawn 128 s or more away, past the 120 s this test waits.
        """
        app = App()
        relay = self.startRelay(
            upstreams=[self.queueUri],
            retryPolicy=RetryPolicy(backoff=backoffPolicy(maxDelay=5.0)),
        )
        yield self.subscribe(relay, "test", app)
        yield deferLater(reactor, 1.5, lambda: None)
        self.cups.run("cupsdisable", "test")
        yield self.waitFor(lambda: app.sink.events, 30, self.why(app))
        yield app.stop()
        self.cups.run("cupsenable", "test")
        self.cups.run("lp", "-d", "test", "/etc/hostname")
        yield deferLater(reactor, 60, lambda: None)
        # Everything of the job happened while the listener was away.
        self.assertEqual(self.events(app), ["printer-stopped"])
        app.start()
        self.addCleanup(app.stop)
        yield self.waitFor(
            lambda: "job-completed" in self.events(app),
            120,
            self.why(app),
        )
        sequences = [s for _, s, _ in app.sink.events]
        firsts = sorted(set(sequences), key=sequences.index)
        self.assertEqual(firsts, list(range(1, len(firsts) + 1)), app.sink.events)


@inlineCallbacks
def _cupsSubscriptions(cups: CupsDaemon, queueUri: str) -> Any:
    """
    Get-Subscriptions on cupsd (all users' subscriptions of the queue).
    """
    client = IppClient(reactor)
    request = Message(
        (2, 0),
        0x0019,
        9,
        [
            Group(
                GroupTag.OPERATION,
                [
                    Attribute.charset("attributes-charset", "utf-8"),
                    Attribute.naturalLanguage("attributes-natural-language", "en"),
                    Attribute.uri("printer-uri", queueUri),
                    Attribute.nameValue("requesting-user-name", "root"),
                    Attribute.boolean("my-subscriptions", False),
                    Attribute.keyword("requested-attributes", "all"),
                ],
            )
        ],
    )
    answer = yield client.request(queueUri, request)
    yield client.close()
    result: List[Dict[str, Optional[object]]] = []
    for group in answer.groupsOf(GroupTag.SUBSCRIPTION):
        result.append({a.name: a.value for a in group.attributes})
    return result
