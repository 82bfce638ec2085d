"""
The notification listener: HTTP behaviour and per-report answers.

The behaviour tests are mixins run against both front ends, the C{twisted.web}
L{NotificationSite} and the standalone L{NotificationFactory}: each drives one
connection over a L{StringTransport} with a L{MemoryReactorClock}, so time and
bytes are exact.  The last ones use real loopback sockets.
"""

from __future__ import annotations

import datetime
import io
import json
import os
from typing import TYPE_CHECKING, Any, List, Optional, Sequence, Tuple, cast

from twisted.internet import reactor as _reactor
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred, fail, inlineCallbacks, succeed
from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.internet.protocol import ClientFactory, Protocol
from twisted.internet.task import deferLater
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.client import Agent, FileBodyProducer, HTTPConnectionPool, readBody
from twisted.web.http_headers import Headers
from twisted.web.iweb import UNKNOWN_LENGTH
from zope.interface import implementer
from zope.interface.verify import verifyObject

from ipp_ntfy.interfaces import IBatchNotificationSink, INotificationSink
from ipp_ntfy.ipp import GroupTag, Message, decode, encode
from ipp_ntfy.listener import (
    NotificationFactory,
    NotificationListener,
    NotificationProtocol,
    NotificationSite,
)
from ipp_ntfy.notification import (
    Event,
    ReportStatus,
    buildReport,
    buildResponse,
    parseReport,
)
from ipp_ntfy.output import JSONLinesSink
from ipp_ntfy.service import ListenerService, resourceAt

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


@implementer(IBatchNotificationSink)
class BatchSink:
    """
    Takes the events of a report in one call to C{receiveMany}, which answers
    with C{answer}: a list, a Deferred, an exception to raise, or C{"wait"} for
    a Deferred the test fires (L{pending}).  C{receive} is not to be used.
    """

    def __init__(self, answer: object = None) -> None:
        self.answer = answer
        self.calls: List[List[Event]] = []
        self.pending: List[Deferred[List[int]]] = []

    @property
    def events(self) -> List[Event]:
        return [event for call in self.calls for event in call]

    def receive(self, event: Event) -> Deferred[int]:
        raise AssertionError("receive called on a batch sink")

    def receiveMany(self, events: Sequence[Event]) -> Any:
        self.calls.append(list(events))
        answer = self.answer
        if answer is None:
            return [0] * len(events)
        if answer == "wait":
            d: Deferred[List[int]] = Deferred()
            self.pending.append(d)
            return d
        if isinstance(answer, Exception):
            raise answer
        return answer


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


if TYPE_CHECKING:
    _TestCase = SynchronousTestCase
    _AsyncTestCase = TestCase
else:
    _TestCase = _AsyncTestCase = object


class ChannelTestsMixin(_TestCase):
    """
    One connection to a front end, over a L{StringTransport}, with a
    L{MemoryReactorClock}; subclasses say which front end with
    L{buildFrontEnd}.
    """

    maxBodyBytes = 64 * 1024
    requestTimeout = 10.0
    idleTimeout = 60.0

    def buildFrontEnd(self, listener: NotificationListener) -> Protocol:
        raise NotImplementedError()

    def setUpChannel(self, sink: Any) -> None:
        self.clock = MemoryReactorClock()
        self.sink = sink
        self.listener = NotificationListener(sink, clock=self.clock, source="test")
        self.channel = self.buildFrontEnd(self.listener)
        self.transport = StringTransport(
            peerAddress=IPv4Address("TCP", "192.0.2.7", 40000)
        )
        self.channel.makeConnection(self.transport)

    def responses(self) -> List[Tuple[int, dict[bytes, bytes], bytes]]:
        return parseResponses(self.transport.value())

    def answerWith(self, sink: Any, count: int) -> Message:
        """
        @return: the IPP answer to a report of C{count} events given to C{sink}.
        """
        self.setUpChannel(sink)
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


class SiteFrontEnd(ChannelTestsMixin):
    """
    The C{twisted.web} front end: L{NotificationSite}.
    """

    def buildFrontEnd(self, listener: NotificationListener) -> Protocol:
        self.site = NotificationSite(
            resourceAt("/notify", listener),
            maxBodyBytes=self.maxBodyBytes,
            requestTimeout=self.requestTimeout,
            idleTimeout=self.idleTimeout,
            reactor=self.clock,
        )
        return self.site.buildProtocol(None)


class FactoryFrontEnd(ChannelTestsMixin):
    """
    The standalone front end: L{NotificationFactory}.
    """

    def buildFrontEnd(self, listener: NotificationListener) -> Protocol:
        self.factory = NotificationFactory(
            listener,
            b"/notify",
            maxBodyBytes=self.maxBodyBytes,
            requestTimeout=self.requestTimeout,
            idleTimeout=self.idleTimeout,
            reactor=self.clock,
        )
        protocol = self.factory.buildProtocol(IPv4Address("TCP", "192.0.2.7", 40000))
        assert protocol is not None
        return protocol


class ListenerHTTPTestsMixin(ChannelTestsMixin):
    """
    HTTP behaviour both front ends share.
    """

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

    def test_otherPath(self) -> None:
        """
        Nothing but the listener's path is served.
        """
        self.channel.dataReceived(httpRequest(reportBody(), path=b"/elsewhere"))
        [(status, _, _)] = self.responses()
        self.assertEqual(status, 404)
        self.assertEqual(self.sink.events, [])
        self.assertFalse(self.transport.disconnecting)

    def test_queryStringIgnored(self) -> None:
        self.channel.dataReceived(httpRequest(reportBody(), path=b"/notify?from=x"))
        self.assertEqual(self.responses()[0][0], 200)
        self.assertEqual(len(self.sink.events), 1)

    def test_connectionClose(self) -> None:
        """
        A request with Connection: close is answered, then the connection
        closed.
        """
        self.channel.dataReceived(
            httpRequest(reportBody(), extra=(b"Connection: close",))
        )
        [(status, _, _)] = self.responses()
        self.assertEqual(status, 200)
        self.assertTrue(self.transport.disconnecting)

    def test_http10ClosesByDefault(self) -> None:
        request = httpRequest(reportBody()).replace(b"HTTP/1.1", b"HTTP/1.0", 1)
        self.channel.dataReceived(request)
        self.assertEqual(self.responses()[0][0], 200)
        self.assertTrue(self.transport.disconnecting)

    def test_pipelinedWhileTheSinkWaits(self) -> None:
        """
        Requests pipelined behind one the sink has not answered are answered
        after it, in order.
        """
        self.setUpChannel(RecordingSink(["wait", 0]))
        self.channel.dataReceived(
            httpRequest(reportBody()) + httpRequest(reportBody(), path=b"/other")
        )
        self.assertEqual(self.transport.value(), b"")
        self.sink.pending[0].callback(ReportStatus.NOT_FOUND)
        [first, second] = self.responses()
        self.assertEqual(first[0], 200)
        self.assertEqual(decode(first[2]).statusCode, 0x0416)
        self.assertEqual(second[0], 404)

    def test_slowBodyCutOff(self) -> None:
        """
        A client that sends its head at once but its body slowly is cut off at
        the request's deadline too.
        """
        body = reportBody()
        request = httpRequest(body)
        self.channel.dataReceived(request[: -len(body)])
        for index in range(20):
            self.channel.dataReceived(body[index : index + 1])
            self.clock.advance(1)
        self.assertTrue(self.transport.value().startswith(b"HTTP/1.1 408 "))
        self.assertTrue(self.transport.disconnecting)
        self.assertEqual(self.sink.events, [])

    def test_deadlineStartsWithEachRequest(self) -> None:
        """
        After an answer, the next request has a full deadline of its own.
        """
        self.channel.dataReceived(httpRequest(reportBody()))
        self.clock.advance(9)
        request = httpRequest(reportBody())
        self.channel.dataReceived(request[:10])
        self.clock.advance(9)
        self.channel.dataReceived(request[10:])
        self.assertEqual([r[0] for r in self.responses()], [200, 200])
        self.assertFalse(self.transport.disconnecting)

    def test_idleTimeoutRestartsAfterEachAnswer(self) -> None:
        for _ in range(3):
            self.clock.advance(50)
            self.channel.dataReceived(httpRequest(reportBody()))
        self.clock.advance(59)
        self.assertFalse(self.transport.disconnecting)
        self.clock.advance(2)
        self.assertTrue(self.transport.disconnecting)
        self.assertEqual(len(self.responses()), 3)

    def test_idleBeforeAnyRequest(self) -> None:
        """
        A client that connects and sends nothing is closed at the idle timeout.
        """
        self.clock.advance(61)
        self.assertTrue(self.transport.disconnecting)
        self.assertEqual(self.transport.value(), b"")

    def test_chunkedBodyInPieces(self) -> None:
        request = httpRequest(reportBody(2), chunked=True)
        for start in range(0, len(request), 7):
            self.channel.dataReceived(request[start : start + 7])
        [(status, _, body)] = self.responses()
        self.assertEqual(status, 200)
        self.assertEqual(decode(body).statusCode, 0)
        self.assertEqual(len(self.sink.events), 2)

    def test_conflictingLengthsRefused(self) -> None:
        """
        A request whose framing is ambiguous (the root of request smuggling) is
        refused and the connection closed.
        """
        self.channel.dataReceived(
            httpRequest(reportBody(), extra=(b"Content-Length: 3",))
        )
        self.assertTrue(self.transport.value().startswith(b"HTTP/1.1 400 "))
        self.assertTrue(self.transport.disconnecting)
        self.assertEqual(self.sink.events, [])


class ListenerStatusTestsMixin(ChannelTestsMixin):
    """
    Per-report answers, through either front end.
    """

    def answerFor(self, statuses: List[object], count: int) -> Message:
        return self.answerWith(RecordingSink(statuses), count)

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


class ListenerBatchTestsMixin(ChannelTestsMixin):
    """
    A sink that takes a report's events in one call
    (L{IBatchNotificationSink}), through either front end.
    """

    def test_oneCall(self) -> None:
        """
        All the events of a report go to C{receiveMany} in one call, in order,
        read as they are for C{receive}.
        """
        sink = BatchSink()
        answer = self.answerWith(sink, 3)
        self.assertEqual(answer.statusCode, 0)
        [events] = sink.calls
        self.assertEqual([e.sequenceNumber for e in events], [1, 2, 3])
        self.setUpChannel(RecordingSink())
        self.channel.dataReceived(httpRequest(reportBody(3)))
        self.assertEqual(events, self.sink.events)

    def test_sameBytesAsOneByOne(self) -> None:
        """
        The answer is byte for byte the one a sink taking the events one by
        one, with the same statuses, gets.
        """
        for statuses in ([0, 0, 0], [0, 0x0406, 0], [0x0406, 0x0505, 0x0006]):
            self.setUpChannel(BatchSink(list(statuses)))
            self.channel.dataReceived(httpRequest(reportBody(3)))
            batch = self.responses()[0][2]
            self.setUpChannel(RecordingSink(list(statuses)))
            self.channel.dataReceived(httpRequest(reportBody(3)))
            self.assertEqual(self.responses()[0][2], batch)

    def test_statuses(self) -> None:
        answer = self.answerWith(BatchSink([0, ReportStatus.NOT_FOUND, 0]), 3)
        self.assertEqual(answer.statusCode, 0x0004)
        self.assertEqual(self.perReport(answer), [0, 0x0406, 0])

    def test_firedDeferred(self) -> None:
        answer = self.answerWith(BatchSink(succeed([0x0406, 0])), 2)
        self.assertEqual(self.perReport(answer), [0x0406, 0])

    def test_nothingAcknowledgedBeforeTheSink(self) -> None:
        """
        No answer is written until the Deferred of C{receiveMany} fires.
        """
        self.setUpChannel(BatchSink("wait"))
        self.channel.dataReceived(httpRequest(reportBody(2)))
        self.assertEqual(len(self.sink.events), 2)
        self.assertEqual(self.transport.value(), b"")
        self.sink.pending[0].callback([0, ReportStatus.CANCEL_SUBSCRIPTION])
        [(status, _, body)] = self.responses()
        self.assertEqual(self.perReport(decode(body)), [0, 0x0006])

    def test_raisingIsTemporary(self) -> None:
        answer = self.answerWith(BatchSink(RuntimeError("disk full")), 2)
        self.assertEqual(answer.statusCode, 0x0416)
        self.assertEqual(self.perReport(answer), [0x0505, 0x0505])
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_failedDeferredIsTemporary(self) -> None:
        answer = self.answerWith(BatchSink(fail(RuntimeError("disk full"))), 2)
        self.assertEqual(self.perReport(answer), [0x0505, 0x0505])
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_laterFailureIsTemporary(self) -> None:
        self.setUpChannel(BatchSink("wait"))
        self.channel.dataReceived(httpRequest(reportBody(2)))
        self.assertEqual(self.transport.value(), b"")
        self.sink.pending[0].errback(RuntimeError("disk full"))
        [(status, _, body)] = self.responses()
        self.assertEqual(self.perReport(decode(body)), [0x0505, 0x0505])
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_wrongAnswerIsTemporary(self) -> None:
        """
        A list of the wrong length, or something else than a list, is a bug
        of the sink: nothing is acknowledged, and it is logged.
        """
        for wrong in ([0], [0, 0, 0], (0, 0), succeed([0])):
            messages: List[dict[str, Any]] = []
            globalLogPublisher.addObserver(cast(Any, messages.append))
            try:
                answer = self.answerWith(BatchSink(wrong), 2)
            finally:
                globalLogPublisher.removeObserver(cast(Any, messages.append))
            self.assertEqual(self.perReport(answer), [0x0505, 0x0505])
            self.assertTrue(
                [m for m in messages if "the sink answered" in m["log_format"]]
            )


class SiteBatchTests(ListenerBatchTestsMixin, SiteFrontEnd, SynchronousTestCase):
    """
    A batch sink through L{NotificationSite}.
    """


class FactoryBatchTests(ListenerBatchTestsMixin, FactoryFrontEnd, SynchronousTestCase):
    """
    A batch sink through L{NotificationFactory}.
    """


class SiteHTTPTests(ListenerHTTPTestsMixin, SiteFrontEnd, SynchronousTestCase):
    """
    The shared HTTP behaviour, through L{NotificationSite}.
    """


class FactoryHTTPTests(ListenerHTTPTestsMixin, FactoryFrontEnd, SynchronousTestCase):
    """
    The shared HTTP behaviour, through L{NotificationFactory}; and what only it
    does.
    """

    def test_protocolInterfaces(self) -> None:
        self.assertTrue(verifyObject(IHalfCloseableProtocol, self.channel))

    def test_exactPath(self) -> None:
        """
        Unlike a leaf resource under C{twisted.web}, the factory serves its path
        and nothing under it.
        """
        for path in [b"/notify/", b"/notify/x", b"/notif", b"/"]:
            self.channel.dataReceived(httpRequest(reportBody(), path=path))
        self.assertEqual([r[0] for r in self.responses()], [404] * 4)
        self.assertEqual(self.responses()[0][2], b"no notification listener here\n")

    def test_absoluteFormTarget(self) -> None:
        self.channel.dataReceived(
            httpRequest(reportBody(), path=b"http://127.0.0.1:8632/notify?x")
        )
        self.assertEqual(self.responses()[0][0], 200)

    def test_otherPathAfterContinue(self) -> None:
        """
        A client waiting for 100 Continue with a request that will be refused
        gets the refusal instead, and the connection is closed rather than
        its body read.
        """
        request = httpRequest(
            reportBody(), contentType=b"text/plain", extra=(b"Expect: 100-continue",)
        )
        self.channel.dataReceived(request[: request.index(b"\r\n\r\n") + 4])
        [(status, headers, _)] = self.responses()
        self.assertEqual(status, 415)
        self.assertEqual(headers[b"connection"], b"close")
        self.assertTrue(self.transport.disconnecting)

    def test_refusedWithoutContinueReadsTheBody(self) -> None:
        """
        A refused request whose client does not wait for 100 Continue is
        answered once its (bounded) body is in, and the connection lives on.
        """
        request = httpRequest(reportBody(), method=b"PUT")
        cut = request.index(b"\r\n\r\n") + 10
        self.channel.dataReceived(request[:cut])
        self.assertEqual(self.transport.value(), b"")
        self.channel.dataReceived(request[cut:])
        [(status, headers, _)] = self.responses()
        self.assertEqual(status, 405)
        self.assertEqual(headers[b"allow"], b"POST")
        self.assertFalse(self.transport.disconnecting)

    def test_parseErrorAnsweredInOrder(self) -> None:
        """
        A malformed request pipelined behind a pending one is refused only after
        the pending one is answered.
        """
        self.setUpChannel(RecordingSink(["wait"]))
        self.channel.dataReceived(httpRequest(reportBody()) + b"BAD\r\n\r\n")
        self.assertEqual(self.transport.value(), b"")
        self.sink.pending[0].callback(0)
        self.assertEqual([r[0] for r in self.responses()], [200, 400])
        self.assertTrue(self.transport.disconnecting)

    def test_pausedWhileAnswering(self) -> None:
        """
        The transport is paused while the sink has a request, and resumed once
        it is answered.
        """
        self.setUpChannel(RecordingSink(["wait"]))
        self.channel.dataReceived(httpRequest(reportBody()))
        self.assertEqual(self.transport.producerState, "paused")
        self.sink.pending[0].callback(0)
        self.assertEqual(self.transport.producerState, "producing")
        self.assertEqual(len(self.responses()), 1)

    def test_synchronousSinkNeverPauses(self) -> None:
        self.channel.dataReceived(httpRequest(reportBody()) * 3)
        self.assertEqual(self.transport.producerState, "producing")
        self.assertEqual(len(self.responses()), 3)

    def test_noTimeoutWhileAnswering(self) -> None:
        """
        Neither deadline runs while the sink takes its time; the idle time
        starts again with the answer.
        """
        self.setUpChannel(RecordingSink(["wait"]))
        self.channel.dataReceived(httpRequest(reportBody()))
        self.clock.advance(300)
        self.assertFalse(self.transport.disconnecting)
        self.sink.pending[0].callback(0)
        self.clock.advance(59)
        self.assertFalse(self.transport.disconnecting)
        self.clock.advance(2)
        self.assertTrue(self.transport.disconnecting)

    def test_timersCancelledOnConnectionLost(self) -> None:
        from twisted.internet.error import ConnectionDone
        from twisted.python.failure import Failure

        self.channel.dataReceived(b"POST /notify HTTP/1.1\r\n")
        self.assertTrue(self.clock.getDelayedCalls())
        self.channel.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_halfCloseAnswersThenCloses(self) -> None:
        """
        A client that shuts down its sending side after its request still gets
        the answer; then the connection is closed.
        """
        self.setUpChannel(RecordingSink(["wait"]))
        assert isinstance(self.channel, NotificationProtocol)
        self.channel.dataReceived(httpRequest(reportBody()))
        self.channel.readConnectionLost()
        self.assertFalse(self.transport.disconnecting)
        self.sink.pending[0].callback(0)
        self.assertEqual(self.responses()[0][0], 200)
        self.assertTrue(self.transport.disconnecting)

    def test_halfCloseWhenIdle(self) -> None:
        assert isinstance(self.channel, NotificationProtocol)
        self.channel.readConnectionLost()
        self.assertTrue(self.transport.disconnecting)

    def test_dateHeader(self) -> None:
        self.clock.rightNow = 86400 * 365
        self.channel.dataReceived(httpRequest(reportBody()))
        [(_, headers, _)] = self.responses()
        self.assertEqual(headers[b"date"], b"Fri, 01 Jan 1971 00:00:00 GMT")

    def test_accessLog(self) -> None:
        from twisted.internet.testing import EventLoggingObserver
        from twisted.logger import globalLogPublisher

        logged = EventLoggingObserver.createWithCleanup(
            cast(Any, self), globalLogPublisher
        )
        self.channel.dataReceived(httpRequest(reportBody()))
        self.assertEqual([e for e in logged if "status" in e], [])
        self.factory.accessLog = True
        self.channel.dataReceived(httpRequest(reportBody()))
        [entry] = [e for e in logged if e.get("status") == 200]
        self.assertEqual(entry["peer"], "192.0.2.7:40000")
        self.assertEqual(entry["target"], "/notify")

    def test_http10KeepAlive(self) -> None:
        """
        An HTTP/1.0 client asking for keep-alive gets it, and is told so
        (C{twisted.web} closes such connections).
        """
        request = httpRequest(reportBody(), extra=(b"Connection: keep-alive",))
        self.channel.dataReceived(request.replace(b"HTTP/1.1", b"HTTP/1.0", 1))
        [(status, headers, _)] = self.responses()
        self.assertEqual(status, 200)
        self.assertEqual(headers[b"connection"].lower(), b"keep-alive")
        self.assertFalse(self.transport.disconnecting)

    def test_answerRaising(self) -> None:
        """
        Should answering itself raise, the client gets a 500 and the
        connection lives on.
        """

        def broken(body: bytes, peer: str = "?") -> Any:
            raise RuntimeError("bug")

        self.listener.answer = broken  # type: ignore[method-assign]
        self.channel.dataReceived(httpRequest(reportBody()))
        self.assertEqual(self.responses()[0][0], 500)
        self.assertFalse(self.transport.disconnecting)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_stringPath(self) -> None:
        factory = NotificationFactory(self.listener, "/ipp-events", reactor=self.clock)
        self.assertEqual(factory.path, b"/ipp-events")


class SiteStatusTests(ListenerStatusTestsMixin, SiteFrontEnd, SynchronousTestCase):
    """
    Per-report answers through L{NotificationSite}.
    """


class FactoryStatusTests(
    ListenerStatusTestsMixin, FactoryFrontEnd, SynchronousTestCase
):
    """
    Per-report answers through L{NotificationFactory}.
    """


class AnswerTests(SynchronousTestCase):
    """
    L{NotificationListener.answer}, the IPP work both front ends share.
    """

    def answer(self, sink: Any, body: bytes) -> Tuple[int, bytes, bytes]:
        listener = NotificationListener(sink, clock=MemoryReactorClock())
        return self.successResultOf(listener.answer(body, "peer"))

    def test_consumedAnswerIsBuildResponse(self) -> None:
        """
        The answer to a fully consumed report, encoded once and reused, is
        exactly what L{buildResponse} builds, whatever the request-id, version
        and dialect.
        """
        listener = NotificationListener(RecordingSink(), clock=MemoryReactorClock())
        for dialect, version in [
            ("report", None),
            ("indp", (1, 1)),
            ("indp", (2, 0)),
        ]:
            for requestId in [1, 5, 0x01020304, 2**31 - 1, -1, -(2**31)]:
                events = [makeEvent(sequence) for sequence in (1, 2)]
                request = buildReport(
                    events, RECIPIENT, requestId, dialect=dialect, version=version
                )
                body = encode(request)
                expected = buildResponse(
                    parseReport(decode(body), source="listener", receivedAt=WHEN),
                    [0, 0],
                )
                status, contentType, answer = self.successResultOf(
                    listener.answer(body)
                )
                self.assertEqual((status, contentType), (200, b"application/ipp"))
                self.assertEqual(answer, encode(expected))

    def test_sinkMayReturnAPlainStatus(self) -> None:
        class Plain:
            def receive(self, event: Event) -> int:
                return ReportStatus.NOT_FOUND

        _, _, body = self.answer(Plain(), reportBody(2))
        self.assertEqual(decode(body).statusCode, 0x0416)

    def test_sinkRaisingIsTemporary(self) -> None:
        class Raising:
            def receive(self, event: Event) -> int:
                raise RuntimeError("boom")

        _, _, body = self.answer(Raising(), reportBody(1))
        answer = decode(body)
        [group] = answer.groupsOf(GroupTag.EVENT_NOTIFICATION)
        self.assertEqual(group.value("notification-report-status-code"), 0x0505)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_manyFailuresWithoutRecursion(self) -> None:
        """
        Events that all fail at once are handled in a loop, not by recursion
        through callbacks.
        """
        sink = RecordingSink([RuntimeError("full")] * 400)
        _, _, body = self.answer(sink, reportBody(400))
        answer = decode(body)
        self.assertEqual(answer.statusCode, 0x0416)
        self.assertEqual(len(answer.groupsOf(GroupTag.EVENT_NOTIFICATION)), 400)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 400)

    def test_waitingAndImmediateStatusesInOrder(self) -> None:
        sink = RecordingSink([0, "wait", ReportStatus.NOT_FOUND, "wait", 0])
        listener = NotificationListener(sink, clock=MemoryReactorClock())
        d = listener.answer(reportBody(5))
        self.assertNoResult(d)
        sink.pending[0].callback(0)
        self.assertNoResult(d)
        sink.pending[1].callback(ReportStatus.TEMPORARY_FAILURE)
        _, _, body = self.successResultOf(d)
        answer = decode(body)
        self.assertEqual(
            [
                g.value("notification-report-status-code", 0)
                for g in answer.groupsOf(GroupTag.EVENT_NOTIFICATION)
            ],
            [0, 0, 0x0406, 0x0505, 0],
        )

    def test_badStatusIsAnInternalError(self) -> None:
        """
        A sink that answers with something that is not a status code gets the
        sender a server error (which it retries), not a broken answer.
        """
        sink = RecordingSink([0x12345])
        _, _, body = self.answer(sink, reportBody(1))
        self.assertEqual(decode(body).statusCode, 0x0500)
        self.assertEqual(len(self.flushLoggedErrors()), 1)


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

    def test_receiveMany(self) -> None:
        """
        The events of a report are written in order, flushed and synced once,
        before the statuses are given.
        """
        path = self.mktemp()
        with open(path, "w", encoding="utf-8") as raw:
            flushes: List[int] = []
            stream = cast(Any, raw)
            sink = JSONLinesSink(stream)
            self.assertTrue(verifyObject(IBatchNotificationSink, sink))
            original = raw.flush

            def flush() -> None:
                flushes.append(1)
                original()

            stream.flush = flush
            statuses = sink.receiveMany([makeEvent(n) for n in (1, 2, 3)])
            self.assertEqual(statuses, [0, 0, 0])
            self.assertEqual(len(flushes), 1)
            with open(path, encoding="utf-8") as reader:
                lines = [json.loads(line) for line in reader]
        self.assertEqual([line["notify-sequence-number"] for line in lines], [1, 2, 3])
        self.assertEqual(lines[0], makeEvent(1).toJSON())
        self.assertEqual(sink.count, 3)

    def test_receiveManyFailureRaises(self) -> None:
        class Broken:
            def write(self, text: str) -> int:
                raise OSError(28, "No space left on device")

            def flush(self) -> None:
                pass

        sink = JSONLinesSink(Broken(), sync=False)  # type: ignore[arg-type]
        self.assertRaises(OSError, sink.receiveMany, [makeEvent(1), makeEvent(2)])
        self.assertEqual(sink.count, 0)
        self.flushLoggedErrors(OSError)

    def test_writeFailureFailsTheEvent(self) -> None:
        class Broken:
            def write(self, text: str) -> int:
                raise OSError(28, "No space left on device")

            def flush(self) -> None:
                pass

        sink = JSONLinesSink(Broken(), sync=False)  # type: ignore[arg-type]
        self.failureResultOf(sink.receive(makeEvent()), OSError)
        self.flushLoggedErrors(OSError)


class LoopbackTestsMixin(_AsyncTestCase):
    """
    A front end on real loopback sockets; subclasses say which with
    L{serve}.
    """

    def serve(self, listener: NotificationListener, idleTimeout: float = 60.0) -> Any:
        raise NotImplementedError()

    def listen(self, listener: NotificationListener, **kwargs: Any) -> Any:
        port = reactor.listenTCP(
            0, self.serve(listener, **kwargs), interface="127.0.0.1", backlog=1024
        )
        self.addCleanup(port.stopListening)
        return port

    @inlineCallbacks
    def test_agentKeepAlive(self):
        """
        twisted.web's Agent delivers two reports over one persistent connection.
        """
        sink = RecordingSink()
        port = self.listen(NotificationListener(sink))
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
    def test_agentChunked(self):
        """
        A body of unknown length, which Agent sends chunked, is read whole.
        """
        sink = RecordingSink()
        port = self.listen(NotificationListener(sink))
        agent = Agent(reactor, pool=HTTPConnectionPool(reactor, persistent=False))
        url = b"http://127.0.0.1:%d/notify" % (port.getHost().port,)
        producer = FileBodyProducer(io.BytesIO(reportBody(3)))
        producer.length = UNKNOWN_LENGTH
        response = yield agent.request(
            b"POST", url, Headers({b"content-type": [b"application/ipp"]}), producer
        )
        body = yield readBody(response)
        self.assertEqual(response.code, 200)
        self.assertEqual(decode(body).statusCode, 0)
        self.assertEqual([e.sequenceNumber for e in sink.events], [1, 2, 3])

    @inlineCallbacks
    def test_thousandIdleConnections(self):
        """
        1,000 idle connections cost a bounded amount of memory (well under 50 KB
        each), and the idle timeout closes every one of them.
        """
        port = self.listen(NotificationListener(RecordingSink()), idleTimeout=1.0)
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


class SiteLoopbackTests(LoopbackTestsMixin, TestCase):
    """
    L{NotificationSite} on loopback.
    """

    def serve(self, listener: NotificationListener, idleTimeout: float = 60.0) -> Any:
        return NotificationSite(
            resourceAt("/notify", listener), idleTimeout=idleTimeout
        )


class FactoryLoopbackTests(LoopbackTestsMixin, TestCase):
    """
    L{NotificationFactory} on loopback.
    """

    def serve(self, listener: NotificationListener, idleTimeout: float = 60.0) -> Any:
        return NotificationFactory(listener, idleTimeout=idleTimeout)

    @inlineCallbacks
    def test_pipelinedOverTCP(self):
        """
        Requests a client writes back to back, before any answer, are all
        answered, in order, on the one connection.
        """
        sink = RecordingSink()
        port = self.listen(NotificationListener(sink))
        received: List[bytes] = []
        done: Deferred[None] = Deferred()

        class Client(Protocol):
            def connectionMade(self) -> None:
                assert self.transport is not None
                self.transport.write(
                    httpRequest(reportBody(1))
                    + httpRequest(reportBody(2), chunked=True)
                    + httpRequest(reportBody(1), extra=(b"Connection: close",))
                )

            def dataReceived(self, data: bytes) -> None:
                received.append(data)

            def connectionLost(self, reason: Any = None) -> None:
                done.callback(None)

        factory: Any = ClientFactory.forProtocol(Client)
        reactor.connectTCP("127.0.0.1", port.getHost().port, factory)
        yield done
        answers = parseResponses(b"".join(received))
        self.assertEqual([a[0] for a in answers], [200, 200, 200])
        self.assertEqual(len(sink.events), 4)


class ListenerServiceTests(TestCase):
    """
    L{ListenerService}, what C{twistd ipp-ntfy listen} runs, serves with
    L{NotificationFactory}.
    """

    @inlineCallbacks
    def test_servesWithTheFactory(self):
        output = io.StringIO()
        service = ListenerService(
            ["tcp:0:interface=127.0.0.1"],
            output,
            path="/ipp-events",
            maxBodyBytes=2048,
            requestTimeout=5.0,
            idleTimeout=7.0,
        )
        self.assertIsInstance(service.factory, NotificationFactory)
        self.assertEqual(
            (
                service.factory.path,
                service.factory.maxBodyBytes,
                service.factory.requestTimeout,
                service.factory.idleTimeout,
            ),
            (b"/ipp-events", 2048, 5.0, 7.0),
        )
        service.startService()
        self.addCleanup(service.stopService)
        [port] = yield service.endpoints.listening
        agent = Agent(reactor, pool=HTTPConnectionPool(reactor, persistent=False))
        response = yield agent.request(
            b"POST",
            b"http://127.0.0.1:%d/ipp-events" % (port.getHost().port,),
            Headers({b"content-type": [b"application/ipp"]}),
            FileBodyProducer(io.BytesIO(reportBody(1))),
        )
        body = yield readBody(response)
        self.assertEqual(response.code, 200)
        self.assertEqual(decode(body).statusCode, 0)
        [line] = output.getvalue().splitlines()
        self.assertEqual(json.loads(line)["notify-sequence-number"], 1)


def pooledConnections(pool: HTTPConnectionPool) -> List[object]:
    return [c for conns in pool._connections.values() for c in conns]


def residentBytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
