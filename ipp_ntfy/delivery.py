"""
The HTTP delivery method: sends events to a listener as Report-Ipp-Notifications
(or, to an C{indp:} recipient, Send-Notifications) over HTTP/1.1, with TLS::

    method = HttpDeliveryMethod(reactor)
    outcomes = await method.deliver("https://app.example/ipp-events", events)

C{deliver} never fails: a refused connection, a timeout, an HTTP error or a bad
answer are outcomes (L{ipp_ntfy.outcome}) that the retry queue acts on.  Several
events go in one request; a persistent connection pool keeps connections to each
listener open between deliveries.
"""

from __future__ import annotations

import email.utils
import itertools
from typing import Any, Iterator, List, Optional, Sequence, Tuple, cast
from urllib.parse import urlsplit, urlunsplit

from twisted.internet.defer import Deferred, succeed
from twisted.internet.endpoints import HostnameEndpoint, wrapClientTLS
from twisted.internet.interfaces import IReactorTime, IStreamClientEndpoint
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.client import (
    URI,
    Agent,
    BrowserLikePolicyForHTTPS,
    HTTPConnectionPool,
)
from twisted.web.error import SchemeNotSupported
from twisted.web.http_headers import Headers
from twisted.web.iweb import IAgentEndpointFactory, IPolicyForHTTPS, IResponse
from zope.interface import implementer

from ._version import __version__
from .httpbody import (
    BytesProducer,
    ResponseTooLargeError,
    describeFailure,
    discardBody,
    readBounded,
)
from .interfaces import IEncodedDeliveryMethod
from .ipp import IppDecodeError, decode
from .notification import (
    DIALECT_INDP,
    DIALECT_REPORT,
    EncodedEvent,
    Event,
    NotificationError,
    ReportStatus,
    describeStatus,
    encodeReport,
    parseResponse,
)
from .outcome import DeliveryOutcome, OutcomeKind

#: Scheme of a recipient URI -> (HTTP scheme, default port, dialect).
SCHEMES = {
    "http": ("http", 80, DIALECT_REPORT),
    "https": ("https", 443, DIALECT_REPORT),
    "ipp": ("http", 631, DIALECT_REPORT),
    "ipps": ("https", 631, DIALECT_REPORT),
    "indp": ("http", 631, DIALECT_INDP),
}


class RecipientError(ValueError):
    """
    A recipient URI that cannot be delivered to (unknown scheme, no host).

    @ivar uri: the URI.
    @ivar reason: why.
    """

    def __init__(self, uri: str, reason: str) -> None:
        super().__init__(uri, reason)
        self.uri = uri
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.reason}: {self.uri}"


def httpTarget(recipientUri: str) -> Tuple[str, str]:
    """
    Map a recipient URI to the URL to POST to: C{ipp}/C{ipps}/C{indp} become
    C{http}/C{https} with IPP's default port 631 (RFC 8010 section 5).

    @return: the HTTP(S) URL and the dialect (L{DIALECT_REPORT} or
        L{DIALECT_INDP}).
    @raise RecipientError: for a scheme other than http, https, ipp, ipps, indp,
        or no host.
    """
    try:
        parts = urlsplit(recipientUri)
        port = parts.port
    except ValueError as e:
        raise RecipientError(recipientUri, f"not a valid URI ({e})") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise RecipientError(recipientUri, f"unsupported scheme {scheme!r}")
    if not parts.hostname:
        raise RecipientError(recipientUri, "no host")
    httpScheme, defaultPort, dialect = SCHEMES[scheme]
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port if port is not None else defaultPort}"
    if parts.username:
        raise RecipientError(recipientUri, "credentials in the URI are not supported")
    url = urlunsplit((httpScheme, netloc, parts.path or "/", parts.query, ""))
    return url, dialect


class DeliveryTimeoutError(Exception):
    """
    The listener did not answer within the request timeout.
    """


def _timedOut(value: object, timeout: float) -> object:
    # Whatever the cancellation turned into (CancelledError, or one wrapped in
    # ResponseNeverReceived), it was our timeout.
    if isinstance(value, Failure):
        raise DeliveryTimeoutError(timeout)
    return value


def retryAfter(value: Optional[bytes], now: float) -> Optional[float]:
    """
    Read an HTTP C{Retry-After} header: delay-seconds or an HTTP-date.

    @param now: the current time, for a date.
    @return: seconds to wait (0 or more), or C{None} if absent or unreadable.
    """
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(int(text))
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - now)


def _outcomeForStatus(status: int) -> DeliveryOutcome:
    """
    @param status: a per-report status code.
    @return: the outcome of an event the listener answered with C{status}.
    """
    reason = describeStatus(status)
    if status == ReportStatus.CANCEL_SUBSCRIPTION:
        return DeliveryOutcome(OutcomeKind.CANCEL, reason, consumed=True, status=status)
    if status == ReportStatus.NOT_FOUND:
        return DeliveryOutcome(OutcomeKind.CANCEL, reason, status=status)
    if status <= 0x00FF:
        return DeliveryOutcome(OutcomeKind.DELIVERED, reason, status=status)
    if 0x0500 <= status <= 0x05FF:
        return DeliveryOutcome(OutcomeKind.RETRY, reason, status=status)
    return DeliveryOutcome(OutcomeKind.FAILED, reason, status=status)


# Outcomes are frozen, and a status always gives an equal one: one of each status
# seen serves every event answered with it.  By value and type, so that the
# outcome keeps the very status given (an int, or a ReportStatus).
_OUTCOMES: dict[Tuple[int, type], DeliveryOutcome] = {}


def _outcomesForStatuses(statuses: Sequence[int]) -> List[DeliveryOutcome]:
    """
    C{[_outcomeForStatus(status) for status in statuses]}, made of one outcome
    for each status: for an answer where every report has one status (all
    consumed, as a rule), that is one lookup, not one per event.
    """
    outcomes = _OUTCOMES
    if len(outcomes) > 256:
        outcomes.clear()  # a listener sending every status there is
    if statuses and statuses.count(statuses[0]) == len(statuses):
        first = statuses[0]
        if len(set(map(type, statuses))) == 1:
            key = (first, type(first))
            outcome = outcomes.get(key)
            if outcome is None:
                outcome = outcomes[key] = _outcomeForStatus(first)
            return [outcome] * len(statuses)
    found: List[DeliveryOutcome] = []
    for status in statuses:
        key = (status, type(status))
        outcome = outcomes.get(key)
        if outcome is None:
            outcome = outcomes[key] = _outcomeForStatus(status)
        found.append(outcome)
    return found


@implementer(IAgentEndpointFactory)
class _Endpoints:
    """
    The endpoints of C{Agent}'s own (TCP for C{http}, TLS over TCP for
    C{https}, with the policy's connection creator for the host and port), made
    once for each scheme, host and port instead of for every request: a
    request on a connection of the pool does not use one, and making one
    checks the host name (IDNA) and, for C{https}, asks the policy again.

    @ivar _reactor: where they connect.
    @ivar _policy: the C{IPolicyForHTTPS}.
    @ivar _connectTimeout: seconds to establish a connection.
    """

    def __init__(
        self, reactor: Any, policy: IPolicyForHTTPS, connectTimeout: float
    ) -> None:
        self._reactor = reactor
        self._policy = policy
        self._connectTimeout = connectTimeout
        self._made: dict[Tuple[bytes, bytes, int], IStreamClientEndpoint] = {}

    def endpointForURI(self, uri: URI) -> IStreamClientEndpoint:
        """
        @param uri: where a request goes.
        @return: the endpoint for its scheme, host and port.
        @raise SchemeNotSupported: for a scheme other than http and https.
        """
        key = (uri.scheme, uri.host, uri.port)
        endpoint = self._made.get(key)
        if endpoint is None:
            endpoint = self._make(uri)
            if len(self._made) >= 1024:
                self._made.clear()
            self._made[key] = endpoint
        return endpoint

    def _make(self, uri: URI) -> IStreamClientEndpoint:
        try:
            host = uri.host.decode("ascii")
        except UnicodeDecodeError:
            raise ValueError(
                f"The host of the provided URI ({uri.host!r}) contains non-ASCII "
                "octets, it should be ASCII decodable."
            ) from None
        endpoint = HostnameEndpoint(
            self._reactor, host, uri.port, timeout=self._connectTimeout
        )
        if uri.scheme == b"http":
            return endpoint
        if uri.scheme == b"https":
            creator = self._policy.creatorForNetloc(uri.host, uri.port)
            return wrapClientTLS(creator, endpoint)
        raise SchemeNotSupported(f"Unsupported scheme: {uri.scheme!r}")


@implementer(IEncodedDeliveryMethod)
class HttpDeliveryMethod:
    """
    Delivers events over HTTP/1.1 (and HTTPS) with C{twisted.web.client.Agent}.

    @param reactor: the reactor (connections and timers).
    @param tlsPolicy: an C{IPolicyForHTTPS} (see L{ipp_ntfy.tls.ClientTLSPolicy});
        Twisted's default verifies certificates and host names against the
        platform's trust roots.
    @param pool: the connection pool; by default a persistent one.
    @param connectTimeout: seconds to establish a connection.
    @param requestTimeout: seconds for the whole exchange, connection included.
    @param maxResponseBytes: the largest answer read.
    @param maxEventsPerRequest: longer lists are sent as several requests, in
        order; once one is not delivered, the rest wait for the next attempt.
    """

    log = Logger()

    def __init__(
        self,
        reactor: Any,
        *,
        tlsPolicy: Optional[IPolicyForHTTPS] = None,
        pool: Optional[HTTPConnectionPool] = None,
        connectTimeout: float = 10.0,
        requestTimeout: float = 30.0,
        maxResponseBytes: int = 1024 * 1024,
        maxEventsPerRequest: int = 100,
        userAgent: bytes = b"ipp_ntfy/" + __version__.encode("ascii"),
    ) -> None:
        self.reactor = reactor
        self.clock = cast(IReactorTime, reactor)
        if pool is None:
            pool = HTTPConnectionPool(reactor, persistent=True)
            # As many idle connections as the dispatcher's requests under way
            # (its maxInFlight): with fewer, every request beyond them opens a
            # connection and closes it after one exchange.
            pool.maxPersistentPerHost = 20
            pool.cachedConnectionTimeout = 60
            pool.retryAutomatically = False
        self.pool = pool
        self.agent = Agent.usingEndpointFactory(
            reactor,
            _Endpoints(
                reactor,
                BrowserLikePolicyForHTTPS() if tlsPolicy is None else tlsPolicy,
                connectTimeout,
            ),
            pool=pool,
        )
        self.requestTimeout = requestTimeout
        self.maxResponseBytes = maxResponseBytes
        self.maxEventsPerRequest = maxEventsPerRequest
        self.userAgent = userAgent
        self._requestIds: Iterator[int] = itertools.count(1)

    def deliver(
        self, recipientUri: str, events: Sequence[Event]
    ) -> Deferred[List[DeliveryOutcome]]:
        """
        Send C{events}, in order, to C{recipientUri}.

        @return: one outcome per event; never fails.
        """
        return self.deliverEncoded(recipientUri, events)

    def deliverEncoded(
        self, recipientUri: str, events: Sequence[Event | EncodedEvent]
    ) -> Deferred[List[DeliveryOutcome]]:
        """
        Send C{events}, in order, to C{recipientUri}: L{Event}s, or
        L{EncodedEvent}s, which are not encoded again (L{encodeReport}).

        @return: one outcome per event; never fails.
        """
        events = list(events)
        try:
            url, dialect = httpTarget(recipientUri)
        except RecipientError as e:
            return succeed(
                [DeliveryOutcome(OutcomeKind.FAILED, str(e)) for _ in events]
            )
        batches = [
            events[start : start + self.maxEventsPerRequest]
            for start in range(0, len(events), self.maxEventsPerRequest)
        ]
        outcomes: List[DeliveryOutcome] = []
        done: Deferred[List[DeliveryOutcome]] = Deferred()

        def nextBatch(_: object = None) -> None:
            if not batches:
                done.callback(outcomes)
                return
            batch = batches.pop(0)
            if outcomes and not all(o.delivered for o in outcomes):
                # Keep order: what follows an undelivered event waits for it.
                outcomes.extend(
                    DeliveryOutcome(
                        OutcomeKind.RETRY, "an earlier event was not delivered"
                    )
                    for _ in batch
                )
                nextBatch()
                return
            d = self._post(recipientUri, url, dialect, batch)
            d.addCallback(outcomes.extend)
            d.addCallback(nextBatch)

        nextBatch()
        return done

    def _post(
        self,
        recipientUri: str,
        url: str,
        dialect: str,
        events: List[Event | EncodedEvent],
    ) -> Deferred[List[DeliveryOutcome]]:
        requestId = next(self._requestIds)
        try:
            body = encodeReport(events, recipientUri, requestId, dialect)
        except Exception as e:
            self.log.failure(
                "cannot build a report for {recipient}", recipient=recipientUri
            )
            return succeed(
                [DeliveryOutcome(OutcomeKind.FAILED, f"cannot build report: {e}")]
                * len(events)
            )
        headers = Headers(
            {
                b"content-type": [b"application/ipp"],
                b"user-agent": [self.userAgent],
                b"accept": [b"application/ipp"],
            }
        )
        started = self.clock.seconds()
        d: Deferred[Any] = self.agent.request(
            b"POST", url.encode("ascii"), headers, BytesProducer(body)
        )
        d.addCallback(self._response, len(events), requestId)
        d.addTimeout(self.requestTimeout, self.clock, onTimeoutCancel=_timedOut)
        d.addErrback(self._failed, len(events))

        def logged(outcomes: List[DeliveryOutcome]) -> List[DeliveryOutcome]:
            if (
                outcomes
                and outcomes[0].delivered
                and outcomes.count(outcomes[0]) == len(outcomes)
            ):
                # All delivered, with one outcome (as a rule): no log event here
                # (one costs as much as the rest of a request's work in this
                # thread); the dispatcher logs what its requests delivered, at
                # debug level, once a round.
                return outcomes
            delivered = sum(1 for o in outcomes if o.delivered)
            if delivered == len(outcomes):
                return outcomes
            problem = "".join(f": {o.reason}" for o in outcomes if not o.delivered)
            self.log.info(
                "delivered {delivered} of {count} events to {recipient} "
                "in {elapsed:.3f} s{problem}",
                delivered=delivered,
                count=len(outcomes),
                recipient=recipientUri,
                elapsed=self.clock.seconds() - started,
                problem=problem[:200],
            )
            return outcomes

        return d.addCallback(logged)

    def _response(
        self, response: IResponse, count: int, requestId: int
    ) -> Deferred[List[DeliveryOutcome]] | List[DeliveryOutcome]:
        code = response.code
        if code != 200:
            discardBody(response)
            return [self._httpOutcome(response)] * count
        contentType = response.headers.getRawHeaders(b"content-type") or [b""]
        if contentType[0].split(b";")[0].strip().lower() != b"application/ipp":
            discardBody(response)
            return [
                DeliveryOutcome(
                    OutcomeKind.FAILED,
                    "HTTP 200 but not application/ipp: "
                    + contentType[0].decode("latin-1"),
                )
            ] * count
        d = readBounded(response, self.maxResponseBytes)
        return d.addCallback(self._answer, count, requestId)

    def _answer(self, body: bytes, count: int, requestId: int) -> List[DeliveryOutcome]:
        try:
            message = decode(body, lenient=True)
            answer = parseResponse(message, count, requestId)
        except (IppDecodeError, NotificationError) as e:
            return [
                DeliveryOutcome(OutcomeKind.FAILED, f"unreadable IPP response: {e}")
            ] * count
        return _outcomesForStatuses(answer.perReport)

    def _httpOutcome(self, response: IResponse) -> DeliveryOutcome:
        code = response.code
        reason = f"HTTP {code} {response.phrase.decode('latin-1')}"
        if code in (404, 410):
            return DeliveryOutcome(OutcomeKind.CANCEL, reason)
        if code in (408, 429) or code >= 500:
            after = retryAfter(
                (response.headers.getRawHeaders(b"retry-after") or [None])[0],
                self.clock.seconds(),
            )
            return DeliveryOutcome(OutcomeKind.RETRY, reason, retryAfter=after)
        return DeliveryOutcome(OutcomeKind.FAILED, reason)

    def _failed(self, failure: Failure, count: int) -> List[DeliveryOutcome]:
        if failure.check(DeliveryTimeoutError):
            reason = f"no answer within {self.requestTimeout:g} s"
        elif failure.check(ResponseTooLargeError):
            return [DeliveryOutcome(OutcomeKind.FAILED, str(failure.value))] * count
        else:
            # Refused, unreachable, reset, TLS verification: all may pass.
            reason = describeFailure(failure)
        return [DeliveryOutcome(OutcomeKind.RETRY, reason)] * count
