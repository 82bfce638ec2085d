"""
The notification listener: HTTP behaviour and per-report answers.

Most tests drive a L{NotificationSite} channel over a L{StringTransport} with a
L{MemoryReactorClock}, so time and bytes are exact; the last ones use real loopback
sockets.
"""

from __future__ import annotations

import datetime
import io
import json
import os
from typing import Any, List, Optional, Tuple

from twisted.internet import reactor as _reactor
from twisted.internet.defer import Deferred, fail, inlineCallbacks, succeed
from twisted.internet.protocol import ClientFactory, Protocol
from twisted.internet.task import deferLater
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.client import Agent, FileBodyProducer, HTTPConnectionPool, readBody
from twisted.web.http_headers import Headers
from zope.interface import implementer
from zope.interface.verify import verifyObject

from ipp_ntfy.interfaces import INotificationSink
from ipp_ntfy.ipp import GroupTag, Message, decode, encode
from ipp_ntfy.listener import NotificationListener, NotificationSite
from ipp_ntfy.notification import Event, ReportStatus, buildReport
from ipp_ntfy.output import JSONLinesSink
from ipp_ntfy.service import resourceAt

from .vectors import vector

reactor: Any = _reactor
RECIPIENT = "http://127.0.0.1:8632/notify"
WHEN = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.timezone.utc)


def makeEvent(sequence: int = 1, subscription: int = 7) -> Event:
    return Event(
        source="test",
        subscriptionId=subscription,
        sequenceNumber=sequence,
        event="job-completed",
        printerUri="ipp://printer.example/ipp/print",
        jobId=42,
        jobState=9,
        jobStateReasons=("job-completed-successfully",),
        printerUpTime=1000 + sequence,
        text="Job completed.",
    )


def reportBody(count: int = 1) -> bytes:
    events = [makeEvent(sequence) for sequence in range(1, count + 1)]
    return encode(buildReport(events, RECIPIENT, requestId=5))


@implementer(INotificationSink)
class RecordingSink:
    """
    Records events; answers with the given statuses (default: consumed), or
    with Deferreds the test fires.
    """

    def __init__(self, statuses: Optional[List[object]] = None) -> None:
        self.events: List[Event] = []
        self.statuses = list(statuses or [])
        self.pending: List[Deferred[int]] = []

    def receive(self, event: Event) -> Deferred[int]:
        self.events.append(event)
        if self.statuses:
            status = self.statuses.pop(0)
            if status == "wait":
                d: Deferred[int] = Deferred()
                self.pending.append(d)
                return d
            if isinstance(status, Exception):
                return fail(status)
            return succeed(int(status))  # type: ignore[call-overload]
        return succeed(0)


def httpRequest(
    body: bytes,
    *,
    method: bytes = b"POST",
    path: bytes = b"/notify",
    contentType: bytes = b"application/ipp",
    extra: Tuple[bytes, ...] = (),
    chunked: bool = False,
) -> bytes:
    headers = [
        b"%s %s HTTP/1.1" % (method, path),
        b"Host: 127.0.0.1",
        b"Content-Type: " + contentType,
    ]
    headers.extend(extra)
    if chunked:
        headers.append(b"Transfer-Encoding: chunked")
        payload = b""
        for start in range(0, len(body), 100):
            piece = body[start : start + 100]
            payload += b"%x\r\n%s\r\n" % (len(piece), piece)
        payload += b"0\r\n\r\n"
    else:
        headers.append(b"Content-Length: %d" % (len(body),))
        payload = body
    return b"\r\n".join(headers) + b"\r\n\r\n" + payload


def parseResponses(data: bytes) -> List[Tuple[int, dict[bytes, bytes], bytes]]:
    """
    Split the octets a channel wrote into (status, headers, body) responses; every
    response must carry Content-Length (the listener never writes chunked ones).
    """
    responses = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        if status == 100:
            responses.append((status, headers, b""))
            data = rest
            continue
        length = int(headers[b"content-length"])
        responses.append((status, headers, rest[:length]))
        data = rest[length:]
    return responses


class ChannelTestsMixin:
    maxBodyBytes = 64 * 1024

    def setUpChannel(self, sink: RecordingSink) -> None:
        self.clock = MemoryReactorClock()
        self.sink = sink
        self.listener = NotificationListener(sink, clock=self.clock, source="test")
        self.site = NotificationSite(
            resourceAt("/notify", self.listener),
            maxBodyBytes=self.maxBodyBytes,
            requestTimeout=10.0,
            idleTimeout=60.0,
            reactor=self.clock,
        )
        self.channel = self.site.buildProtocol(None)
        self.transport = StringTransport()
        self.channel.makeConnection(self.transport)

    def responses(self) -> List[Tuple[int, dict[bytes, bytes], bytes]]:
        return parseResponses(self.transport.value())


class ListenerHTTPTests(ChannelTestsMixin, SynchronousTestCase):
    def setUp(self) -> None:
        self.setUpChannel(RecordingSink())

    def test_verifySink(self) -> None:
        self.assertTrue(verifyObject(INotificationSink, RecordingSink()))

    def test_oneEvent(self) -> None:
        """
        One report: the sink gets the event, the sender gets successful-ok with no
        per-report groups, as application/ipp with a Content-Length.
        """
        self.channel.dataReceived(httpRequest(reportBody()))
        [(status, headers, body)] = self.responses()
        self.assertEqual(status, 200)
        self.assertEqual(headers[b"content-type"], b"application/ipp")
        self.assertEqual(int(headers[b"content-length"]), len(body))
        answer = decode(body)
        self.assertEqual(answer.statusCode, 0x0000)
        self.assertEqual(answer.requestId, 5)
        self.assertEqual(answer.version, (1, 0))
        self.assertEqual(answer.groupsOf(GroupTag.EVENT_NOTIFICATION), [])
        [event] = self.sink.events
        self.assertEqual(event.key, ("test", 7, 1))
        self.assertEqual(event.event, "job-completed")
        self.assertEqual(event.jobId, 42)
        self.assertEqual(
            event.receivedAt,
            datetime.datetime.fromtimestamp(0, tz=datetime.timezone.utc),
        )
        self.assertFalse(self.transport.disconnecting)

    def test_keepAlive(self) -> None:
        """
        Several requests on one HTTP/1.1 connection, each answered in turn.
        """
        for _ in range(3):
            self.channel.dataReceived(httpRequest(reportBody()))
        self.assertEqual([r[0] for r in self.responses()], [200, 200, 200])
        self.assertEqual(len(self.sink.events), 3)
        self.assertFalse(self.transport.disconnecting)

    def test_pipelinedInOneWrite(self) -> None:
        self.channel.dataReceived(httpRequest(reportBody()) * 2)
        self.assertEqual([r[0] for r in self.responses()], [200, 200])

    def test_chunkedBody(self) -> None:
        self.channel.dataReceived(httpRequest(reportBody(3), chunked=True))
        [(status, _, body)] = self.responses()
        self.assertEqual(status, 200)
        self.assertEqual(decode(body).statusCode, 0)
        self.assertEqual([e.sequenceNumber for e in self.sink.events], [1, 2, 3])

    def test_expectContinue(self) -> None:
        """
        Expect: 100-continue gets 100 Continue after the headers, then the answer.
        """
        body = reportBody()
        request = httpRequest(body, extra=(b"Expect: 100-continue",))
        head = request[: -len(body)]
        self.channel.dataReceived(head)
        self.assertEqual(self.transport.value(), b"HTTP/1.1 100 Continue\r\n\r\n")
        self.channel.dataReceived(body)
        self.assertEqual([r[0] for r in self.responses()], [100, 200])

    def test_tooLargeRefusedBefore100Continue(self) -> None:
        """
        A Content-Length over the limit is refused with 413 at once, without
        100 Continue, and the connection is closed.
        """
        headers = (
            b"POST /notify HTTP/1.1\r\nHost: x\r\nContent-Type: application/ipp\r\n"
            b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n"
            % (self.maxBodyBytes + 1,)
        )
        self.channel.dataReceived(headers)
        value = self.transport.value()
        self.assertTrue(value.startswith(b"HTTP/1.1 413 "), value)
        self.assertNotIn(b"100 Continue", value)
        self.assertTrue(self.transport.disconnecting)
        self.assertEqual(self.sink.events, [])

    def test_chunkedTooLarge(self) -> None:
        """
        A chunked body is refused with 413 as soon as it passes the limit.
        """
        head = (
            b"POST /notify HTTP/1.1\r\nHost: x\r\nContent-Type: application/ipp\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        self.channel.dataReceived(head)
        chunk = b"x" * 8192
        for _ in range(self.maxBodyBytes // len(chunk) + 1):
            self.channel.dataReceived(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self.assertTrue(self.transport.value().startswith(b"HTTP/1.1 413 "))
        self.assertTrue(self.transport.disconnecting)

    def test_otherMethod(self) -> None:
        self.channel.dataReceived(httpRequest(b"", method=b"GET"))
        [(status, headers, _)] = self.responses()
        self.assertEqual(status, 405)
        self.assertIn(b"POST", headers[b"allow"])

    def test_otherContentType(self) -> None:
        self.channel.dataReceived(httpRequest(reportBody(), contentType=b"text/plain"))
        [(status, _, _)] = self.responses()
        self.assertEqual(status, 415)
        self.assertEqual(self.sink.events, [])

    def test_seedContentTypeAccepted(self) -> None:
        self.channel.dataReceived(
            httpRequest(reportBody(), contentType=b"application/ipp-ntfy")
        )
        self.assertEqual(self.responses()[0][0], 200)

    def test_malformedBody(self) -> None:
        """
        A malformed IPP body: HTTP 200, client-error-bad-request and a
        status-message naming the offset; the connection stays usable.
        """
        body = reportBody()[:40]
        self.channel.dataReceived(httpRequest(body))
        [(status, _, answerBody)] = self.responses()
        self.assertEqual(status, 200)
        answer = decode(answerBody)
        self.assertEqual(answer.statusCode, 0x0400)
        self.assertEqual(answer.requestId, 5)
        message = answer.operation.value("status-message")
        assert isinstance(message, str)
        self.assertTrue(message.startswith("bad IPP message at offset "), message)
        self.assertEqual(self.sink.events, [])
        self.channel.dataReceived(httpRequest(reportBody()))
        self.assertEqual(len(self.responses()), 2)

    def test_notAReport(self) -> None:
        """
        A valid IPP message that is not a report is a bad request naming why.
        """
        self.channel.dataReceived(
            httpRequest(vector("ipptool-2.4.2-get-notifications-request.ipp"))
        )
        [(status, _, body)] = self.responses()
        self.assertEqual(status, 200)
        answer = decode(body)
        self.assertNotEqual(answer.statusCode, 0)
        self.assertIsNotNone(answer.operation.get("status-message"))

    def test_unreadableHeader(self) -> None:
        self.channel.dataReceived(httpRequest(b"\x01\x00\x00"))
        [(status, _, _)] = self.responses()
        self.assertEqual(status, 400)

    def test_tricklingClientCutOff(self) -> None:
        """
        A client sending one byte a second is answered 408 and disconnected when
        the request deadline passes, although it was never idle.
        """
        request = httpRequest(reportBody())
        second = -1
        for second, byte in enumerate(request[:30]):  # noqa: B007
            self.channel.dataReceived(bytes([byte]))
            self.clock.advance(1)
            if self.transport.disconnecting:
                break
        self.assertEqual(second, 9)
        self.assertTrue(self.transport.value().startswith(b"HTTP/1.1 408 "))
        self.assertEqual(self.sink.events, [])

    def test_deadlineIsPerRequest(self) -> None:
        """
        A keep-alive connection whose requests each come quickly is not cut off,
        however long it lives.
        """
        for _ in range(5):
            self.channel.dataReceived(httpRequest(reportBody()))
            self.clock.advance(8)
        self.assertEqual(len(self.responses()), 5)
        self.assertFalse(self.transport.disconnecting)

    def test_idleTimeout(self) -> None:
        self.channel.dataReceived(httpRequest(reportBody()))
        self.clock.advance(59)
        self.assertFalse(self.transport.disconnecting)
        self.clock.advance(2)
        self.assertTrue(self.transport.disconnecting)

    def test_badHTTP(self) -> None:
        """
        Even a request that is not HTTP gets an answer (400) before the close.
        """
        self.channel.dataReceived(b"\x01\x02 nonsense\r\n\r\n")
        self.assertTrue(self.transport.value().startswith(b"HTTP/1.1 400 "))


class ListenerStatusTests(ChannelTestsMixin, SynchronousTestCase):
    def answerFor(self, statuses: List[object], count: int) -> Message:
        self.setUpChannel(RecordingSink(statuses))
        self.channel.dataReceived(httpRequest(reportBody(count)))
        [(status, _, body)] = self.responses()
        self.assertEqual(status, 200)
        return decode(body)

    def perReport(self, answer: Message) -> List[object]:
        # A consumed report's group is empty (an enum is never 0).
        return [
            g.value("notification-report-status-code", 0)
            for g in answer.groupsOf(GroupTag.EVENT_NOTIFICATION)
        ]

    def test_someNotConsumed(self) -> None:
        answer = self.answerFor([0, ReportStatus.NOT_FOUND, 0], 3)
        self.assertEqual(answer.statusCode, 0x0004)
        self.assertEqual(self.perReport(answer), [0, 0x0406, 0])

    def test_noneConsumed(self) -> None:
        answer = self.answerFor([0x0406, 0x0505], 2)
        self.assertEqual(answer.statusCode, 0x0416)
        self.assertEqual(self.perReport(answer), [0x0406, 0x0505])

    def test_cancelSubscriptionIsConsumed(self) -> None:
        answer = self.answerFor([ReportStatus.CANCEL_SUBSCRIPTION], 1)
        self.assertEqual(answer.statusCode, 0x0000)
        self.assertEqual(self.perReport(answer), [0x0006])

    def test_sinkFailureIsTemporary(self) -> None:
        answer = self.answerFor([0, RuntimeError("disk full")], 2)
        self.assertEqual(self.perReport(answer), [0, 0x0505])
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_nothingAcknowledgedBeforeTheSink(self) -> None:
        """
        No answer is written until the sink has taken every event; events go to
        the sink one at a time, in order.
        """
        self.setUpChannel(RecordingSink(["wait", "wait"]))
        self.channel.dataReceived(httpRequest(reportBody(2)))
        self.assertEqual(len(self.sink.events), 1)
        self.assertEqual(self.transport.value(), b"")
        self.sink.pending[0].callback(0)
        self.assertEqual(len(self.sink.events), 2)
        self.assertEqual(self.transport.value(), b"")
        self.sink.pending[1].callback(0)
        [(status, _, body)] = self.responses()
        self.assertEqual(decode(body).statusCode, 0)

    def test_clientGoneBeforeAnswer(self) -> None:
        """
        A client that leaves before the sink answers gets nothing written, and
        nothing breaks.
        """
        from twisted.internet.error import ConnectionDone
        from twisted.python.failure import Failure

        self.setUpChannel(RecordingSink(["wait"]))
        self.channel.dataReceived(httpRequest(reportBody(1)))
        self.channel.connectionLost(Failure(ConnectionDone()))
        self.sink.pending[0].callback(0)
        self.assertEqual(self.transport.value(), b"")


class JSONLinesSinkTests(SynchronousTestCase):
    def test_writesAndFlushes(self) -> None:
        path = self.mktemp()
        with open(path, "w", encoding="utf-8") as stream:
            sink = JSONLinesSink(stream)
            self.assertTrue(verifyObject(INotificationSink, sink))
            self.assertEqual(self.successResultOf(sink.receive(makeEvent(1))), 0)
            # Flushed (and synced) before the Deferred fired: readable now.
            with open(path, encoding="utf-8") as reader:
                line = json.loads(reader.readline())
        self.assertEqual(line["notify-subscribed-event"], "job-completed")
        self.assertEqual(line["notify-sequence-number"], 1)

    def test_writeFailureFailsTheEvent(self) -> None:
        class Broken:
            def write(self, text: str) -> int:
                raise OSError(28, "No space left on device")

            def flush(self) -> None:
                pass

        sink = JSONLinesSink(Broken(), sync=False)  # type: ignore[arg-type]
        self.failureResultOf(sink.receive(makeEvent()), OSError)
        self.flushLoggedErrors(OSError)


class LoopbackTests(TestCase):
    """
    The listener on real loopback sockets.
    """

    @inlineCallbacks
    def test_agentKeepAlive(self):
        """
        twisted.web's Agent delivers two reports over one persistent connection.
        """
        sink = RecordingSink()
        site = NotificationSite(resourceAt("/notify", NotificationListener(sink)))
        port = reactor.listenTCP(0, site, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        pool = HTTPConnectionPool(reactor, persistent=True)
        self.addCleanup(pool.closeCachedConnections)
        agent = Agent(reactor, pool=pool)
        url = b"http://127.0.0.1:%d/notify" % (port.getHost().port,)
        for _ in range(2):
            response = yield agent.request(
                b"POST",
                url,
                Headers({b"content-type": [b"application/ipp"]}),
                FileBodyProducer(io.BytesIO(reportBody(2))),
            )
            body = yield readBody(response)
            self.assertEqual(response.code, 200)
            self.assertEqual(decode(body).statusCode, 0)
        self.assertEqual(len(sink.events), 4)
        self.assertEqual(len(pooledConnections(pool)), 1)

    @inlineCallbacks
    def test_thousandIdleConnections(self):
        """
        1,000 idle connections cost a bounded amount of memory (well under 50 KB
        each), and the idle timeout closes every one of them.
        """
        site = NotificationSite(
            resourceAt("/notify", NotificationListener(RecordingSink())),
            idleTimeout=1.0,
        )
        port = reactor.listenTCP(0, site, interface="127.0.0.1", backlog=1024)
        self.addCleanup(port.stopListening)
        closed: List[object] = []

        class Idle(Protocol):
            def connectionLost(self, reason: Any = None) -> None:
                closed.append(reason)

        factory: Any = ClientFactory.forProtocol(Idle)
        before = residentBytes()
        connectors = [
            reactor.connectTCP("127.0.0.1", port.getHost().port, factory)
            for _ in range(1000)
        ]
        self.addCleanup(lambda: [c.disconnect() for c in connectors])
        yield deferLater(reactor, 0.5, lambda: None)
        grown = residentBytes() - before
        self.assertLess(grown, 50 * 1024 * 1000, f"grew {grown} bytes")
        for _ in range(40):
            if len(closed) == 1000:
                break
            yield deferLater(reactor, 0.25, lambda: None)
        self.assertEqual(len(closed), 1000)


def pooledConnections(pool: HTTPConnectionPool) -> List[object]:
    return [c for conns in pool._connections.values() for c in conns]


def residentBytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
