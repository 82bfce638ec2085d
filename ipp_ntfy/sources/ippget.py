"""
The ippget poller: a relay source that subscribes to an upstream printer or CUPS
queue with the 'ippget' pull method (RFC 3995, RFC 3996), fetches its events
with Get-Notifications, and publishes them on a printer object of the relay::

    poller = UpstreamPoller(
        "ipp://cups.example:631/printers/q",     # the upstream
        "ipp://relay.example:8631/ipp/printers/q",  # the relay's printer object
        manager, store, reactor)
    poller.setServiceParent(relay)

One upstream subscription serves every application subscription of the local
printer object: the manager fans each event out (L{SubscriptionManager.publish
<ipp_ntfy.manager.SubscriptionManager.publish>}).

Rules
=====

B{Subscribing.}  On start the poller reads its cursor from the store (named
C{ippget:<upstream URI>}, see L{Cursor}).  Without one it sends
Create-Printer-Subscriptions with C{notify-pull-method=ippget}, C{notify-events},
C{notify-lease-duration}, C{notify-user-data} and C{requesting-user-name}, and
stores the cursor.  With one, it first renews the subscription
(Renew-Subscription), which also proves that the upstream still has it.

B{Polling.}  Get-Notifications names the subscription, C{notify-wait=true} and
C{notify-sequence-numbers}.  Servers disagree on that last one: RFC 3996 and
cupsd return the events with a sequence number I{at least} the one given,
ippserver those I{above} it.  The poller asks for the last sequence number it
has seen: an inclusive server then sends that event again, which is dropped as
a duplicate, and from then on the poller knows the server is inclusive and asks
for last + 1.  (With nothing seen yet, it sends no sequence number, which both
kinds read as "everything".)  After an answer:
    - if it brought new events, the next poll goes out at once;
    - if it has C{notify-get-interval} (cupsd: always, 60 s, since it ignores
      C{notify-wait}), the poller waits C{min(notify-get-interval,
      pollInterval)}.  RFC 3996 asks the client to wait the full interval, but
      a relay exists to deliver promptly, cupsd answers a poll at once for next
      to nothing, and it keeps 100 events per subscription, so C{pollInterval}
      (2 s by default) is what decides; set it to 60 or more to follow the
      upstream's interval exactly;
    - without C{notify-get-interval} the upstream held the request until it had
      events or its own wait ran out (a long poll, as ippserver does for about
      30 s), so the next poll goes out at once.
Polls start at least C{minInterval} seconds apart unless events came, so an
upstream that answers at once without an interval cannot make the poller spin.
C{requestTimeout} must be longer than the upstream's long-poll wait.

B{Publishing.}  Each event group becomes an L{Event} (L{Event.fromGroup}) with
C{source} = the upstream URI and C{printerUri} = the local printer URI; the
upstream's event keyword, job id, states, reasons, up-time, text and every
other attribute are kept, and so are its subscription id and sequence number
in the stored event (the relay gives each application subscription its own
when it delivers).  Events go to the
manager one at a time in sequence order, and the cursor advances (and is
stored) only once the manager has stored the event: after a crash the poller
fetches again what it may not have published (at-least-once), and drops what
it has (sequence number at or below the cursor).

B{Gaps.}  When the next event's sequence number is not the last one + 1
(the upstream dropped events from its cache before they were fetched), the
poller publishes an L{EVENTS_LOST} event first, saying how many were lost.  It
publishes one too when it has to re-create the subscription (the count is then
unknown): whatever happened upstream in between is lost.

B{Keeping the subscription.}  Renew-Subscription at half the granted lease (the
lease asked for if the upstream does not say; none for a lease of 0).  The
subscription is re-created (with an L{EVENTS_LOST} event) when the upstream
answers C{client-error-not-found} (the lease ran out, someone cancelled it, or
the server restarted without it) or C{successful-ok-events-complete}, and when
the upstream restarted: its C{printer-up-time} went backwards (the old
subscription is cancelled first, quietly: sequence numbers that start again
would look like duplicates).  An upstream that cannot be reached (refused,
reset, timeout) or refuses a request is retried with capped, jittered
exponential backoff (L{ipp_ntfy.retry.backoffPolicy}), and logged; once it
answers again the poller renews before polling, which tells whether the
subscription survived.  cupsd keeps its subscriptions and their sequence
numbers across a restart, so the poller then simply goes on, and the gap check
reports any event lost in between exactly; re-creating would lose the events
it kept for us during a mere network failure.  (cupsd 2.4.2 does not keep the
events themselves: the one it numbers while shutting down can never be
fetched, so each cupsd restart shows up as one lost event.)

Time comes only from the injected reactor, randomness (the backoff jitter) only
from the injected C{jitter}.
"""

from __future__ import annotations

import dataclasses
import datetime
import random
from typing import Any, Callable, Generator, List, Optional, Sequence, Tuple, cast

from twisted.application.service import Service
from twisted.internet.defer import (
    CancelledError,
    Deferred,
    inlineCallbacks,
    succeed,
)
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import deferLater
from twisted.logger import Logger
from twisted.web.iweb import IPolicyForHTTPS

from ..interfaces import IRelayObserver, ISubscriptionStore
from ..ipp import Attribute, Group, GroupTag, Message
from ..ipp.registry import statusName
from ..ippclient import (
    IPP_VERSION,
    IppClient,
    IppClientError,
    IppRequester,
    IppTransportError,
    isSuccessful,
    operationGroup,
)
from ..manager import SubscriptionManager
from ..notification import Event, NotificationError
from ..retry import backoffPolicy

__all__ = [
    "EVENTS_LOST",
    "LOST_EVENTS_ATTRIBUTE",
    "Cursor",
    "UpstreamError",
    "UpstreamPoller",
    "createSubscriptionRequest",
    "renewSubscriptionRequest",
    "cancelSubscriptionRequest",
    "getNotificationsRequest",
    "getSubscriptionsRequest",
    "readCreateResponse",
    "readLease",
    "cursorName",
]

#: The event keyword of the event that reports lost upstream events.  It is a
#: printer event of no RFC 3995 group, so subscriptions to C{all} receive it
#: (L{ipp_ntfy.subscription.covers}), and so does one that names it, if the
#: relay's policy accepts the keyword; C{printer-changed} or
#: C{printer-state-changed} do not.  Its C{notify-text} says how many events
#: were lost (or that an unknown number may have been), and L{LOST_EVENTS_ATTRIBUTE}
#: holds the count when it is known.  Its subscription id and sequence number
#: (before the relay's own replace them) are the upstream subscription's and the
#: first lost sequence number (0 when unknown).
EVENTS_LOST = "ipp-ntfy-events-lost"

#: C{integer}: how many events were lost, in an L{EVENTS_LOST} event whose count
#: is known.
LOST_EVENTS_ATTRIBUTE = "ipp-ntfy-lost-events"

# Operation ids (RFC 3995 section 7.1, RFC 3996 section 9.2).
CREATE_PRINTER_SUBSCRIPTIONS = 0x0016
GET_SUBSCRIPTIONS = 0x0019
RENEW_SUBSCRIPTION = 0x001A
CANCEL_SUBSCRIPTION = 0x001B
GET_NOTIFICATIONS = 0x001C

# Status codes acted upon.
SUCCESSFUL_OK_EVENTS_COMPLETE = 0x0007
CLIENT_ERROR_NOT_FOUND = 0x0406
SERVER_ERROR_BUSY = 0x0507

_INT32_MAX = 2**31 - 1
_UTC = datetime.timezone.utc


def cursorName(upstreamUri: str) -> str:
    """
    @return: the name of the store cursor of the poller of C{upstreamUri}.
    """
    return f"ippget:{upstreamUri}"


@dataclasses.dataclass(frozen=True)
class Cursor:
    """
    Where a poller is on its upstream, as kept in the store.

    Stored as C{"subscriptionId:lastSequence:upTime"}, e.g. C{"7:42:1717171717"};
    C{upTime} is empty when the upstream never sent one.

    @ivar subscriptionId: the upstream subscription.
    @ivar lastSequence: the sequence number of the last event published (or
        reported lost); 0 before the first.
    @ivar upTime: the upstream's C{printer-up-time} when it was last stored, to
        notice a restart (it goes backwards).
    """

    subscriptionId: int
    lastSequence: int = 0
    upTime: Optional[int] = None

    def format(self) -> str:
        """
        @return: the stored form.
        """
        upTime = "" if self.upTime is None else str(self.upTime)
        return f"{self.subscriptionId}:{self.lastSequence}:{upTime}"

    @classmethod
    def parse(cls, text: str) -> Cursor:
        """
        Read L{format}'s form.

        @raise ValueError: if C{text} is not one.
        """
        parts = text.split(":")
        if len(parts) != 3:
            raise ValueError(f"not a cursor: {text!r}")
        subscriptionId, lastSequence = int(parts[0]), int(parts[1])
        upTime = int(parts[2]) if parts[2] else None
        if not 1 <= subscriptionId <= _INT32_MAX or not 0 <= lastSequence:
            raise ValueError(f"not a cursor: {text!r}")
        return cls(subscriptionId, lastSequence, upTime)


class UpstreamError(Exception):
    """
    The upstream answered a request with an error, or with something that is not
    the answer the request needs.

    @ivar statusCode: the IPP status of the answer.
    @ivar reason: what went wrong, in words.
    """

    def __init__(self, statusCode: int, reason: str) -> None:
        super().__init__(statusCode, reason)
        self.statusCode = statusCode
        self.reason = reason

    def __str__(self) -> str:
        return f"{statusName(self.statusCode)}: {self.reason}"


# -- Requests and answers (no I/O) ---------------------------------------------------


def createSubscriptionRequest(
    printerUri: str,
    requestId: int,
    *,
    userName: str,
    events: Sequence[str],
    leaseDuration: int,
    userData: bytes = b"",
) -> Message:
    """
    Create-Printer-Subscriptions for one ippget subscription (RFC 3995 section
    11.1.2).
    """
    template = [
        Attribute.keyword("notify-pull-method", "ippget"),
        Attribute.keyword("notify-events", *events),
        Attribute.integer("notify-lease-duration", leaseDuration),
    ]
    if userData:
        template.append(Attribute.octetString("notify-user-data", userData))
    return Message(
        IPP_VERSION,
        CREATE_PRINTER_SUBSCRIPTIONS,
        requestId,
        [
            operationGroup(printerUri, userName),
            Group(GroupTag.SUBSCRIPTION, template),
        ],
    )


def renewSubscriptionRequest(
    printerUri: str,
    requestId: int,
    *,
    userName: str,
    subscriptionId: int,
    leaseDuration: int,
) -> Message:
    """
    Renew-Subscription (RFC 3995 section 11.2.6); C{notify-lease-duration} goes
    in a subscription group, where the RFC lists it and cupsd and GNOME put it.
    """
    return Message(
        IPP_VERSION,
        RENEW_SUBSCRIPTION,
        requestId,
        [
            operationGroup(
                printerUri,
                userName,
                Attribute.integer("notify-subscription-id", subscriptionId),
            ),
            Group(
                GroupTag.SUBSCRIPTION,
                [Attribute.integer("notify-lease-duration", leaseDuration)],
            ),
        ],
    )


def cancelSubscriptionRequest(
    printerUri: str, requestId: int, *, userName: str, subscriptionId: int
) -> Message:
    """
    Cancel-Subscription (RFC 3995 section 11.2.7).
    """
    return Message(
        IPP_VERSION,
        CANCEL_SUBSCRIPTION,
        requestId,
        [
            operationGroup(
                printerUri,
                userName,
                Attribute.integer("notify-subscription-id", subscriptionId),
            )
        ],
    )


def getNotificationsRequest(
    printerUri: str,
    requestId: int,
    *,
    userName: str,
    subscriptionId: int,
    sequenceNumber: Optional[int],
    wait: bool = True,
) -> Message:
    """
    Get-Notifications (RFC 3996 section 5.1) for one subscription.

    @param sequenceNumber: C{notify-sequence-numbers}, or C{None} to send none
        (all kept events).
    """
    attributes = [Attribute.integer("notify-subscription-ids", subscriptionId)]
    if sequenceNumber is not None:
        attributes.append(Attribute.integer("notify-sequence-numbers", sequenceNumber))
    attributes.append(Attribute.boolean("notify-wait", wait))
    return Message(
        IPP_VERSION,
        GET_NOTIFICATIONS,
        requestId,
        [operationGroup(printerUri, userName, *attributes)],
    )


def getSubscriptionsRequest(
    printerUri: str, requestId: int, *, userName: str, mine: bool = False
) -> Message:
    """
    Get-Subscriptions (RFC 3995 section 11.2.4) for every attribute of the
    printer's per-printer subscriptions (C{my-subscriptions} false: everyone's).
    """
    return Message(
        IPP_VERSION,
        GET_SUBSCRIPTIONS,
        requestId,
        [
            operationGroup(
                printerUri,
                userName,
                Attribute.keyword("requested-attributes", "all"),
                Attribute.boolean("my-subscriptions", mine),
            )
        ],
    )


def _integer(group: Optional[Group], name: str) -> Optional[int]:
    if group is None:
        return None
    value = group.value(name)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def _statusMessage(message: Message) -> str:
    text = message.operation.value("status-message")
    if isinstance(text, str):
        return text
    return getattr(text, "text", None) or statusName(message.statusCode)


def readCreateResponse(message: Message, requested: int) -> Tuple[int, int]:
    """
    Read the answer to L{createSubscriptionRequest}.

    @param requested: the lease asked for: the granted one when the upstream does
        not say (cupsd does not).
    @return: C{(subscriptionId, leaseDuration)}.
    @raise UpstreamError: if no subscription was created.
    """
    group = message.group(GroupTag.SUBSCRIPTION)
    subscriptionId = _integer(group, "notify-subscription-id")
    if not isSuccessful(message.statusCode) or subscriptionId is None:
        reason = _statusMessage(message)
        notifyStatus = _integer(group, "notify-status-code")
        if notifyStatus is not None:
            reason += f" (notify-status-code {statusName(notifyStatus)})"
        code = message.statusCode
        raise UpstreamError(code, f"no subscription created: {reason}")
    lease = _integer(group, "notify-lease-duration")
    return subscriptionId, requested if lease is None else lease


def readLease(message: Message, requested: int) -> int:
    """
    @return: the lease granted by a Renew-Subscription answer (C{requested} if
        it does not say).
    """
    for group in (message.group(GroupTag.SUBSCRIPTION), message.operation):
        lease = _integer(group, "notify-lease-duration")
        if lease is not None:
            return lease
    return requested


def _utcFromSeconds(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, tz=_UTC)


# -- The service ----------------------------------------------------------------------


class UpstreamPoller(Service):
    """
    Supervises one ippget subscription on an upstream printer and publishes its
    events on a local printer object; see the module documentation for the rules.

    @param upstreamUri: the upstream printer URI (C{ipp}, C{ipps}; C{http},
        C{https} too), e.g. C{ipp://cups:631/printers/q}.
    @param localPrinterUri: the relay's printer object the events are published
        on (their C{printerUri}).
    @param manager: the L{SubscriptionManager} that publishes.
    @param store: where the cursor is kept (L{ISubscriptionStore}).
    @param reactor: time, timers and connections.
    @param tlsPolicy: for an C{ipps} upstream (L{ipp_ntfy.tls.ClientTLSPolicy}).
    @param events: C{notify-events} of the upstream subscription.
    @param leaseDuration: C{notify-lease-duration} asked for, in seconds.
    @param requestTimeout: seconds for one request to the upstream, longer than
        its long-poll wait (ippserver: about 30 s).
    @param minInterval: the least time between two polls that brought no new
        event, and between two attempts while the upstream is unreachable.
    @param pollInterval: the longest wait between polls; see the module
        documentation for how it combines with C{notify-get-interval}.
    @param userName: C{requesting-user-name}, which the upstream records as the
        subscriber.
    @param userData: C{notify-user-data} of the subscription (at most 63 octets),
        which tells our subscription from others on the upstream.
    @param maxBackoff: the longest wait between attempts to reach the upstream.
    @param jitter: a callable returning a float in [0, 1) for the backoff
        jitter; by default a private C{random.Random}.
    @param backoff: an C{attempt -> delay} policy replacing the default
        C{backoffPolicy(1.0, 2.0, maxBackoff, jitter)}.
    @param client: the L{IppClient} (or another L{IppRequester}); by default
        one on C{reactor}, closed on stop (a given one is not).
    @param observer: an L{IRelayObserver} told of each event published and each
        failed request (the relay's metrics), or C{None}.

    @ivar cursor: the current L{Cursor}, or C{None} while there is no upstream
        subscription.
    @ivar published: how many upstream events were published since start.
    """

    log = Logger()

    def __init__(
        self,
        upstreamUri: str,
        localPrinterUri: str,
        manager: SubscriptionManager,
        store: ISubscriptionStore,
        reactor: Any,
        *,
        tlsPolicy: Optional[IPolicyForHTTPS] = None,
        events: Sequence[str] = ("all",),
        leaseDuration: int = 3600,
        requestTimeout: float = 90.0,
        minInterval: float = 1.0,
        pollInterval: float = 2.0,
        userName: str = "ipp-ntfy",
        userData: bytes = b"ipp-ntfy relay",
        maxBackoff: float = 60.0,
        jitter: Optional[Callable[[], float]] = None,
        backoff: Optional[Callable[[int], float]] = None,
        client: Optional[IppRequester] = None,
        observer: Optional[IRelayObserver] = None,
    ) -> None:
        if len(userData) > 63:
            raise ValueError("userData is at most 63 octets")
        if not events:
            raise ValueError("events must name at least one event")
        self.upstreamUri = upstreamUri
        self.localPrinterUri = localPrinterUri
        self.manager = manager
        self.store = store
        self.reactor = reactor
        self.clock = cast(IReactorTime, reactor)
        self.events = tuple(events)
        self.leaseDuration = leaseDuration
        self.requestTimeout = requestTimeout
        self.minInterval = minInterval
        self.pollInterval = pollInterval
        self.userName = userName
        self.userData = userData
        if backoff is None:
            backoff = backoffPolicy(
                initialDelay=1.0,
                factor=2.0,
                maxDelay=maxBackoff,
                jitter=jitter or random.Random().random,
            )
        self.backoff = backoff
        self._ownClient = client is None
        self.client: IppRequester = client or IppClient(
            reactor, tlsPolicy=tlsPolicy, requestTimeout=requestTimeout
        )
        self.cursorName = cursorName(upstreamUri)
        self.observer = observer
        self.cursor: Optional[Cursor] = None
        self.published = 0
        # The upstream's printer-up-time as last seen (stored only with events).
        self._upTime: Optional[int] = None
        # Why the previous subscription was lost, for the events-lost report
        # once a new one exists; None when nothing was lost.
        self._lost: Optional[str] = None
        self._loaded = False
        self._renewAt: Optional[float] = None
        self._lease = leaseDuration
        # Whether notify-sequence-numbers is inclusive here; None until known.
        self._inclusive: Optional[bool] = None
        self._failures = 0
        self._pending: Optional[Deferred[Any]] = None
        self._loop: Optional[Deferred[None]] = None
        self._stopping = False

    # -- the service ------------------------------------------------------------

    def startService(self) -> None:
        super().startService()
        self._stopping = False
        self._loop = self._run()

    def stopService(self) -> Deferred[None]:
        """
        Stop polling: a request or wait under way is abandoned, an event being
        published is finished (and its cursor stored) first.

        @return: a Deferred that fires once nothing is under way any more.
        """
        super().stopService()
        self._stopping = True
        if self._pending is not None:
            self._pending.cancel()
        loop = self._loop if self._loop is not None else succeed(None)
        self._loop = None

        def closeClient(_: object) -> Deferred[None] | None:
            if self._ownClient:
                return self.client.close()
            return None

        return loop.addCallback(closeClient)

    # -- the loop ---------------------------------------------------------------

    @inlineCallbacks
    def _run(self) -> Generator[Deferred[Any], Any, None]:
        """
        Load the cursor, then take steps until stopped; a failed step is retried
        after a backoff delay.  Never fails.
        """
        try:
            while not self._stopping:
                try:
                    delay = yield self._step()
                except CancelledError:
                    if self._stopping:
                        break
                    delay = self._failed("the request was cancelled", transport=True)
                except IppTransportError as e:
                    delay = self._failed(e.reason, transport=True)
                except (IppClientError, UpstreamError) as e:
                    delay = self._failed(str(e), transport=False)
                except Exception:
                    self.log.failure(
                        "polling {upstream} failed", upstream=self.upstreamUri
                    )
                    delay = self._failed("unexpected error", transport=False)
                else:
                    if self._failures:
                        self.log.info(
                            "upstream {upstream} answers again after {failures} "
                            "failed attempts",
                            upstream=self.upstreamUri,
                            failures=self._failures,
                        )
                        self._failures = 0
                if self._stopping:
                    break
                if delay > 0:
                    try:
                        yield self._wait(self._sleep(delay))
                    except CancelledError:
                        break
        except CancelledError:
            pass
        except Exception:
            self.log.failure(
                "the poller of {upstream} stopped", upstream=self.upstreamUri
            )

    @inlineCallbacks
    def _loadCursor(self) -> Generator[Deferred[Any], Any, None]:
        text = yield self.store.getCursor(self.cursorName)
        if text is None:
            return
        try:
            self.cursor = Cursor.parse(text)
        except ValueError:
            self.log.warn(
                "ignoring the unreadable cursor {cursor!r} of {upstream}",
                cursor=text,
                upstream=self.upstreamUri,
            )
            return
        self._upTime = self.cursor.upTime
        # Renew first: that refreshes the lease, which may have run for a while,
        # and finds out whether the upstream still has the subscription.
        self._renewAt = self.clock.seconds()
        self.log.info(
            "resuming subscription {subscriptionId} on {upstream} after sequence "
            "number {sequence}",
            subscriptionId=self.cursor.subscriptionId,
            upstream=self.upstreamUri,
            sequence=self.cursor.lastSequence,
        )

    def _failed(self, reason: str, transport: bool) -> float:
        """
        Count a failed step and choose the wait before the next.
        """
        delay = max(self.minInterval, self.backoff(self._failures))
        self._failures += 1
        if self.observer is not None:
            self.observer.upstreamPollFailed(self.upstreamUri)
        self.log.warn(
            "upstream {upstream}: {reason}; trying again in {delay:.1f} s "
            "(attempt {attempt})",
            upstream=self.upstreamUri,
            reason=reason,
            delay=delay,
            attempt=self._failures,
        )
        if transport and self.cursor is not None:
            # Once it answers again, ask whether it still has our subscription.
            self._renewAt = self.clock.seconds()
        return delay

    def _sleep(self, delay: float) -> Deferred[None]:
        return deferLater(self.clock, delay, lambda: None)

    @inlineCallbacks
    def _wait(self, d: Deferred[Any]) -> Generator[Deferred[Any], Any, Any]:
        """
        Wait for C{d}, which L{stopService} cancels.
        """
        self._pending = d
        try:
            return (yield d)
        finally:
            self._pending = None

    def _request(self, message: Message) -> Deferred[Message]:
        return cast(
            Deferred[Message],
            self._wait(
                self.client.request(self.upstreamUri, message, self.requestTimeout)
            ),
        )

    @inlineCallbacks
    def _step(self) -> Generator[Deferred[Any], Any, float]:
        """
        One thing to do: read the cursor, subscribe, renew or poll.

        @return: seconds to wait before the next step.
        """
        if not self._loaded:
            yield self._loadCursor()
            self._loaded = True
            return 0.0
        if self.cursor is None:
            yield self._subscribe()
            return 0.0
        if self._renewAt is not None and self.clock.seconds() >= self._renewAt:
            yield self._renew()
            return 0.0
        delay = yield self._poll()
        if self._renewAt is not None:
            delay = min(delay, max(0.0, self._renewAt - self.clock.seconds()))
        return cast(float, delay)

    # -- subscribing ------------------------------------------------------------

    @inlineCallbacks
    def _subscribe(self) -> Generator[Deferred[Any], Any, None]:
        request = createSubscriptionRequest(
            self.upstreamUri,
            self.client.nextRequestId(),
            userName=self.userName,
            events=self.events,
            leaseDuration=self.leaseDuration,
            userData=self.userData,
        )
        response = yield self._request(request)
        subscriptionId, lease = readCreateResponse(response, self.leaseDuration)
        upTime = _integer(response.operation, "printer-up-time")
        if upTime is not None:
            self._upTime = upTime
        self.log.info(
            "subscribed to {upstream}: subscription {subscriptionId}, lease "
            "{lease} s, events {events}",
            upstream=self.upstreamUri,
            subscriptionId=subscriptionId,
            lease=lease,
            events=",".join(self.events),
        )
        cursor = Cursor(subscriptionId, 0, self._upTime)
        if self._lost is not None:
            yield self._publishLost(cursor, None, self._lost)
            self._lost = None
        self.cursor = cursor
        yield self._saveCursor()
        self._leaseGranted(lease)

    def _leaseGranted(self, lease: int) -> None:
        self._lease = lease
        if lease > 0:
            self._renewAt = self.clock.seconds() + lease / 2
        else:
            self._renewAt = None

    @inlineCallbacks
    def _renew(self) -> Generator[Deferred[Any], Any, None]:
        assert self.cursor is not None
        request = renewSubscriptionRequest(
            self.upstreamUri,
            self.client.nextRequestId(),
            userName=self.userName,
            subscriptionId=self.cursor.subscriptionId,
            leaseDuration=self.leaseDuration,
        )
        response = yield self._request(request)
        status = response.statusCode
        if status in (CLIENT_ERROR_NOT_FOUND, SUCCESSFUL_OK_EVENTS_COMPLETE):
            self._lose(f"Renew-Subscription answered {statusName(status)}")
            return
        if not isSuccessful(status):
            # The subscription may live on (an upstream without Renew): keep
            # polling, and try again after a while; should the lease end, the
            # next poll says not-found and the subscription is re-created.
            retry = max(self.minInterval, self._lease / 10 if self._lease else 60.0)
            self._renewAt = self.clock.seconds() + retry
            self.log.warn(
                "upstream {upstream} did not renew subscription {subscriptionId}: "
                "{status} ({reason}); trying again in {delay:.0f} s",
                upstream=self.upstreamUri,
                subscriptionId=self.cursor.subscriptionId,
                status=statusName(status),
                reason=_statusMessage(response),
                delay=retry,
            )
            return
        lease = readLease(response, self.leaseDuration)
        self.log.debug(
            "renewed subscription {subscriptionId} on {upstream} for {lease} s",
            subscriptionId=self.cursor.subscriptionId,
            upstream=self.upstreamUri,
            lease=lease,
        )
        self._leaseGranted(lease)

    def _lose(self, reason: str) -> None:
        """
        Forget the upstream subscription: the next step creates another, and
        reports that events may have been lost.
        """
        assert self.cursor is not None
        self.log.warn(
            "lost subscription {subscriptionId} on {upstream} after sequence "
            "number {sequence}: {reason}; subscribing again",
            subscriptionId=self.cursor.subscriptionId,
            upstream=self.upstreamUri,
            sequence=self.cursor.lastSequence,
            reason=reason,
        )
        self._lost = (
            f"upstream subscription {self.cursor.subscriptionId} was lost after "
            f"sequence number {self.cursor.lastSequence} ({reason})"
        )
        self.cursor = None
        self._renewAt = None

    @inlineCallbacks
    def _cancelQuietly(
        self, subscriptionId: int
    ) -> Generator[Deferred[Any], Any, None]:
        request = cancelSubscriptionRequest(
            self.upstreamUri,
            self.client.nextRequestId(),
            userName=self.userName,
            subscriptionId=subscriptionId,
        )
        try:
            yield self._request(request)
        except (IppClientError, UpstreamError) as e:
            self.log.debug(
                "cancelling subscription {subscriptionId} on {upstream}: {error}",
                subscriptionId=subscriptionId,
                upstream=self.upstreamUri,
                error=e,
            )

    # -- polling ----------------------------------------------------------------

    @inlineCallbacks
    def _poll(self) -> Generator[Deferred[Any], Any, float]:
        cursor = self.cursor
        assert cursor is not None
        last = cursor.lastSequence
        if last == 0:
            asked: Optional[int] = None
        elif self._inclusive:
            asked = last + 1
        else:
            asked = last
        request = getNotificationsRequest(
            self.upstreamUri,
            self.client.nextRequestId(),
            userName=self.userName,
            subscriptionId=cursor.subscriptionId,
            sequenceNumber=asked,
            wait=True,
        )
        started = self.clock.seconds()
        response = yield self._request(request)
        status = response.statusCode
        operation = response.operation
        upTime = _integer(operation, "printer-up-time")
        if upTime is not None:
            previous = self._upTime
            self._upTime = upTime
            if previous is not None and upTime < previous:
                yield self._cancelQuietly(cursor.subscriptionId)
                self._lose(
                    f"the upstream restarted (printer-up-time went from "
                    f"{previous} to {upTime})"
                )
                return 0.0
        if status == CLIENT_ERROR_NOT_FOUND:
            self._lose("Get-Notifications answered client-error-not-found")
            return 0.0
        interval = _integer(operation, "notify-get-interval")
        if not isSuccessful(status):
            if status == SERVER_ERROR_BUSY and interval is not None:
                self.log.info(
                    "upstream {upstream} is busy; polling again in {interval} s",
                    upstream=self.upstreamUri,
                    interval=interval,
                )
                return float(max(self.minInterval, interval))
            raise UpstreamError(
                status, f"Get-Notifications: {_statusMessage(response)}"
            )
        groups = self._eventGroups(response, cursor.subscriptionId)
        if asked is not None and asked == last and not self._inclusive:
            if any(sequence == last for sequence, _ in groups):
                self._inclusive = True
        new = yield self._publishAll(groups)
        if status == SUCCESSFUL_OK_EVENTS_COMPLETE:
            self._lose("the upstream ended the subscription (events complete)")
            return 0.0
        if new:
            return 0.0
        if interval is not None:
            return float(max(self.minInterval, min(interval, self.pollInterval)))
        # A long poll came back empty: go again, but not in a tight loop.
        return max(0.0, self.minInterval - (self.clock.seconds() - started))

    def _eventGroups(
        self, response: Message, subscriptionId: int
    ) -> List[Tuple[int, Group]]:
        """
        @return: the event groups of our subscription with their sequence
            numbers, in sequence order.
        """
        groups = []
        for group in response.groupsOf(GroupTag.EVENT_NOTIFICATION):
            sequence = _integer(group, "notify-sequence-number")
            owner = _integer(group, "notify-subscription-id")
            if sequence is None or (owner is not None and owner != subscriptionId):
                self.log.debug(
                    "ignoring an event group of {upstream} without our "
                    "subscription id or a sequence number",
                    upstream=self.upstreamUri,
                )
                continue
            groups.append((sequence, group))
        groups.sort(key=lambda pair: pair[0])
        return groups

    @inlineCallbacks
    def _publishAll(
        self, groups: List[Tuple[int, Group]]
    ) -> Generator[Deferred[Any], Any, int]:
        """
        Publish the new events, in order, each followed by its cursor.

        @return: how many were new.
        """
        new = 0
        for sequence, group in groups:
            cursor = self.cursor
            if self._stopping or cursor is None:
                break
            if sequence <= cursor.lastSequence:
                continue
            new += 1
            expected = cursor.lastSequence + 1
            if sequence > expected:
                lost = sequence - expected
                yield self._publishLost(
                    cursor,
                    lost,
                    f"{lost} events of upstream subscription "
                    f"{cursor.subscriptionId} (sequence numbers {expected} to "
                    f"{sequence - 1}) were dropped by the upstream before they "
                    f"were fetched",
                )
                self.cursor = dataclasses.replace(cursor, lastSequence=sequence - 1)
                yield self._saveCursor()
            try:
                event = Event.fromGroup(
                    group,
                    source=self.upstreamUri,
                    receivedAt=_utcFromSeconds(self.clock.seconds()),
                )
                event = dataclasses.replace(event, printerUri=self.localPrinterUri)
            except NotificationError as e:
                self.log.error(
                    "dropping unreadable event {sequence} of {upstream}: {error}",
                    sequence=sequence,
                    upstream=self.upstreamUri,
                    error=e,
                )
            else:
                yield self.manager.publish(event)
                self.published += 1
                if self.observer is not None:
                    self.observer.eventsReceived(event.source, 1)
                self.log.debug(
                    "published {event} ({sequence}) of {upstream} on {printerUri}",
                    event=event.event,
                    sequence=sequence,
                    upstream=self.upstreamUri,
                    printerUri=self.localPrinterUri,
                )
            assert self.cursor is not None
            self.cursor = dataclasses.replace(
                self.cursor, lastSequence=sequence, upTime=self._upTime
            )
            yield self._saveCursor()
        return new

    @inlineCallbacks
    def _publishLost(
        self, cursor: Cursor, count: Optional[int], why: str
    ) -> Generator[Deferred[Any], Any, None]:
        """
        Publish an L{EVENTS_LOST} event on the local printer.

        @param cursor: the subscription the loss is reported on.
        @param count: how many events were lost, or C{None} if unknown.
        @param why: the text of the report.
        """
        extra: List[Attribute] = []
        if count is not None:
            extra.append(Attribute.integer(LOST_EVENTS_ATTRIBUTE, count))
            text = f"Events lost: {why}."
        else:
            text = f"Events may have been lost: {why}."
        event = Event(
            source=self.upstreamUri,
            subscriptionId=cursor.subscriptionId,
            sequenceNumber=0 if count is None else cursor.lastSequence + 1,
            event=EVENTS_LOST,
            printerUri=self.localPrinterUri,
            printerUpTime=self._upTime,
            receivedAt=_utcFromSeconds(self.clock.seconds()),
            text=text,
            attributes=Group(GroupTag.EVENT_NOTIFICATION, extra),
        )
        self.log.warn(
            "{upstream}: {text}", upstream=self.upstreamUri, text=text, lost=count
        )
        yield self.manager.publish(event)

    def _saveCursor(self) -> Deferred[None]:
        assert self.cursor is not None
        return self.store.setCursor(self.cursorName, self.cursor.format())
