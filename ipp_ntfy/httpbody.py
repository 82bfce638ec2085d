"""
Request and response bodies for the HTTP clients (the delivery method and the IPP
client): a body already in memory, and bounded reading of an answer.
"""

from __future__ import annotations

from typing import Any, List, cast

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IConsumer
from twisted.internet.protocol import Protocol
from twisted.python.failure import Failure
from twisted.web.client import ResponseDone
from twisted.web.http import PotentialDataLoss
from twisted.web.iweb import IBodyProducer, IResponse
from zope.interface import implementer


@implementer(IBodyProducer)
class BytesProducer:
    """
    A request body already in memory, written at once (its length known, so the
    request carries Content-Length).
    """

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.length = len(data)

    def startProducing(self, consumer: IConsumer) -> Deferred[None]:
        consumer.write(self.data)
        return succeed(None)

    def pauseProducing(self) -> None:
        pass

    def resumeProducing(self) -> None:
        pass

    def stopProducing(self) -> None:
        pass


class ResponseTooLargeError(Exception):
    """
    An answer passed the size limit.
    """


_RESPONSE_DONE = Failure(ResponseDone())


class BoundedReader(Protocol):
    """
    Reads a response body into memory, giving up (and dropping the connection)
    past C{limit} octets.

    @ivar finished: fires with the body, or fails with L{ResponseTooLargeError} or
        the reason the body was cut short.  Cancelling it drops the connection.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.finished: Deferred[bytes] = Deferred(lambda _: self._abort())
        self.parts: List[bytes] = []
        self.size = 0

    def dataReceived(self, data: bytes) -> None:
        if self.finished.called:
            return
        self.size += len(data)
        if self.size > self.limit:
            self.finished.errback(
                ResponseTooLargeError(f"response body over {self.limit} bytes")
            )
            self._abort()
            return
        self.parts.append(data)

    def _abort(self) -> None:
        transport = cast(Any, self.transport)
        if transport is not None:
            transport.stopProducing()

    def connectionLost(self, reason: Failure = _RESPONSE_DONE) -> None:
        if self.finished.called:
            return
        if reason.check(ResponseDone, PotentialDataLoss):
            self.finished.callback(b"".join(self.parts))
        else:
            self.finished.errback(reason)


def readBounded(response: IResponse, limit: int) -> Deferred[bytes]:
    """
    @return: a Deferred firing with the body of C{response}, read up to C{limit}
        octets (L{ResponseTooLargeError} past it).
    """
    reader = BoundedReader(limit)
    response.deliverBody(reader)
    return reader.finished


def discardBody(response: IResponse) -> Deferred[object]:
    """
    Read and drop a body that is not wanted, so that the connection can be reused.

    @return: a Deferred that fires once it is read (it does not fail).
    """
    d: Deferred[object] = readBounded(response, 64 * 1024)  # type: ignore[assignment]
    return d.addErrback(lambda _: None)


def describeFailure(failure: Failure) -> str:
    """
    @return: a one-line description of why a request failed, unwrapping the
        C{reasons} of Twisted's C{ResponseNeverReceived} and friends.
    """
    value = failure.value
    reasons = getattr(value, "reasons", None)
    if reasons:
        return "; ".join(describeFailure(reason) for reason in reasons)
    name = type(value).__name__
    text = str(value) or name
    return text if name in text else f"{name}: {text}"
