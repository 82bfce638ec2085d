"""
The listener end of HTTP-based IPP notifications: a C{twisted.web} resource that
takes Report-Ipp-Notifications (and indp Send-Notifications) requests, hands each
event to an L{INotificationSink}, and answers with the per-report status::

    root.putChild(b"ipp-events", NotificationListener(sink))

L{NotificationSite} is a C{Site} with the HTTP limits a listener open to printers
needs: a body limit enforced before C{100 Continue}, a deadline on each request so
that a client trickling bytes is cut off, and an idle keep-alive timeout.

L{NotificationFactory} is the standalone listener's front end, with the same
limits and answers but no C{twisted.web}: HTTP/1.1 parsed by L{ipp_ntfy.http11},
one path, a few times less work per request.  Both hand each request body to
L{NotificationListener.answer}, which does all the IPP work::

    reactor.listenTCP(8632, NotificationFactory(NotificationListener(sink)))
"""

from __future__ import annotations

import datetime
from collections import deque
from typing import (
    Any,
    Deque,
    Dict,
    List,
    Optional,
    Sequence,
    Tuple,
    Type,
    TypeVar,
    Union,
    cast,
)

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import (
    IAddress,
    IDelayedCall,
    IHalfCloseableProtocol,
    IPushProducer,
    IReactorTime,
)
from twisted.internet.protocol import Factory, Protocol, connectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.http import HTTPChannel, datetimeToString
from twisted.web.resource import IResource, Resource
from twisted.web.server import NOT_DONE_YET, Request, Site
from zope.interface import implementer

from . import http11
from .http11 import CONTINUE, ParseError, RequestHead, RequestParser, response
from .interfaces import IBatchNotificationSink, INotificationSink
from .ipp import IppDecodeError, Limits, Message, decode, encode
from .notification import (
    Event,
    NotificationError,
    ReportRequest,
    ReportStatus,
    buildDecodeErrorResponse,
    buildErrorResponse,
    buildResponse,
    parseReport,
)

#: Content types a listener accepts (the seed draft named application/ipp-ntfy).
CONTENT_TYPES = (b"application/ipp", b"application/ipp-ntfy")

#: Largest request body accepted by default.
DEFAULT_MAX_BODY = 4 * 1024 * 1024

_INTERNAL_ERROR = 0x0500


#: An HTTP answer: status code, content type, body.
Answer = Tuple[int, bytes, bytes]

UNSUPPORTED_TYPE = b"a notification report is sent as application/ipp"
SHORT_BODY = b"the body is not an IPP message: shorter than its header"


def isReportContentType(value: bytes) -> bool:
    """
    @return: whether a Content-Type header value is one a listener accepts.
    """
    return value.split(b";")[0].strip().lower() in CONTENT_TYPES


def _ippAnswer(message: Message) -> Answer:
    return (200, b"application/ipp", encode(message))


_T = TypeVar("_T")


def _firedWith(d: Deferred[Any], kind: Type[_T]) -> Optional[_T]:
    """
    Read the result of a Deferred that has already fired, without adding a
    callback: at thousands of events a second the callback chain would cost
    more than the rest of an event's handling.

    @param d: the Deferred, left as it is.
    @param kind: the type of result wanted.
    @return: C{d}'s result if it has one of type C{kind}; C{None} if it has not
        fired, is waiting on another Deferred, or has a result of another type.
    """
    if d.called and not d.paused:
        result = d.result
        if isinstance(result, kind):
            return result
    return None


def _utc(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc)


@implementer(IResource)
class NotificationListener(Resource):
    """
    A resource that receives notification reports and gives their events to a sink.

    Each event of a request goes to C{sink.receive} in order, one after the other;
    the response is written only once every one of them has fired, with the status
    each returned (a failure counts as server-error-temporary-error, so the sender
    retries).  Nothing is acknowledged that the sink has not taken.  A sink that
    provides L{IBatchNotificationSink} gets all the events of a request in one
    call to C{sink.receiveMany} instead, and the response the statuses of its
    list (all temporary failures if it fails).

    @ivar sink: the L{INotificationSink}.
    @ivar source: the name events are stamped with (L{Event.source}).
    """

    isLeaf = True
    log = Logger()

    def __init__(
        self,
        sink: INotificationSink,
        *,
        source: str = "listener",
        clock: Optional[IReactorTime] = None,
        limits: Optional[Limits] = None,
    ) -> None:
        super().__init__()
        if clock is None:
            from twisted.internet import reactor as clock
        self.sink = sink
        self.source = source
        self.clock: IReactorTime = clock  # type: ignore[assignment]
        self.limits = limits
        self._consumed: Dict[Tuple[Tuple[int, int], str], bytes] = {}

    def render_POST(self, request: Request) -> object:
        contentType = request.getHeader(b"content-type") or b""
        if not isReportContentType(contentType):
            return self._plain(request, 415, UNSUPPORTED_TYPE)
        assert request.content is not None
        finished: List[object] = []
        request.notifyFinish().addBoth(lambda result: finished.append(result))

        def respond(answer: Answer) -> None:
            if finished:
                # The client went away: the sink has the events anyway, and the
                # sender will retry what it did not see acknowledged.
                return
            code, contentType, body = answer
            request.setResponseCode(code)
            request.setHeader(b"content-type", contentType)
            request.setHeader(b"content-length", str(len(body)).encode("ascii"))
            request.write(body)
            request.finish()

        self.answer(request.content.read(), _peer(request)).addCallback(respond)
        return NOT_DONE_YET

    def answer(self, body: bytes, peer: str = "?") -> Deferred[Answer]:
        """
        Take one request body: decode it, give its events to the sink, and build
        the answer.  The HTTP layer (this resource's C{render_POST}, or
        L{NotificationProtocol}) has already checked method and content type.

        @param body: the request body.
        @param peer: who sent it, for logs.
        @return: a Deferred that fires, once the sink has taken every event
            (with C{receive} one by one, or with C{receiveMany} when the sink
            provides L{IBatchNotificationSink}), with C{(HTTP status, content
            type, body)}: 200 and an IPP response, or 400 and a line of text
            when the body is too short to be IPP.  It does not fail.
        """
        if len(body) < 8:
            return succeed((400, b"text/plain; charset=utf-8", SHORT_BODY))
        version = (body[0], body[1])
        requestId = int.from_bytes(body[4:8], "big", signed=True)
        try:
            message = decode(body, self.limits)
        except IppDecodeError as e:
            self.log.info(
                "malformed IPP report from {peer}: {error}", peer=peer, error=str(e)
            )
            reply = buildDecodeErrorResponse(body, e)
            assert reply is not None  # the header was readable
            return succeed(_ippAnswer(reply))
        receivedAt = _utc(self.clock.seconds())
        try:
            report = parseReport(message, source=self.source, receivedAt=receivedAt)
        except NotificationError as e:
            self.log.info(
                "unusable report from {peer}: {reason}", peer=peer, reason=str(e)
            )
            return succeed(
                _ippAnswer(buildErrorResponse(requestId, version, e.statusCode, str(e)))
            )
        waiting: Optional[Deferred[List[int]]]
        if IBatchNotificationSink.providedBy(self.sink):
            batch = self._receiveBatch(report.events)
            if type(batch) is list:
                return succeed(self._answerFor(report, batch))
            waiting = cast(Deferred[List[int]], batch)
        else:
            statuses: List[int] = []
            waiting = self._receiveAll(report.events, 0, statuses)
            if waiting is None:
                return succeed(self._answerFor(report, statuses))

        def failed(failure: Failure) -> Answer:
            self.log.failure("answering a report failed", failure)
            return _ippAnswer(
                buildErrorResponse(
                    requestId, version, _INTERNAL_ERROR, "internal error"
                )
            )

        return waiting.addCallback(
            lambda statuses: self._answerFor(report, statuses)
        ).addErrback(failed)

    def _answerFor(self, report: ReportRequest, statuses: List[int]) -> Answer:
        """
        The answer to C{report} once the sink has given C{statuses}.

        When every report was consumed (nearly always) the response differs
        from one request to the next only in version and request-id: it is
        encoded once per version and dialect and the request-id put in.
        """
        try:
            if statuses.count(0) == len(statuses):
                key = (report.version, report.dialect)
                template = self._consumed.get(key)
                if template is None:
                    template = encode(buildResponse(report, statuses))
                    self._consumed[key] = template
                requestId = report.requestId.to_bytes(4, "big", signed=True)
                return (
                    200,
                    b"application/ipp",
                    template[:4] + requestId + template[8:],
                )
            return _ippAnswer(buildResponse(report, statuses))
        except Exception:
            self.log.failure("answering a report failed")
            return _ippAnswer(
                buildErrorResponse(
                    report.requestId, report.version, _INTERNAL_ERROR, "internal error"
                )
            )

    def _receiveAll(
        self, events: Sequence[Event], start: int, statuses: List[int]
    ) -> Optional[Deferred[List[int]]]:
        """
        Give each event from C{events[start]} on to the sink in turn, appending
        the status of each to C{statuses}.

        A sink answers most events at once (with an already fired Deferred):
        those are read here without a callback chain per event, which at tens
        of thousands of events a second is most of the cost of a report.

        @return: C{None} when every status is in C{statuses}; otherwise a
            Deferred that fires with C{statuses} once the rest are.
        """
        receive = self.sink.receive
        for index in range(start, len(events)):
            event = events[index]
            try:
                result = receive(event)
            except Exception:
                self._sinkFailed(Failure(), event)
                statuses.append(ReportStatus.TEMPORARY_FAILURE)
                continue
            if not isinstance(result, Deferred):
                statuses.append(result)
                continue
            status = _firedWith(result, int)
            if status is not None:
                statuses.append(status)
                continue
            if _firedWith(result, Failure) is not None:
                # Handled at once, not by recursion: every event may fail.
                result.addErrback(self._sinkFailed, event, statuses)
                continue
            result.addCallbacks(
                statuses.append, self._sinkFailed, errbackArgs=(event, statuses)
            )
            rest = cast(Deferred[Any], result)
            return rest.addCallback(self._receiveRest, events, index + 1, statuses)
        return None

    def _receiveBatch(
        self, events: Sequence[Event]
    ) -> Union[List[int], Deferred[List[int]]]:
        """
        Give all of C{events} to the sink's C{receiveMany}.

        @return: the statuses when they are known at once (a list, or a Deferred
            that has already fired with one); else a Deferred that fires with
            them.  Either way, one status an event: a failure of the sink, or
            an answer that is not one status an event, gives a temporary
            failure for each.
        """
        try:
            result = cast(IBatchNotificationSink, self.sink).receiveMany(events)
        except Exception:
            return self._batchFailed(Failure(), events)
        if isinstance(result, Deferred):
            statuses = _firedWith(result, list)
            if statuses is None:
                return result.addCallbacks(
                    self._checkBatch,
                    self._batchFailed,
                    callbackArgs=(events,),
                    errbackArgs=(events,),
                )
            result = statuses
        return self._checkBatch(result, events)

    def _checkBatch(self, statuses: object, events: Sequence[Event]) -> List[int]:
        """
        @return: C{statuses} if it is a list of one status an event; else (a
            bug of the sink, logged) a temporary failure for each event.
        """
        if type(statuses) is list and len(statuses) == len(events):
            return statuses
        self.log.error(
            "the sink answered {count} events with {statuses!r}",
            count=len(events),
            statuses=statuses,
        )
        return [ReportStatus.TEMPORARY_FAILURE] * len(events)

    def _batchFailed(self, failure: Failure, events: Sequence[Event]) -> List[int]:
        """
        Log the sink's failure to take C{events}, which counts as a temporary
        failure of each: the sender retries them.
        """
        self.log.failure(
            "the sink failed to take {count} events", failure, count=len(events)
        )
        return [ReportStatus.TEMPORARY_FAILURE] * len(events)

    def _receiveRest(
        self, _: object, events: Sequence[Event], start: int, statuses: List[int]
    ) -> Union[List[int], Deferred[List[int]]]:
        """
        Go on with the events after one the sink answered later.
        """
        waiting = self._receiveAll(events, start, statuses)
        return statuses if waiting is None else waiting

    def _sinkFailed(
        self, failure: Failure, event: Event, statuses: Optional[List[int]] = None
    ) -> None:
        """
        Log the sink's failure to take C{event}, which counts as a temporary
        failure (appended to C{statuses}, when given): the sender retries.
        """
        self.log.failure(
            "the sink failed to take event {sequence} of subscription {subscriptionId}",
            failure,
            subscriptionId=event.subscriptionId,
            sequence=event.sequenceNumber,
        )
        if statuses is not None:
            statuses.append(ReportStatus.TEMPORARY_FAILURE)

    def _plain(self, request: Request, code: int, text: bytes) -> bytes:
        body = text + b"\n"
        request.setResponseCode(code)
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        request.setHeader(b"content-length", str(len(body)).encode("ascii"))
        return body


def _peerOf(address: object) -> str:
    """
    @return: C{host:port} of an address, for logs.
    """
    host = getattr(address, "host", None)
    return f"{host}:{getattr(address, 'port', '')}" if host else str(address)


def _peer(request: Request) -> str:
    return _peerOf(request.getClientAddress())


class _BoundedRequest(Request):
    """
    A request whose body is kept in memory and may not grow past the site's limit
    (checked here for chunked bodies, whose length is not known in advance).
    """

    def gotLength(self, length: Optional[int]) -> None:
        import io

        self.content = io.BytesIO()
        self._received = 0

    def handleContentChunk(self, data: bytes) -> None:
        self._received += len(data)
        channel = self.channel
        if isinstance(channel, ListenerChannel):
            if self._received > channel.maxBodyBytes:
                channel.refuse(413, b"Request Entity Too Large")
                return
        assert self.content is not None
        self.content.write(data)


class ListenerChannel(HTTPChannel):
    """
    An HTTP/1.1 channel with the limits of L{NotificationSite}.

    @ivar maxBodyBytes: the largest request body; a larger Content-Length is
        refused with 413 before any C{100 Continue}, a chunked body as soon as it
        passes the limit.
    @ivar requestTimeout: seconds from the first octet of a request to the end of
        its body; past it the client gets 408 and the connection is closed.
    """

    maxBodyBytes = DEFAULT_MAX_BODY
    requestTimeout: float = 30.0
    log = Logger()

    def __init__(self) -> None:
        super().__init__()
        self._deadline: Optional[IDelayedCall] = None
        self._refused = False

    def dataReceived(self, data: bytes) -> None:
        if self._refused:
            return
        if self._deadline is None and not self._handlingRequest and data:
            self._deadline = self.callLater(self.requestTimeout, self._requestTimedOut)
        super().dataReceived(data)

    def rawDataReceived(self, data: bytes) -> None:
        if self._refused:
            return
        super().rawDataReceived(data)

    def allHeadersReceived(self) -> None:
        length = self.length
        if length is not None and length > self.maxBodyBytes:
            # Before any 100 Continue: the client need not send the body at all.
            self.refuse(413, b"Request Entity Too Large")
            return
        super().allHeadersReceived()

    def allContentReceived(self) -> None:
        self._cancelDeadline()
        if self._refused:
            return
        super().allContentReceived()

    def refuse(self, code: int, phrase: bytes) -> None:
        """
        Answer C{code} without reading the rest of the request, and close.
        """
        if self._refused:
            return
        self._refused = True
        self._cancelDeadline()
        self.log.info(
            "refusing a request from {peer}: {code}",
            peer=str(self.transport.getPeer()) if self.transport else "?",
            code=code,
        )
        assert self.transport is not None
        self.transport.write(
            b"HTTP/1.1 %d %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            % (code, phrase)
        )
        self.loseConnection()

    def _requestTimedOut(self) -> None:
        self._deadline = None
        self.refuse(408, b"Request Timeout")

    def _cancelDeadline(self) -> None:
        if self._deadline is not None:
            if self._deadline.active():
                self._deadline.cancel()
            self._deadline = None

    def connectionLost(self, reason: Failure) -> None:  # type: ignore[override]
        self._cancelDeadline()
        super().connectionLost(reason)


class NotificationSite(Site):
    """
    A C{Site} for a listener (or any IPP endpoint) open to printers: bounded
    request bodies, a deadline per request, an idle keep-alive timeout.

    @param resource: the root resource (a L{NotificationListener}, or a tree).
    @param maxBodyBytes: see L{ListenerChannel.maxBodyBytes}.
    @param requestTimeout: see L{ListenerChannel.requestTimeout}.
    @param idleTimeout: seconds an idle keep-alive connection stays open.
    @param reactor: for the timers.
    """

    requestFactory = cast(Any, _BoundedRequest)

    def __init__(
        self,
        resource: IResource,
        *,
        maxBodyBytes: int = DEFAULT_MAX_BODY,
        requestTimeout: float = 30.0,
        idleTimeout: float = 60.0,
        reactor: Optional[IReactorTime] = None,
    ) -> None:
        super().__init__(resource, timeout=idleTimeout, reactor=reactor)
        self.maxBodyBytes = maxBodyBytes
        self.requestTimeout = requestTimeout
        self.noisy = False

    def buildProtocol(self, addr: object) -> ListenerChannel:  # type: ignore[override]
        channel = ListenerChannel()
        # What HTTPFactory.buildProtocol and Site.buildProtocol would set.
        settable = cast(Any, channel)
        settable.factory = self
        settable.requestFactory = self.requestFactory
        settable.site = self
        settable.callLater = cast(Any, self.reactor).callLater
        settable.timeOut = self.timeOut
        channel.maxBodyBytes = self.maxBodyBytes
        channel.requestTimeout = self.requestTimeout
        return channel


_TEXT = b"text/plain; charset=utf-8"
_ALLOW = (b"Allow", b"POST")
_NOT_FOUND = b"no notification listener here"
_NOT_POST = b"a notification report is sent with POST"
_TIMED_OUT = b"the request took too long"
_CLOCK_SLACK = 0.001
# What http11.response writes for a 200 that keeps the connection open.
_OK = b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\nDate: %s\r\nContent-Length: %d\r\n\r\n%s"


@implementer(IHalfCloseableProtocol)
class NotificationProtocol(Protocol):
    """
    One connection to a standalone listener: HTTP/1.1 with
    L{ipp_ntfy.http11.RequestParser}, each request answered by
    L{NotificationListener.answer}.

    Requests are taken one at a time and answered in order.  While an answer
    is pending the transport is paused, so a client that pipelines gets its
    further requests read once the earlier ones are answered, and no more than
    one read's worth of octets waits meanwhile.  Every request gets a response,
    a refusal included; a request that cannot be read (L{http11.ParseError}),
    one too large, and one whose octets take longer than the factory's
    C{requestTimeout} to arrive are refused and the connection closed.  A
    connection idle for C{idleTimeout} between requests is closed quietly.

    Timers: one C{callLater} per connection, moved only when a deadline comes
    sooner than it; when it fires it looks at the times it is given (the start
    of the request being read, the end of the last response) and either acts or
    waits again.  A request that arrives in one read costs no timer call.

    @ivar factory: the L{NotificationFactory}.
    """

    log = Logger()

    def __init__(self, factory: NotificationFactory) -> None:
        self.factory = factory
        self._parser = RequestParser(
            factory.maxHeaderBytes, factory.maxHeaders, factory.maxBodyBytes
        )
        self._queue: Deque[http11.Event] = deque()
        self._clock = factory.clock
        self._peer = "?"
        self._busy = False
        self._paused = False
        self._closing = False
        self._readClosed = False
        self._headChecked = False
        self._timer: Optional[IDelayedCall] = None
        self._timerAt = 0.0
        self._requestStarted: Optional[float] = None
        self._idleSince = 0.0

    def connectionMade(self) -> None:
        assert self.transport is not None
        self._peer = _peerOf(self.transport.getPeer())
        now = self._clock.seconds()
        self._idleSince = now
        self._wakeAt(now + self.factory.idleTimeout, now)

    def dataReceived(self, data: bytes) -> None:
        if self._closing:
            return
        self._queue.extend(self._parser.feed(data))
        if not self._busy:
            self._proceed()

    def _proceed(self) -> None:
        """
        Handle queued events until one has to wait for its answer, then look
        after the timers.
        """
        queue = self._queue
        while queue:
            event = queue.popleft()
            if type(event) is http11.Request:
                self._handle(event)
            elif type(event) is RequestHead:
                self._handleHead(event)
            else:
                assert isinstance(event, ParseError)
                self._refuse(event.status, event.reason.encode("ascii"))
            if self._busy or self._closing:
                return
        if self._parser.pending:
            if self._requestStarted is None:
                now = self._clock.seconds()
                self._requestStarted = now
                self._wakeAt(now + self.factory.requestTimeout, now)
        elif self._readClosed:
            self._close()

    def _refusal(self, head: RequestHead) -> Optional[Tuple[int, bytes]]:
        """
        @return: the status and text a request is refused with, or C{None}
            when it is one for the listener.
        """
        target = head.target
        if target[:1] != b"/":
            # absolute-form (RFC 9112 section 3.2.2): the path after the authority.
            _, _, rest = target.partition(b"://")
            slash = rest.find(b"/")
            target = rest[slash:] if slash >= 0 else b""
        query = target.find(b"?")
        if (target[:query] if query >= 0 else target) != self.factory.path:
            return 404, _NOT_FOUND
        if head.method != b"POST":
            return 405, _NOT_POST
        contentType = head.header(b"content-type")
        if contentType is None or not isReportContentType(contentType):
            return 415, UNSUPPORTED_TYPE
        return None

    def _handleHead(self, head: RequestHead) -> None:
        """
        A head whose body is still to come: a client waiting for
        C{100 Continue} gets it, or its refusal at once.
        """
        if not head.expectContinue:
            # Refused, if at all, once the (bounded) body is read, so that the
            # connection survives.
            return
        refusal = self._refusal(head)
        if refusal is not None:
            # Its body is not wanted: answer, and close rather than read it.
            status, text = refusal
            self._respond(head, status, _TEXT, text + b"\n", close=True)
            return
        self._headChecked = True
        assert self.transport is not None
        self.transport.write(CONTINUE)

    def _handle(self, request: http11.Request) -> None:
        """
        A complete request: refuse it, or have the listener answer it (at once,
        or later with the transport paused meanwhile).
        """
        head = request.head
        self._requestStarted = None
        if self._headChecked:
            self._headChecked = False
        else:
            refusal = self._refusal(head)
            if refusal is not None:
                status, text = refusal
                self._respond(head, status, _TEXT, text + b"\n")
                return
        self._busy = True
        try:
            d = self.factory.listener.answer(request.body, self._peer)
        except Exception:
            self._failed(Failure(), head)
            return
        answer: Optional[Answer] = _firedWith(d, tuple)
        if answer is not None:
            self._answered(answer, head)
            return
        d.addCallbacks(self._answered, self._failed, (head,), errbackArgs=(head,))
        if self._busy and not self._closing:
            self._paused = True
            cast(IPushProducer, self.transport).pauseProducing()

    def _answered(self, answer: Answer, head: RequestHead) -> None:
        """
        Write the listener's answer; if it came later, go on with what the
        client sent meanwhile.
        """
        self._busy = False
        if self._closing:
            # The client is gone: the sink has the events all the same, and
            # the sender retries what it did not see acknowledged.
            return
        status, contentType, body = answer
        self._respond(head, status, contentType, body)
        if self._paused and not self._closing:
            self._paused = False
            cast(IPushProducer, self.transport).resumeProducing()
            self._proceed()

    def _failed(self, failure: Failure, head: RequestHead) -> None:
        """
        Answering failed (a bug: L{NotificationListener.answer} does not
        fail): the client gets a 500.
        """
        self.log.failure("answering a report failed", failure)
        self._answered((500, _TEXT, b"internal error\n"), head)

    def _respond(
        self,
        head: RequestHead,
        status: int,
        contentType: bytes,
        body: bytes,
        close: bool = False,
    ) -> None:
        """
        Write a response to C{head}; close after it when asked to or when the
        request did not keep the connection alive.
        """
        factory = self.factory
        now = self._clock.seconds()
        close = close or not head.keepAlive
        assert self.transport is not None
        if status == 200 and not close and head.version == b"1.1":
            # What nearly every request gets, in one formatting operation.
            self.transport.write(
                _OK % (contentType, factory.date(now), len(body), body)
            )
        else:
            headers = [(b"Content-Type", contentType), (b"Date", factory.date(now))]
            if status == 405:
                headers.append(_ALLOW)
            if head.version == b"1.0" and not close:
                headers.append((b"Connection", b"keep-alive"))
            self.transport.write(response(status, None, headers, body, close))
        if factory.accessLog:
            self.log.info(
                '{peer} "{method} {target} HTTP/{version}" {status} {length}',
                peer=self._peer,
                method=head.method.decode("latin-1"),
                target=head.target.decode("latin-1"),
                version=head.version.decode("ascii"),
                status=status,
                length=len(body),
            )
        elif status >= 400:
            self.log.debug(
                "refused a request from {peer}: {status}",
                peer=self._peer,
                status=status,
            )
        if close:
            self._close()
            return
        self._idleSince = now
        self._wakeAt(now + factory.idleTimeout, now)

    def _refuse(self, status: int, reason: bytes) -> None:
        """
        Refuse a request that cannot be read or completed, and close.
        """
        self.log.info(
            "refusing a request from {peer}: {status} {reason}",
            peer=self._peer,
            status=status,
            reason=reason.decode("ascii"),
        )
        assert self.transport is not None
        self.transport.write(
            response(status, None, [(b"Content-Type", _TEXT)], reason + b"\n", True)
        )
        self._close()

    def _close(self) -> None:
        """
        Close the connection once what was written is sent; take nothing more.
        """
        self._closing = True
        self._queue.clear()
        self._cancelTimer()
        assert self.transport is not None
        self.transport.loseConnection()

    def _wakeAt(self, when: float, now: float) -> None:
        """
        Make sure the timer fires no later than C{when}.
        """
        timer = self._timer
        if timer is None:
            self._timer = self._clock.callLater(max(0.0, when - now), self._wake)
            self._timerAt = when
        elif when < self._timerAt:
            timer.reset(max(0.0, when - now))
            self._timerAt = when

    def _wake(self) -> None:
        """
        The timer fired: refuse a request past its deadline with 408, close a
        connection idle too long, or wait again for whichever is due next.
        """
        self._timer = None
        if self._closing or self._busy:
            # Nothing is timed while an answer is pending; the response
            # restarts the idle time.
            return
        factory = self.factory
        now = self._clock.seconds()
        if self._requestStarted is not None:
            deadline = self._requestStarted + factory.requestTimeout
            if now + _CLOCK_SLACK >= deadline:
                self._refuse(408, _TIMED_OUT)
            else:
                self._wakeAt(deadline, now)
            return
        deadline = self._idleSince + factory.idleTimeout
        if now + _CLOCK_SLACK >= deadline:
            self.log.debug("closing idle connection from {peer}", peer=self._peer)
            self._close()
        else:
            self._wakeAt(deadline, now)

    def _cancelTimer(self) -> None:
        if self._timer is not None:
            if self._timer.active():
                self._timer.cancel()
            self._timer = None

    def readConnectionLost(self) -> None:
        """
        The client sent all it will: answer what it asked, then close.
        """
        self._readClosed = True
        if not self._busy and not self._closing and not self._queue:
            self._close()

    def writeConnectionLost(self) -> None:
        """
        Nothing can be written any more: close.
        """
        self._close()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """
        Stop the timer; an answer still pending will be dropped.
        """
        self._closing = True
        self._queue.clear()
        self._cancelTimer()


class NotificationFactory(Factory):
    """
    The standalone listener's HTTP/1.1 server: far less work per request than
    C{twisted.web}, with the same answers and limits as L{NotificationSite}.
    Requests go to C{listener.answer}::

        reactor.listenTCP(8632, NotificationFactory(NotificationListener(sink)))

    Only C{path} is served (404 elsewhere, a query string is ignored), only
    with POST (405) and an IPP content type (415).

    @param listener: the L{NotificationListener} that answers requests.
    @param path: the one path served.
    @param maxBodyBytes: the largest request body (413 past it: before any
        C{100 Continue} when the Content-Length says so, as soon as a chunked
        body passes it).
    @param requestTimeout: seconds from a request's first octet to the end of
        its body; past it the client gets 408 and the connection is closed.
    @param idleTimeout: seconds a keep-alive connection may stay idle
        between requests.
    @param maxHeaderBytes: the largest request head (431 past it).
    @param maxHeaders: the largest number of header fields (431 past it).
    @param accessLog: log a line (info) per request; off by default, since at
        thousands of requests a second the log costs as much as the requests.
    @param reactor: the clock for the timers.
    """

    protocol = NotificationProtocol
    noisy = False

    def __init__(
        self,
        listener: NotificationListener,
        path: Union[bytes, str] = b"/notify",
        *,
        maxBodyBytes: int = DEFAULT_MAX_BODY,
        requestTimeout: float = 30.0,
        idleTimeout: float = 60.0,
        maxHeaderBytes: int = 16384,
        maxHeaders: int = 100,
        accessLog: bool = False,
        reactor: Optional[IReactorTime] = None,
    ) -> None:
        if reactor is None:
            from twisted.internet import reactor as _reactor

            reactor = cast(IReactorTime, _reactor)
        self.listener = listener
        self.path = path.encode("utf-8") if isinstance(path, str) else path
        self.maxBodyBytes = maxBodyBytes
        self.requestTimeout = requestTimeout
        self.idleTimeout = idleTimeout
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaders = maxHeaders
        self.accessLog = accessLog
        self.clock: IReactorTime = reactor
        self._dateSecond = -1
        self._date = b""

    def buildProtocol(self, addr: Optional[IAddress]) -> NotificationProtocol:
        return NotificationProtocol(self)

    def date(self, now: float) -> bytes:
        """
        @return: the Date header value for time C{now} (made once a second).
        """
        second = int(now)
        if second != self._dateSecond:
            self._dateSecond = second
            self._date = datetimeToString(second)
        return self._date
