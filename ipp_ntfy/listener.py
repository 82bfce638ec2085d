"""
The listener end of HTTP-based IPP notifications: a C{twisted.web} resource that
takes Report-Ipp-Notifications (and indp Send-Notifications) requests, hands each
event to an L{INotificationSink}, and answers with the per-report status.

    root.putChild(b"ipp-events", NotificationListener(sink))

L{NotificationSite} is a C{Site} with the HTTP limits a listener open to printers
needs: a body limit enforced before C{100 Continue}, a deadline on each request so
that a client trickling bytes is cut off, and an idle keep-alive timeout.
"""

from __future__ import annotations

import datetime
from typing import Any, List, Optional, Sequence, Tuple, cast

from twisted.internet.defer import Deferred, maybeDeferred, succeed
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.http import HTTPChannel
from twisted.web.resource import IResource, Resource
from twisted.web.server import NOT_DONE_YET, Request, Site
from zope.interface import implementer

from .interfaces import INotificationSink
from .ipp import IppDecodeError, Limits, Message, decode, encode
from .notification import (
    Event,
    NotificationError,
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


def _utc(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc)


@implementer(IResource)
class NotificationListener(Resource):
    """
    A resource that receives notification reports and gives their events to a sink.

    Each event of a request goes to C{sink.receive} in order, one after the other;
    the response is written only once every one of them has fired, with the status
    each returned (a failure counts as server-error-temporary-error, so the sender
    retries).  Nothing is acknowledged that the sink has not taken.

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
        @return: a Deferred that fires, once the sink has taken every event, with
            C{(HTTP status, content type, body)}: 200 and an IPP response, or 400
            and a line of text when the body is too short to be IPP.  It does not
            fail.
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
        d = self._receiveAll(report.events)

        def built(statuses: List[int]) -> Answer:
            return _ippAnswer(buildResponse(report, statuses))

        def failed(failure: Failure) -> Answer:
            self.log.failure("answering a report failed", failure)
            return _ippAnswer(
                buildErrorResponse(
                    requestId, version, _INTERNAL_ERROR, "internal error"
                )
            )

        return d.addCallback(built).addErrback(failed)

    def _receiveAll(self, events: Sequence[Event]) -> Deferred[List[int]]:
        """
        Give each event to the sink in turn.

        @return: the status of each.
        """
        statuses: List[int] = []
        done: Deferred[List[int]] = Deferred()
        iterator = iter(events)

        def next(_: object = None) -> None:
            for event in iterator:
                d = maybeDeferred(self.sink.receive, event)
                d.addCallbacks(statuses.append, failed, errbackArgs=(event,))
                d.addCallback(next)
                return
            done.callback(statuses)

        def failed(failure: Failure, event: Event) -> None:
            self.log.failure(
                "the sink failed to take event {sequence} of subscription "
                "{subscriptionId}",
                failure,
                subscriptionId=event.subscriptionId,
                sequence=event.sequenceNumber,
            )
            statuses.append(ReportStatus.TEMPORARY_FAILURE)

        next()
        return done

    def _plain(self, request: Request, code: int, text: bytes) -> bytes:
        body = text + b"\n"
        request.setResponseCode(code)
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        request.setHeader(b"content-length", str(len(body)).encode("ascii"))
        return body


def _peer(request: Request) -> str:
    peer = request.getClientAddress()
    host = getattr(peer, "host", None)
    return f"{host}:{getattr(peer, 'port', '')}" if host else str(peer)


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
