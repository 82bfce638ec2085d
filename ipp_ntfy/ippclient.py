"""
A small IPP client: POST one request L{Message} to a printer URI over HTTP/1.1
(or HTTPS), read the answer within bounds, and give back the response
L{Message}::

    client = IppClient(reactor)
    response = await client.request("ipp://cups.example/printers/q", message)

C{ipp:} and C{ipps:} URIs map to C{http:} and C{https:} with IPP's port 631
(RFC 8010 section 5; L{ipp_ntfy.delivery.httpTarget}).  Every way a request can
fail is an L{IppClientError}:

    - L{IppTransportError}: no answer came (refused, unreachable, reset, TLS
      failure, timeout): the peer may be down; trying again later may work.
    - L{IppHttpError}: an HTTP status other than 200.
    - L{IppResponseError}: an answer that is not a readable IPP response (not
      C{application/ipp}, too large, undecodable).

An IPP status other than successful is not an error here: the response says it,
and the caller decides (L{isSuccessful}).  Cancelling the Deferred that
L{IppClient.request} returned abandons the request and fails it with
C{CancelledError}.
"""

from __future__ import annotations

import itertools
import typing
from typing import Any, Iterator, List, Optional, cast

from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure
from twisted.web.client import (
    Agent,
    HTTPConnectionPool,
    _HTTP11ClientFactory,
)
from twisted.web.http_headers import Headers
from twisted.web.iweb import IPolicyForHTTPS, IResponse

from ._version import __version__
from .delivery import RecipientError, httpTarget
from .httpbody import (
    BoundedReader,
    BytesProducer,
    ResponseTooLargeError,
    describeFailure,
    discardBody,
)
from .ipp import (
    Attribute,
    Group,
    GroupTag,
    IppDecodeError,
    IppEncodeError,
    Limits,
    Message,
    decode,
    encode,
)

__all__ = [
    "IppClient",
    "IppRequester",
    "IppClientError",
    "IppTransportError",
    "IppHttpError",
    "IppResponseError",
    "isSuccessful",
    "operationGroup",
    "ippHttpUrl",
]

#: The IPP version of the requests built by L{operationGroup}'s callers.
IPP_VERSION = (2, 0)


class IppClientError(Exception):
    """
    An IPP request got no usable response.

    @ivar uri: the printer URI the request was for.
    @ivar reason: what went wrong, in words.
    """

    def __init__(self, uri: str, reason: str) -> None:
        super().__init__(uri, reason)
        self.uri = uri
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.uri}: {self.reason}"


class IppTransportError(IppClientError):
    """
    No answer: the connection could not be made or was lost, TLS failed, or the
    answer did not come within the timeout.  The peer may be down.
    """


class IppHttpError(IppClientError):
    """
    The peer answered with an HTTP status other than 200.

    @ivar code: the HTTP status code.
    """

    def __init__(self, uri: str, code: int, reason: str) -> None:
        super().__init__(uri, reason)
        self.code = code


class IppResponseError(IppClientError):
    """
    The answer was not a readable IPP response: not C{application/ipp}, over the
    size limit, or not decodable.
    """


class IppRequester(typing.Protocol):
    """
    What users of L{IppClient} need of it (and a test fake provides).
    """

    def nextRequestId(self) -> int:
        """
        @return: a request-id for the next request.
        """

    def request(
        self, uri: str, message: Message, timeout: Optional[float] = None
    ) -> Deferred[Message]:
        """
        See L{IppClient.request}.
        """

    def close(self) -> Deferred[None]:
        """
        See L{IppClient.close}.
        """


def isSuccessful(status: int) -> bool:
    """
    @return: whether an IPP status code is of the successful class (0x0000 to
        0x00FF).
    """
    return 0 <= status <= 0x00FF


def ippHttpUrl(uri: str) -> str:
    """
    @param uri: an C{ipp}, C{ipps}, C{http} or C{https} URI.
    @return: the HTTP(S) URL to POST an IPP request for C{uri} to.
    @raise IppClientError: for another scheme or a URI without a host.
    """
    try:
        url, _ = httpTarget(uri)
    except RecipientError as e:
        raise IppClientError(uri, e.reason) from None
    return url


def operationGroup(
    printerUri: str, userName: Optional[str] = None, *more: Attribute
) -> Group:
    """
    The operation attributes every request starts with (RFC 8011 section
    4.1.4): C{attributes-charset}, C{attributes-natural-language},
    C{printer-uri}, C{requesting-user-name}, then C{more}.

    @param printerUri: the target printer URI.
    @param userName: C{requesting-user-name}, or C{None} to send none.
    @param more: further operation attributes, in order.
    """
    attributes = [
        Attribute.charset("attributes-charset", "utf-8"),
        Attribute.naturalLanguage("attributes-natural-language", "en"),
        Attribute.uri("printer-uri", printerUri),
    ]
    if userName is not None:
        attributes.append(Attribute.nameValue("requesting-user-name", userName))
    attributes.extend(more)
    return Group(GroupTag.OPERATION, attributes)


class _QuietClientFactory(_HTTP11ClientFactory):
    noisy = False


def _wasCancelled(failure: Failure) -> bool:
    if failure.check(CancelledError):
        return True
    reasons = getattr(failure.value, "reasons", None) or ()
    return any(_wasCancelled(reason) for reason in reasons)


class IppClient:
    """
    Sends IPP requests with C{twisted.web.client.Agent} over a persistent
    connection pool.

    @param reactor: the reactor (connections and timers).
    @param tlsPolicy: an C{IPolicyForHTTPS} for C{ipps} (see
        L{ipp_ntfy.tls.ClientTLSPolicy}); Twisted's default verifies the
        certificate and host name against the platform's trust roots.
    @param pool: the connection pool; by default a persistent one whose idle
        connections are closed after C{idleTimeout} seconds, before the peer's
        keep-alive timeout would (cupsd's is 30 s): a POST is not retried on a
        connection the peer closed meanwhile.
    @param connectTimeout: seconds to establish a connection.
    @param requestTimeout: seconds for the whole exchange, connection included,
        unless L{request} is given another.
    @param maxResponseBytes: the largest response body read.
    @param limits: the decoding limits; by default those of the codec, with
        C{maxMessageBytes} = C{maxResponseBytes}.
    @param idleTimeout: see C{pool}.
    """

    def __init__(
        self,
        reactor: Any,
        *,
        tlsPolicy: Optional[IPolicyForHTTPS] = None,
        pool: Optional[HTTPConnectionPool] = None,
        connectTimeout: float = 10.0,
        requestTimeout: float = 30.0,
        maxResponseBytes: int = 4 * 1024 * 1024,
        limits: Optional[Limits] = None,
        idleTimeout: float = 10.0,
        userAgent: bytes = b"ipp_ntfy/" + __version__.encode("ascii"),
    ) -> None:
        self.reactor = reactor
        self.clock = cast(IReactorTime, reactor)
        if pool is None:
            pool = HTTPConnectionPool(reactor, persistent=True)
            pool.maxPersistentPerHost = 2
            # Typed int by Twisted; any number of seconds works (callLater).
            cast(Any, pool).cachedConnectionTimeout = idleTimeout
            pool.retryAutomatically = False
            # A poller connects again and again: no "Starting factory" line each
            # time.
            cast(Any, pool)._factory = _QuietClientFactory
        self.pool = pool
        kwargs: dict[str, Any] = {"pool": pool, "connectTimeout": connectTimeout}
        if tlsPolicy is not None:
            kwargs["contextFactory"] = tlsPolicy
        self.agent = Agent(reactor, **kwargs)
        self.requestTimeout = requestTimeout
        self.maxResponseBytes = maxResponseBytes
        self.limits = limits or Limits(maxMessageBytes=maxResponseBytes)
        self.userAgent = userAgent
        self._requestIds: Iterator[int] = itertools.count(1)

    def nextRequestId(self) -> int:
        """
        @return: a request-id for the next request (1, 2, 3...).
        """
        return next(self._requestIds)

    def request(
        self, uri: str, message: Message, timeout: Optional[float] = None
    ) -> Deferred[Message]:
        """
        POST C{message} for the printer at C{uri} and read the response.

        @param uri: the printer URI (C{ipp}, C{ipps}, C{http} or C{https}).
        @param message: the request.
        @param timeout: seconds for the whole exchange; by default
            C{requestTimeout}.
        @return: a Deferred firing with the response message, whatever its IPP
            status, or failing with an L{IppClientError} (or C{CancelledError} if
            cancelled).
        """
        try:
            url = ippHttpUrl(uri)
            body = encode(message)
        except IppClientError as e:
            return _failed(e)
        except IppEncodeError as e:
            return _failed(IppClientError(uri, f"cannot encode the request: {e}"))
        if timeout is None:
            timeout = self.requestTimeout
        headers = Headers(
            {
                b"content-type": [b"application/ipp"],
                b"accept": [b"application/ipp"],
                b"user-agent": [self.userAgent],
            }
        )
        timedOut: List[bool] = []

        def onTimeout(value: object, seconds: float) -> object:
            if isinstance(value, Failure):
                timedOut.append(True)
            return value

        d: Deferred[Any] = self.agent.request(
            b"POST", url.encode("ascii"), headers, BytesProducer(body)
        )
        d.addCallback(self._response, uri)
        d.addTimeout(timeout, self.clock, onTimeoutCancel=onTimeout)

        def failed(failure: Failure) -> Failure:
            if timedOut:
                return Failure(
                    IppTransportError(uri, f"no answer within {timeout:g} s")
                )
            if failure.check(IppClientError):
                return failure
            if _wasCancelled(failure):
                return Failure(CancelledError())
            return Failure(IppTransportError(uri, describeFailure(failure)))

        d.addErrback(failed)
        return d

    def _response(self, response: IResponse, uri: str) -> Deferred[Message]:
        error: Optional[IppClientError] = None
        if response.code != 200:
            error = IppHttpError(
                uri,
                response.code,
                f"HTTP {response.code} {response.phrase.decode('latin-1')}",
            )
        else:
            contentType = (response.headers.getRawHeaders(b"content-type") or [b""])[0]
            if contentType.split(b";")[0].strip().lower() != b"application/ipp":
                error = IppResponseError(
                    uri,
                    "HTTP 200 but not application/ipp: "
                    + contentType.decode("latin-1"),
                )
        if error is not None:
            # Read the body first, so that the connection goes back to the pool
            # before the caller hears of the error.
            return discardBody(response).addCallback(lambda _: _raise(error))
        reader = BoundedReader(self.maxResponseBytes)
        finished = reader.finished
        response.deliverBody(reader)

        def tooLarge(failure: Failure) -> Failure:
            if failure.check(ResponseTooLargeError):
                return Failure(IppResponseError(uri, str(failure.value)))
            return failure

        finished.addErrback(tooLarge)
        return finished.addCallback(self._decode, uri)

    def _decode(self, body: bytes, uri: str) -> Message:
        try:
            return decode(body, self.limits, lenient=True)
        except IppDecodeError as e:
            raise IppResponseError(uri, f"unreadable IPP response: {e}") from None

    def close(self) -> Deferred[None]:
        """
        Close the pool's idle connections.

        @return: a Deferred that fires once they are closed.
        """
        return self.pool.closeCachedConnections()


def _failed(error: Exception) -> Deferred[Message]:
    d: Deferred[Message] = Deferred()
    d.errback(error)
    return d


def _raise(error: Exception) -> Message:
    raise error
