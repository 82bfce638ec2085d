"""
The HTTP delivery method.

In-memory tests connect the Agent's connection to a L{StringTransport} on a
L{MemoryReactorClock} and answer with hand-written HTTP responses; the loopback
tests deliver to a real listener.
"""

from __future__ import annotations

import datetime
import email.utils
from typing import Any, List, Sequence, Tuple, cast

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet import reactor as _reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.error import ConnectionRefusedError, NoRouteError
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.logger import ILogObserver, LogEvent, Logger, LogLevel, formatEvent
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase
from zope.interface.verify import verifyObject

from ipp_ntfy.delivery import (
    HttpDeliveryMethod,
    RecipientError,
    _Endpoints,
    _outcomeForStatus,
    _outcomesForStatuses,
    httpTarget,
    retryAfter,
)
from ipp_ntfy.interfaces import IDeliveryMethod, IEncodedDeliveryMethod
from ipp_ntfy.ipp import Attribute, Group, GroupTag, Message, decode, encode
from ipp_ntfy.listener import NotificationListener, NotificationSite
from ipp_ntfy.notification import EncodedEvent, Event, ReportStatus, parseReport
from ipp_ntfy.outcome import DeliveryOutcome, OutcomeKind
from ipp_ntfy.service import resourceAt

from .test_listener import RecordingSink, makeEvent

reactor: Any = _reactor


def ippAnswer(status: int, requestId: int, perReport: Tuple[int, ...] = ()) -> bytes:
    groups = [
        Group(
            GroupTag.OPERATION,
            [
                Attribute.charset("attributes-charset", "utf-8"),
                Attribute.naturalLanguage("attributes-natural-language", "en"),
            ],
        )
    ]
    groups += [
        Group(
            GroupTag.EVENT_NOTIFICATION,
            [Attribute.enum("notification-report-status-code", code)],
        )
        for code in perReport
    ]
    return encode(Message((1, 0), status, requestId, groups))


def httpResponse(
    body: bytes,
    code: int = 200,
    contentType: bytes = b"application/ipp",
    extra: Tuple[bytes, ...] = (),
    chunked: bool = False,
) -> bytes:
    lines = [b"HTTP/1.1 %d Whatever" % (code,), b"Content-Type: " + contentType]
    lines.extend(extra)
    if chunked:
        lines.append(b"Transfer-Encoding: chunked")
        payload = b""
        for start in range(0, len(body), 7):
            piece = body[start : start + 7]
            payload += b"%x\r\n%s\r\n" % (len(piece), piece)
        payload += b"0\r\n\r\n"
    else:
        lines.append(b"Content-Length: %d" % (len(body),))
        payload = body
    return b"\r\n".join(lines) + b"\r\n\r\n" + payload


class HttpTargetTests(SynchronousTestCase):
    def test_schemes(self) -> None:
        self.assertEqual(
            httpTarget("ipp://printer.example/notify"),
            ("http://printer.example:631/notify", "report"),
        )
        self.assertEqual(
            httpTarget("ipps://printer.example:8443/x?y=1"),
            ("https://printer.example:8443/x?y=1", "report"),
        )
        self.assertEqual(httpTarget("indp://h/n"), ("http://h:631/n", "indp"))
        self.assertEqual(httpTarget("http://h"), ("http://h:80/", "report"))
        self.assertEqual(
            httpTarget("https://[::1]/n"), ("https://[::1]:443/n", "report")
        )

    def test_refused(self) -> None:
        for uri in ("mailto:a@b", "ftp://h/x", "http:///nohost", "http://h:notaport/"):
            self.assertRaises(RecipientError, httpTarget, uri)

    def test_retryAfter(self) -> None:
        self.assertEqual(retryAfter(b"120", 0), 120.0)
        now = 1_800_000_000.0
        date = email.utils.format_datetime(
            datetime.datetime.fromtimestamp(now + 30, tz=datetime.timezone.utc),
            usegmt=True,
        )
        self.assertEqual(retryAfter(date.encode(), now), 30.0)
        self.assertEqual(retryAfter(date.encode(), now + 100), 0.0)
        self.assertIsNone(retryAfter(b"soon", now))
        self.assertIsNone(retryAfter(None, now))


class EndpointsTests(SynchronousTestCase):
    """
    The delivery method's agent makes the endpoints that C{Agent} makes, once
    for each scheme, host and port.
    """

    def test_sameAsAgent(self) -> None:
        """
        For http, a C{HostnameEndpoint} as C{Agent}'s own endpoint factory
        makes; for https, that endpoint wrapped in TLS with the policy's
        creator for the host and port, asked for once.
        """
        from twisted.web.client import (
            URI,
            BrowserLikePolicyForHTTPS,
            _StandardEndpointFactory,
        )

        asked: List[Tuple[bytes, int]] = []

        class Policy(BrowserLikePolicyForHTTPS):
            def creatorForNetloc(self, hostname: bytes, port: int) -> Any:
                asked.append((hostname, port))
                return super().creatorForNetloc(hostname, port)

        reactor = MemoryReactorClock()
        policy = Policy()
        mine = _Endpoints(reactor, policy, 7.0)
        standard = _StandardEndpointFactory(reactor, policy, 7.0, None)
        for url in [
            b"http://127.0.0.1:631/n",
            b"http://[::1]:80/",
            b"https://a.example:8443/x",
        ]:
            uri = URI.fromBytes(url)
            endpoint = mine.endpointForURI(uri)
            theirs = standard.endpointForURI(uri)
            self.assertIs(type(endpoint), type(theirs))
            if url.startswith(b"https"):
                endpoint = endpoint._wrappedEndpoint  # type: ignore[attr-defined]
                theirs = theirs._wrappedEndpoint  # type: ignore[attr-defined]
            for name in (
                "_hostText",
                "_hostBytes",
                "_port",
                "_timeout",
                "_bindAddress",
            ):
                self.assertEqual(getattr(endpoint, name), getattr(theirs, name))
            self.assertIs(
                mine.endpointForURI(URI.fromBytes(url + b"?again")),
                mine.endpointForURI(uri),
            )
        self.assertEqual(asked, [(b"a.example", 8443)] * 2)  # mine once, theirs once
        self.assertIsNot(
            mine.endpointForURI(URI.fromBytes(b"http://127.0.0.1:632/n")),
            mine.endpointForURI(URI.fromBytes(b"http://127.0.0.1:631/n")),
        )

    def test_otherScheme(self) -> None:
        from twisted.web.client import URI
        from twisted.web.error import SchemeNotSupported

        mine = _Endpoints(MemoryReactorClock(), None, 7.0)  # type: ignore[arg-type]
        self.assertRaises(
            SchemeNotSupported, mine.endpointForURI, URI.fromBytes(b"ftp://a/")
        )


def _asReportStatus(status: int) -> int:
    """
    @return: C{status} as a L{ReportStatus} where it is one (as the answer's
        parser gives some), else as it is.
    """
    try:
        return ReportStatus(status)
    except ValueError:
        return status


class OutcomesForStatusesTests(SynchronousTestCase):
    """
    L{_outcomesForStatuses} keeps one outcome per status and, for an answer of
    one status, one lookup: it gives what L{_outcomeForStatus} gives for each.
    """

    @settings(deadline=None, max_examples=300)
    @given(
        st.one_of(
            st.tuples(
                st.sampled_from([0, 1, 6, 0x0406, 0x0505]), st.integers(0, 60)
            ).map(lambda pair: [pair[0]] * pair[1]),
            st.lists(
                st.one_of(
                    st.sampled_from([0, 1, 6, 0x0400, 0x0406, 0x0500, 0x0505]),
                    st.integers(0, 0x7FFF),
                ),
                max_size=60,
            ),
        )
    )
    def test_sameAsEach(self, statuses: List[int]) -> None:
        for answer in (statuses, [_asReportStatus(status) for status in statuses]):
            mine = _outcomesForStatuses(tuple(answer))
            each = [_outcomeForStatus(status) for status in answer]
            self.assertEqual(mine, each)
            self.assertEqual(
                [type(o.status) for o in mine], [type(o.status) for o in each]
            )

    def test_oneObject(self) -> None:
        """
        All consumed: one outcome object for every event.
        """
        outcomes = _outcomesForStatuses((0,) * 50)
        self.assertEqual(len(outcomes), 50)
        self.assertEqual(len({id(outcome) for outcome in outcomes}), 1)
        self.assertTrue(outcomes[0].delivered)


class InMemoryDeliveryTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.reactor = MemoryReactorClock()
        self.method = HttpDeliveryMethod(
            self.reactor, connectTimeout=5, requestTimeout=20
        )
        self.events = [makeEvent(n) for n in (1, 2, 3)]

    def deliver(
        self,
        events: List[Event] | None = None,
        uri: str = "http://listener.example:8632/notify",
    ) -> Deferred[List[DeliveryOutcome]]:
        return self.method.deliver(uri, self.events if events is None else events)

    def connect(self) -> Tuple[Any, StringTransport]:
        """
        Connect the Agent's pending TCP connection to a string transport.
        """
        host, port, factory, timeout, _ = self.reactor.tcpClients.pop(0)
        # MemoryReactor resolves every name to 127.0.0.1.
        self.assertEqual((host, port, timeout), ("127.0.0.1", 8632, 5))
        protocol: Any = factory.buildProtocol(None)
        transport = StringTransport()
        protocol.makeConnection(transport)
        return protocol, transport

    def sentRequest(self, transport: StringTransport) -> Tuple[bytes, Message]:
        head, _, body = transport.value().partition(b"\r\n\r\n")
        return head, decode(body)

    def test_verify(self) -> None:
        self.assertTrue(verifyObject(IDeliveryMethod, self.method))
        self.assertTrue(verifyObject(IEncodedDeliveryMethod, self.method))

    def test_encodedEventsSameRequest(self) -> None:
        """
        C{deliverEncoded} with L{EncodedEvent}s (or a mix with L{Event}s) sends
        the octets that C{deliver} sends for the events they stand for.
        """
        sent = []
        encoded = [
            EncodedEvent(
                encode(Message((1, 0), 0, 0, [e.toGroup()]))[8:-1],
                e.event,
                e.jobId,
                len(e.toGroup().attributes),
            )
            for e in self.events
        ]
        uri = "http://listener.example:8632/notify"
        eventLists: List[Sequence[Event | EncodedEvent]] = [
            self.events,
            encoded,
            [self.events[0], *encoded[1:]],
        ]
        for events in eventLists:
            # A new method each time: a new connection, which connect() takes.
            method = HttpDeliveryMethod(self.reactor, connectTimeout=5)
            d = method.deliverEncoded(uri, events)
            protocol, transport = self.connect()
            _, body = transport.value().split(b"\r\n\r\n", 1)
            request = decode(body)
            sent.append(body[:4] + body[8:])  # all but the request-id
            protocol.dataReceived(httpResponse(ippAnswer(0, request.requestId)))
            self.assertEqual(
                [o.kind for o in self.successResultOf(d)], [OutcomeKind.DELIVERED] * 3
            )
        self.assertEqual(sent[1:], sent[:1] * 2)

    def test_manyEventsOneRequest(self) -> None:
        """
        Three events go in one POST: Report-Ipp-Notifications, version 1.0, with
        Content-Length and application/ipp; a successful-ok answer delivers all.
        """
        d = self.deliver()
        protocol, transport = self.connect()
        head, request = self.sentRequest(transport)
        self.assertTrue(head.startswith(b"POST /notify HTTP/1.1\r\n"))
        self.assertIn(b"Content-Type: application/ipp", head)
        self.assertIn(b"Content-Length: ", head)
        self.assertEqual((request.version, request.operationId), ((1, 0), 0x0003))
        report = parseReport(request, source="peer")
        self.assertEqual([e.sequenceNumber for e in report.events], [1, 2, 3])
        self.assertEqual(report.recipientUri, "http://listener.example:8632/notify")
        protocol.dataReceived(httpResponse(ippAnswer(0, request.requestId)))
        outcomes = self.successResultOf(d)
        self.assertEqual([o.kind for o in outcomes], [OutcomeKind.DELIVERED] * 3)

    def test_perEventOutcomes(self) -> None:
        """
        Per-report statuses: 0x0000 delivered, 0x0406 cancel, 0x0006 cancel after
        consuming.
        """
        d = self.deliver()
        protocol, transport = self.connect()
        _, request = self.sentRequest(transport)
        protocol.dataReceived(
            httpResponse(ippAnswer(0x0004, request.requestId, (0x0000, 0x0406, 0x0006)))
        )
        outcomes = self.successResultOf(d)
        self.assertEqual(
            [(o.kind, o.consumed, o.delivered) for o in outcomes],
            [
                (OutcomeKind.DELIVERED, False, True),
                (OutcomeKind.CANCEL, False, False),
                (OutcomeKind.CANCEL, True, True),
            ],
        )
        self.assertIn("client-error-not-found", outcomes[1].reason)

    def logged(self) -> List[LogEvent]:
        """
        The log events of the delivery method from now on.
        """
        events: List[LogEvent] = []

        self.method.log = Logger(observer=cast(ILogObserver, events.append))
        return events

    def test_logsWhatWasNotDelivered(self) -> None:
        """
        A request whose events were all delivered logs nothing (the dispatcher
        logs its rounds); one with an event not delivered logs, at info level,
        how many were delivered and why the others were not.
        """
        logged = self.logged()
        d = self.deliver()
        protocol, transport = self.connect()
        _, request = self.sentRequest(transport)
        protocol.dataReceived(httpResponse(ippAnswer(0, request.requestId)))
        self.successResultOf(d)
        self.assertEqual(logged, [])
        transport.clear()
        d = self.deliver(self.events[:2])
        _, request = self.sentRequest(transport)
        protocol.dataReceived(
            httpResponse(ippAnswer(0x0004, request.requestId, (0x0000, 0x0505)))
        )
        self.successResultOf(d)
        [event] = logged
        self.assertEqual(event["log_level"], LogLevel.info)
        self.assertEqual((event["delivered"], event["count"]), (1, 2))
        self.assertIn("0x0505", formatEvent(event))

    def test_temporaryFailureStatus(self) -> None:
        d = self.deliver(self.events[:2])
        protocol, transport = self.connect()
        _, request = self.sentRequest(transport)
        protocol.dataReceived(
            httpResponse(ippAnswer(0x0004, request.requestId, (0x0000, 0x0505)))
        )
        kinds = [o.kind for o in self.successResultOf(d)]
        self.assertEqual(kinds, [OutcomeKind.DELIVERED, OutcomeKind.RETRY])

    def test_chunkedResponse(self) -> None:
        d = self.deliver()
        protocol, transport = self.connect()
        _, request = self.sentRequest(transport)
        protocol.dataReceived(
            httpResponse(ippAnswer(0, request.requestId), chunked=True)
        )
        self.assertTrue(all(o.delivered for o in self.successResultOf(d)))

    def test_retryAfterHonoured(self) -> None:
        for code in (429, 503):
            self.setUp()
            d = self.deliver()
            protocol, _ = self.connect()
            protocol.dataReceived(
                httpResponse(
                    b"busy",
                    code=code,
                    contentType=b"text/plain",
                    extra=(b"Retry-After: 42",),
                )
            )
            outcomes = self.successResultOf(d)
            self.assertEqual(
                {(o.kind, o.retryAfter) for o in outcomes}, {(OutcomeKind.RETRY, 42.0)}
            )

    def test_goneCancels(self) -> None:
        for code in (404, 410):
            self.setUp()
            d = self.deliver()
            protocol, _ = self.connect()
            protocol.dataReceived(
                httpResponse(b"", code=code, contentType=b"text/plain")
            )
            outcomes = self.successResultOf(d)
            self.assertEqual({o.kind for o in outcomes}, {OutcomeKind.CANCEL})
            self.assertIn(str(code), outcomes[0].reason)

    def test_otherClientErrorFails(self) -> None:
        d = self.deliver()
        protocol, _ = self.connect()
        protocol.dataReceived(httpResponse(b"", code=400, contentType=b"text/plain"))
        self.assertEqual(
            {o.kind for o in self.successResultOf(d)}, {OutcomeKind.FAILED}
        )

    def test_notIppAnswerFails(self) -> None:
        d = self.deliver()
        protocol, _ = self.connect()
        protocol.dataReceived(httpResponse(b"<html>", contentType=b"text/html"))
        outcomes = self.successResultOf(d)
        self.assertEqual({o.kind for o in outcomes}, {OutcomeKind.FAILED})
        self.assertIn("text/html", outcomes[0].reason)

    def test_garbledIppAnswerFails(self) -> None:
        d = self.deliver()
        protocol, _ = self.connect()
        protocol.dataReceived(httpResponse(b"\x01\x00\x00\x00\x00\x00\x00\x01\x01\x47"))
        outcomes = self.successResultOf(d)
        self.assertEqual({o.kind for o in outcomes}, {OutcomeKind.FAILED})
        self.assertIn("unreadable IPP response", outcomes[0].reason)

    def test_oversizedAnswerFails(self) -> None:
        self.method.maxResponseBytes = 1000
        d = self.deliver()
        protocol, transport = self.connect()
        protocol.dataReceived(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/ipp\r\n"
            b"Content-Length: 5000\r\n\r\n" + b"\x00" * 2000
        )
        outcomes = self.successResultOf(d)
        self.assertEqual({o.kind for o in outcomes}, {OutcomeKind.FAILED})

    def test_requestTimeout(self) -> None:
        """
        No answer within the request timeout: retry later.
        """
        d = self.deliver()
        self.connect()
        self.assertNoResult(d)
        self.reactor.advance(19)
        self.assertNoResult(d)
        self.reactor.advance(2)
        outcomes = self.successResultOf(d)
        self.assertEqual({o.kind for o in outcomes}, {OutcomeKind.RETRY})
        self.assertIn("no answer within 20 s", outcomes[0].reason)

    def test_connectionRefusedIsRetry(self) -> None:
        d = self.deliver()
        _, _, factory, _, _ = self.reactor.tcpClients.pop(0)
        connector: Any = None
        factory.clientConnectionFailed(connector, Failure(ConnectionRefusedError()))
        # HostnameEndpoint reports the failure of its attempts on the next turn.
        self.reactor.advance(1)
        outcomes = self.successResultOf(d)
        self.assertEqual({o.kind for o in outcomes}, {OutcomeKind.RETRY})
        self.assertIn("refused", outcomes[0].reason.lower())

    def test_unreachableIsRetry(self) -> None:
        d = self.deliver()
        _, _, factory, _, _ = self.reactor.tcpClients.pop(0)
        connector: Any = None
        factory.clientConnectionFailed(connector, Failure(NoRouteError()))
        self.reactor.advance(1)
        self.assertEqual({o.kind for o in self.successResultOf(d)}, {OutcomeKind.RETRY})

    def test_badRecipientFails(self) -> None:
        outcomes = self.successResultOf(self.deliver(uri="mailto:someone@example.com"))
        self.assertEqual({o.kind for o in outcomes}, {OutcomeKind.FAILED})
        self.assertEqual(self.reactor.tcpClients, [])

    def test_batchesKeepOrder(self) -> None:
        """
        More events than fit one request go in several, in order; after a batch
        that is not delivered, the rest are not sent.
        """
        self.method.maxEventsPerRequest = 2
        events = [makeEvent(n) for n in range(1, 6)]
        d = self.deliver(events)
        protocol, transport = self.connect()
        _, request = self.sentRequest(transport)
        self.assertEqual(len(request.groupsOf(GroupTag.EVENT_NOTIFICATION)), 2)
        transport.clear()
        protocol.dataReceived(httpResponse(ippAnswer(0, request.requestId)))
        # The second batch went on the same persistent connection.
        self.assertEqual(self.reactor.tcpClients, [])
        _, request = self.sentRequest(transport)
        self.assertEqual(
            [g.value("notify-sequence-number") for g in request.groupsOf(7)], [3, 4]
        )
        protocol.dataReceived(httpResponse(b"", code=503, contentType=b"text/plain"))
        outcomes = self.successResultOf(d)
        self.assertEqual(
            [o.kind for o in outcomes],
            [OutcomeKind.DELIVERED] * 2 + [OutcomeKind.RETRY] * 3,
        )
        self.assertEqual(outcomes[4].reason, "an earlier event was not delivered")


class LoopbackDeliveryTests(TestCase):
    @inlineCallbacks
    def test_toRealListener(self):
        """
        Delivery to a real listener on loopback; the listener's per-report answer
        comes back as outcomes, over one persistent connection.
        """
        sink = RecordingSink([0, 0x0406, 0, 0, 0, 0])
        site = NotificationSite(resourceAt("/notify", NotificationListener(sink)))
        port = reactor.listenTCP(0, site, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        method = HttpDeliveryMethod(reactor)
        self.addCleanup(method.pool.closeCachedConnections)
        uri = f"http://127.0.0.1:{port.getHost().port}/notify"
        outcomes = yield method.deliver(uri, [makeEvent(n) for n in (1, 2, 3)])
        self.assertEqual(
            [o.kind for o in outcomes],
            [OutcomeKind.DELIVERED, OutcomeKind.CANCEL, OutcomeKind.DELIVERED],
        )
        outcomes = yield method.deliver(uri, [makeEvent(4)])
        self.assertTrue(outcomes[0].delivered)
        self.assertEqual([e.sequenceNumber for e in sink.events], [1, 2, 3, 4])

    @inlineCallbacks
    def test_refusedIsRetry(self):
        port = reactor.listenTCP(
            0,
            NotificationSite(resourceAt("/", NotificationListener(RecordingSink()))),
            interface="127.0.0.1",
        )
        number = port.getHost().port
        yield port.stopListening()
        method = HttpDeliveryMethod(reactor)
        outcomes = yield method.deliver(f"http://127.0.0.1:{number}/", [makeEvent()])
        self.assertEqual(outcomes[0].kind, OutcomeKind.RETRY)
        self.assertIn("refused", outcomes[0].reason.lower())
