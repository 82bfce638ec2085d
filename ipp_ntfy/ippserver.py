"""
The relay's IPP server: a C{twisted.web} resource that serves RFC 3995
subscriptions and RFC 3996 C{ippget} Get-Notifications for the relay's printer
objects, on top of a L{SubscriptionManager}::

    server = IppServer(manager, PrinterRegistry(["lobby"]),
                       baseUri="ipp://relay.example:8631/ipp", clock=reactor)
    root.putChild(b"ipp", server)

Objects, by HTTP path below the mount point (the path decides the target; the
C{printer-uri} operation attribute must be there but is not compared with it,
as RFC 8010 section 4.1 allows):

    - C{/ipp/printers/<name>}: a printer object, one per name in the registry
      (an upstream queue or a C{--printer NAME}).  Operations:
      Get-Printer-Attributes, Create-Printer-Subscriptions,
      Create-Job-Subscriptions, Get-Subscription-Attributes, Get-Subscriptions,
      Renew-Subscription, Cancel-Subscription, Get-Notifications.
    - C{/ipp/} (or C{/ipp}): the system object, for clients that follow
      subscriptions of several printers: Get-Subscriptions (of every printer),
      Get-Subscription-Attributes, Renew-Subscription, Cancel-Subscription and
      Get-Notifications, for any subscription.  Subscriptions are created on a
      printer object only (the relay has no server-wide events), so the
      Create-*-Subscriptions operations and Get-Printer-Attributes answer
      C{server-error-operation-not-supported} here.
    - Anything else: C{client-error-not-found}.

Choices where the RFCs leave one, or where the relay differs from a printer:

    - Subscriptions are filed under the printer object's own URI,
      C{<baseUri>/printers/<name>}, whatever host or scheme the client's
      C{printer-uri} names: that is the URI the relay publishes the printer's
      events on, so a subscription made through C{ipp://localhost/...} still
      gets the events published on C{ipp://relay.example/...}.  It is also the
      C{notify-printer-uri} the subscription reports.
    - A subscription belongs to its printer object: on
      C{/ipp/printers/a}, an id of a subscription of printer C{b} is
      C{client-error-not-found}, as it would be on two real printers.  The
      system object knows every subscription.
    - The relay has no jobs: they are upstream.  Create-Job-Subscriptions
      accepts any job id (from C{notify-job-id} in the operation group, or, as
      CUPS and ipptool send it, in the subscription template group) and never
      answers C{client-error-not-possible} for a completed job, since it cannot
      tell.  The subscription ends once its job's C{job-completed} event has
      been published and has lived its event life (L{SubscriptionManager}).
    - Get-Notifications answers one response per request: Event Wait Mode
      (C{notify-wait}) is a long poll, not a C{multipart/related} stream.  With
      events ready, or after an event is published for one of the
      subscriptions, or after C{maxWait} seconds, the response ends wait mode
      and so always carries C{notify-get-interval} (RFC 3996 section 5.2 case
      6), except with C{successful-ok-events-complete}.  A held request wakes
      when the manager of this process queues events
      (L{SubscriptionManager.onQueued}); events another process stores are
      seen when C{maxWait} ends.
    - C{successful-ok-events-complete} (0x0007) is answered when every
      requested subscription is a per-job one whose job has completed (its
      history holds an event of that job in state completed, aborted or
      canceled, or a C{job-completed} event), whether or not the client already
      fetched that event.
    - Get-Notifications refuses a push subscription (C{client-error-not-found},
      RFC 3996 section 5.1), unlike CUPS.
    - Each event group says C{printer-up-time} on the relay's clock (the time
      the relay received the event, as seconds since C{startedAt}), so that it
      compares with the response's C{printer-up-time} and with
      C{notify-lease-expiration-time}; C{printer-current-time} is added (from
      the same time) when the event has none, since the printer object
      supports it; and a job event gets C{job-id} (RFC 3995 Table 6) next to
      the C{notify-job-id} that CUPS sends.
    - Unsupported operation attributes are returned in the unsupported
      attributes group (0x05) with the out-of-band value C{unsupported}, and a
      C{successful-ok} becomes C{successful-ok-ignored-or-substituted-attributes}
      (RFC 8011 section 4.1.7).  Unknown C{requested-attributes} values are
      ignored.
    - Versions 1.1, 2.0, 2.1 and 2.2 are served.  Every response carries the
      request's version, that of a C{server-error-version-not-supported} answer
      included (ipptool checks that it does).
    - There is no authentication: C{requesting-user-name} (default
      C{anonymous}) is the subscriber user name and what C{my-subscriptions}
      compares with, and anyone may read, renew or cancel any subscription.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import (
    Any,
    Callable,
    Collection,
    Dict,
    FrozenSet,
    Iterable,
    Iterator,
    List,
    Optional,
    Sequence,
    Set,
    Tuple,
)
from urllib.parse import quote, unquote, urlsplit

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.web.error import UnsupportedMethod
from twisted.web.resource import IResource, Resource
from twisted.web.server import NOT_DONE_YET, Request
from zope.interface import implementer

from .ipp import (
    Attribute,
    DateTime,
    Group,
    GroupTag,
    IppDecodeError,
    Limits,
    Message,
    Range,
    ValueTag,
    decode,
    encode,
)
from .ipp.values import UNSUPPORTED
from .manager import SubscriptionManager
from .notification import Event
from .subscription import (
    MAX_INTEGER,
    Subscription,
    SubscriptionError,
    SubscriptionPolicy,
    TemplateResult,
    describe,
    grantLease,
    overallStatus,
    responseGroup,
    upTime,
)

# -- Numbers -------------------------------------------------------------------------

GET_PRINTER_ATTRIBUTES = 0x000B
CREATE_PRINTER_SUBSCRIPTIONS = 0x0016
CREATE_JOB_SUBSCRIPTIONS = 0x0017
GET_SUBSCRIPTION_ATTRIBUTES = 0x0018
GET_SUBSCRIPTIONS = 0x0019
RENEW_SUBSCRIPTION = 0x001A
CANCEL_SUBSCRIPTION = 0x001B
GET_NOTIFICATIONS = 0x001C

#: The operations of a printer object, as C{operations-supported} lists them.
PRINTER_OPERATIONS: Tuple[int, ...] = (
    GET_PRINTER_ATTRIBUTES,
    CREATE_PRINTER_SUBSCRIPTIONS,
    CREATE_JOB_SUBSCRIPTIONS,
    GET_SUBSCRIPTION_ATTRIBUTES,
    GET_SUBSCRIPTIONS,
    RENEW_SUBSCRIPTION,
    CANCEL_SUBSCRIPTION,
    GET_NOTIFICATIONS,
)

#: The operations of the system object C{/ipp/}.
SYSTEM_OPERATIONS: Tuple[int, ...] = (
    GET_SUBSCRIPTION_ATTRIBUTES,
    GET_SUBSCRIPTIONS,
    RENEW_SUBSCRIPTION,
    CANCEL_SUBSCRIPTION,
    GET_NOTIFICATIONS,
)

#: The IPP versions served (C{ipp-versions-supported}).
VERSIONS: Tuple[Tuple[int, int], ...] = ((1, 1), (2, 0), (2, 1), (2, 2))

SUCCESSFUL_OK = 0x0000
SUCCESSFUL_OK_IGNORED_OR_SUBSTITUTED = 0x0001
SUCCESSFUL_OK_EVENTS_COMPLETE = 0x0007
CLIENT_ERROR_BAD_REQUEST = 0x0400
CLIENT_ERROR_NOT_FOUND = 0x0406
CLIENT_ERROR_CHARSET_NOT_SUPPORTED = 0x040D
SERVER_ERROR_INTERNAL_ERROR = 0x0500
SERVER_ERROR_OPERATION_NOT_SUPPORTED = 0x0501
SERVER_ERROR_VERSION_NOT_SUPPORTED = 0x0503

#: The smallest C{ippget-event-life} RFC 3996 section 8.1 allows.
MIN_EVENT_LIFE = 15

#: The longest C{status-message} (text(255)).
_MAX_STATUS_MESSAGE = 255

#: job-state values of a job that is done: canceled, aborted, completed.
_COMPLETED_JOB_STATES = frozenset({7, 8, 9})

#: The printer's own language: every status-message is English.
NATURAL_LANGUAGE = "en"

#: Operation attributes every operation takes.
_COMMON_ATTRIBUTES = frozenset(
    {
        "attributes-charset",
        "attributes-natural-language",
        "printer-uri",
        "system-uri",
        "requesting-user-name",
        "requesting-user-uri",
    }
)

#: The further operation attributes each operation supports; any other is
#: returned in the unsupported attributes group.
_OPERATION_ATTRIBUTES: Dict[int, FrozenSet[str]] = {
    GET_PRINTER_ATTRIBUTES: frozenset({"requested-attributes", "document-format"}),
    CREATE_PRINTER_SUBSCRIPTIONS: frozenset(),
    CREATE_JOB_SUBSCRIPTIONS: frozenset({"notify-job-id"}),
    GET_SUBSCRIPTION_ATTRIBUTES: frozenset(
        {"notify-subscription-id", "requested-attributes"}
    ),
    GET_SUBSCRIPTIONS: frozenset(
        {"notify-job-id", "limit", "requested-attributes", "my-subscriptions"}
    ),
    RENEW_SUBSCRIPTION: frozenset({"notify-subscription-id", "notify-lease-duration"}),
    CANCEL_SUBSCRIPTION: frozenset({"notify-subscription-id"}),
    GET_NOTIFICATIONS: frozenset(
        {"notify-subscription-ids", "notify-sequence-numbers", "notify-wait"}
    ),
}

#: Event keywords in the order C{notify-events-supported} lists them (RFC 3995
#: section 5.3.3.4, then CUPS's).
_EVENT_ORDER: Tuple[str, ...] = (
    "printer-state-changed",
    "printer-restarted",
    "printer-shutdown",
    "printer-stopped",
    "printer-config-changed",
    "printer-media-changed",
    "printer-finishings-changed",
    "printer-queue-order-changed",
    "job-state-changed",
    "job-created",
    "job-completed",
    "job-stopped",
    "job-config-changed",
    "job-progress",
    "printer-added",
    "printer-deleted",
    "printer-modified",
    "printer-changed",
    "server-restarted",
    "server-started",
    "server-stopped",
    "server-audit",
)

#: The printer attributes that go with the subscription template attributes
#: (RFC 3995 Table 1): what C{requested-attributes=subscription-template} asks
#: for.
SUBSCRIPTION_TEMPLATE_PRINTER_ATTRIBUTES: FrozenSet[str] = frozenset(
    {
        "notify-schemes-supported",
        "notify-pull-method-supported",
        "notify-events-default",
        "notify-events-supported",
        "notify-max-events-supported",
        "notify-lease-duration-default",
        "notify-lease-duration-supported",
        "charset-supported",
        "generated-natural-language-supported",
    }
)

#: An HTTP answer: status code, content type, body.
Answer = Tuple[int, bytes, bytes]

_IPP = b"application/ipp"
_TEXT = b"text/plain; charset=utf-8"
_SHORT_BODY = b"the body is not an IPP message: shorter than its header\n"
_WRONG_TYPE = b"an IPP request is sent as application/ipp\n"


class IppOperationError(Exception):
    """
    A request that is answered with an error status and nothing else.

    @ivar statusCode: the IPP status code.
    @ivar reason: why, in words (the response's C{status-message}).
    """

    def __init__(self, statusCode: int, reason: str) -> None:
        super().__init__(statusCode, reason)
        self.statusCode = statusCode
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.reason} (status 0x{self.statusCode:04x})"


class PrinterRegistry:
    """
    The names of the relay's printer objects, served at C{/ipp/printers/<name>}.

    A name may be added or removed while the server runs; the server looks
    names up on every request.
    """

    def __init__(self, names: Iterable[str] = ()) -> None:
        """
        @param names: the first names.
        @raise ValueError: for a name that cannot be one (see L{add}).
        """
        self._names: Set[str] = set()
        for name in names:
            self.add(name)

    def add(self, name: str) -> None:
        """
        Serve printer object C{name} (again, if it is already served).

        @raise ValueError: if C{name} is empty, longer than 255 octets (a
            C{printer-name} is a C{name(127)} in practice, C{name(MAX)} in the
            RFC), has a C{/} or a control character, or is C{.} or C{..}.
        """
        if (
            not name
            or len(name.encode("utf-8")) > 255
            or "/" in name
            or name in (".", "..")
            or any(ord(c) < 0x20 or ord(c) == 0x7F for c in name)
        ):
            raise ValueError(f"not a printer name: {name!r}")
        self._names.add(name)

    def remove(self, name: str) -> None:
        """
        Stop serving printer object C{name}; its subscriptions stay in the store.

        @raise KeyError: if there is no such printer.
        """
        self._names.remove(name)

    def names(self) -> List[str]:
        """
        @return: the printer names, sorted.
        """
        return sorted(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._names)

    def __repr__(self) -> str:
        return f"PrinterRegistry({self.names()!r})"


@dataclasses.dataclass(frozen=True)
class _Target:
    """
    The object a request is for.

    @ivar name: the printer name, or C{None} for the system object.
    @ivar printerUri: the printer object's URI, or C{None} for the system object.
    """

    name: Optional[str]
    printerUri: Optional[str]

    @property
    def isSystem(self) -> bool:
        return self.name is None

    def describe(self) -> str:
        return "system" if self.name is None else f"printer {self.name}"


@dataclasses.dataclass
class _Context:
    """
    One request being answered.

    @ivar request: the decoded request.
    @ivar target: its object.
    @ivar operation: its operation group.
    @ivar charset: its C{attributes-charset}, lower case.
    @ivar language: its C{attributes-natural-language}.
    @ivar userName: its C{requesting-user-name}, or C{anonymous}.
    @ivar unsupported: the operation attributes the operation does not support.
    @ivar gone: fires when the HTTP client goes away (for long polls), if known.
    """

    request: Message
    target: _Target
    operation: Group
    charset: str
    language: str
    userName: str
    unsupported: List[Attribute]
    gone: Optional[Deferred[None]]


@dataclasses.dataclass(frozen=True)
class _Notifications:
    """
    What Get-Notifications found.

    @ivar subscriptions: the subscriptions asked about, in request order.
    @ivar events: the notifications to return, per subscription, in order.
    @ivar complete: whether every subscription is a per-job one whose job has
        completed.
    """

    subscriptions: Tuple[Subscription, ...]
    events: Tuple[Event, ...]
    complete: bool


def _statusMessage(reason: str) -> Attribute:
    octets = reason.encode("utf-8")
    if len(octets) > _MAX_STATUS_MESSAGE:
        reason = octets[: _MAX_STATUS_MESSAGE - 3].decode("utf-8", "ignore") + "..."
    return Attribute.text("status-message", reason)


def _operationGroup(
    statusMessage: Optional[str] = None,
    extra: Sequence[Attribute] = (),
    charset: str = "utf-8",
    language: str = NATURAL_LANGUAGE,
) -> Group:
    attributes = [
        Attribute.charset("attributes-charset", charset),
        Attribute.naturalLanguage("attributes-natural-language", language),
    ]
    if statusMessage is not None:
        attributes.append(_statusMessage(statusMessage))
    attributes.extend(extra)
    return Group(GroupTag.OPERATION, attributes)


def errorResponse(
    version: Tuple[int, int], requestId: int, statusCode: int, reason: str
) -> Message:
    """
    The answer to a request that fails as a whole: the operation group with
    C{attributes-charset}, C{attributes-natural-language} and
    C{status-message}, nothing else.

    @param version: the request's version, which the response carries.
    @param requestId: the request's request-id.
    @param statusCode: the status.
    @param reason: the C{status-message} (cut to 255 octets).
    """
    return Message(version, statusCode, requestId, [_operationGroup(reason)])


def _utc(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc)


# -- Reading operation attributes ----------------------------------------------------


def _bad(reason: str) -> IppOperationError:
    return IppOperationError(CLIENT_ERROR_BAD_REQUEST, reason)


def _values(group: Group, name: str, tags: FrozenSet[int]) -> Optional[Tuple[Any, ...]]:
    """
    @return: the values of attribute C{name}, or C{None} if the group has none.
    @raise IppOperationError: client-error-bad-request if a value has another tag.
    """
    attribute = group.get(name)
    if attribute is None:
        return None
    if any(tag not in tags for tag in attribute.tags):
        raise _bad(f"{name} has the wrong syntax ({attribute.syntax})")
    return attribute.values


def _integers(group: Group, name: str, minimum: int) -> Optional[Tuple[int, ...]]:
    values = _values(group, name, frozenset({ValueTag.INTEGER}))
    if values is None:
        return None
    for value in values:
        if not minimum <= value <= MAX_INTEGER:
            raise _bad(f"{name} must be {minimum} or more, not {value}")
    return values


def _integer(group: Group, name: str, minimum: int) -> Optional[int]:
    values = _integers(group, name, minimum)
    if values is None:
        return None
    if len(values) != 1:
        raise _bad(f"{name} takes one value, not {len(values)}")
    return values[0]


def _boolean(group: Group, name: str) -> Optional[bool]:
    values = _values(group, name, frozenset({ValueTag.BOOLEAN}))
    if values is None:
        return None
    if len(values) != 1:
        raise _bad(f"{name} takes one value, not {len(values)}")
    return bool(values[0])


def _keywords(group: Group, name: str) -> Optional[Tuple[str, ...]]:
    values = _values(group, name, frozenset({ValueTag.KEYWORD}))
    return None if values is None else tuple(values)


def _name(group: Group, name: str) -> Optional[str]:
    values = _values(
        group, name, frozenset({ValueTag.NAME, ValueTag.NAME_WITH_LANGUAGE})
    )
    if values is None:
        return None
    value = values[0]
    return str(getattr(value, "text", value))


# -- The resource ----------------------------------------------------------------------


@implementer(IResource)
class IppServer(Resource):
    """
    The relay's IPP server (see the module docstring for what it serves).

    Mount it where C{baseUri} says, e.g. C{root.putChild(b"ipp", server)} for
    C{ipp://host:8631/ipp}; it handles every path below.  Each request is a POST
    of C{application/ipp} (405 and 415 otherwise; 400 for a body shorter than
    an IPP header); every IPP request gets an IPP response with HTTP 200.

    @ivar manager: the L{SubscriptionManager}.
    @ivar printers: the printer names served, looked up on every request.
    @ivar baseUri: the URI of the mount point, without a trailing C{/}.
    @ivar clock: the L{IReactorTime} of timeouts and C{printer-up-time}.
    @ivar startedAt: when the printer objects started (seconds since the
        epoch): C{printer-up-time} counts from it.
    @ivar policy: what Get-Printer-Attributes advertises.
    @ivar eventLife: C{ippget-event-life}, seconds.
    @ivar getInterval: C{notify-get-interval}, seconds.
    @ivar maxWait: the longest a Get-Notifications long poll is held, seconds.
    """

    isLeaf = True
    allowedMethods = (b"POST",)
    log = Logger()

    def __init__(
        self,
        manager: SubscriptionManager,
        printers: Collection[str],
        *,
        baseUri: str,
        clock: IReactorTime,
        startedAt: Optional[float] = None,
        policy: Optional[SubscriptionPolicy] = None,
        eventLife: float = 60,
        getInterval: Optional[float] = None,
        maxWait: float = 30,
        limits: Optional[Limits] = None,
    ) -> None:
        """
        @param manager: the L{SubscriptionManager} that keeps the subscriptions
            and their events.
        @param printers: the printer names, a L{PrinterRegistry} or any
            collection of names (a set, a list): kept as given, so names added to
            it later are served.
        @param baseUri: the server's URI, e.g. C{ipp://relay.example:8631/ipp}:
            printer objects are C{<baseUri>/printers/<name>}.  An C{ipps} (or
            C{https}) URI makes C{uri-security-supported} C{tls}.
        @param clock: for C{printer-up-time}, C{printer-current-time} and the
            long-poll timeouts.
        @param startedAt: the start of C{printer-up-time}, seconds since the
            epoch; now if not given.
        @param policy: what Get-Printer-Attributes advertises; the manager's
            policy (which is what validates templates) if not given.
        @param eventLife: C{ippget-event-life}: 15 or more (RFC 3996 section
            8.1).  The manager keeps events at least its own C{eventLife}; give
            both the same value.
        @param getInterval: C{notify-get-interval}: at least C{eventLife} (RFC
            3996 section 5.2), which is the default.
        @param maxWait: the longest a Get-Notifications request with
            C{notify-wait} is held when no event is ready, seconds (more than
            0).
        @param limits: the decoder's limits.
        @raise ValueError: for an C{eventLife}, C{getInterval} or C{maxWait} out
            of range, or a C{baseUri} that is not absolute.
        """
        super().__init__()
        if eventLife < MIN_EVENT_LIFE:
            raise ValueError(
                f"ippget-event-life must be {MIN_EVENT_LIFE} s or more, not {eventLife}"
            )
        if getInterval is None:
            getInterval = eventLife
        if getInterval < eventLife:
            raise ValueError(
                f"notify-get-interval ({getInterval}) must be at least "
                f"ippget-event-life ({eventLife})"
            )
        if maxWait <= 0:
            raise ValueError(f"maxWait must be more than 0, not {maxWait}")
        parts = urlsplit(baseUri)
        if not (parts.scheme and parts.netloc):
            raise ValueError(f"baseUri must be an absolute URI, not {baseUri!r}")
        self.manager = manager
        self.printers = printers
        self.baseUri = baseUri.rstrip("/")
        self.clock = clock
        self.startedAt = clock.seconds() if startedAt is None else startedAt
        self.policy = policy if policy is not None else manager.policy
        self.eventLife = eventLife
        self.getInterval = getInterval
        self.maxWait = maxWait
        self.limits = limits
        self._secure = parts.scheme.lower() in ("ipps", "https")
        self._wakers: List[Callable[[], None]] = []
        manager.onQueued(self._eventsQueued)
        self._handlers: Dict[int, Callable[[_Context], Any]] = {
            GET_PRINTER_ATTRIBUTES: self._getPrinterAttributes,
            CREATE_PRINTER_SUBSCRIPTIONS: self._createSubscriptions,
            CREATE_JOB_SUBSCRIPTIONS: self._createSubscriptions,
            GET_SUBSCRIPTION_ATTRIBUTES: self._getSubscriptionAttributes,
            GET_SUBSCRIPTIONS: self._getSubscriptions,
            RENEW_SUBSCRIPTION: self._renewSubscription,
            CANCEL_SUBSCRIPTION: self._cancelSubscription,
            GET_NOTIFICATIONS: self._getNotifications,
        }

    # -- names and times ---------------------------------------------------------

    def printerUri(self, name: str) -> str:
        """
        @return: the URI of printer object C{name}.
        """
        return f"{self.baseUri}/printers/{quote(name, safe='')}"

    def upTime(self, when: Optional[float] = None) -> int:
        """
        @param when: a time, seconds since the epoch; now if not given.
        @return: it as C{printer-up-time}: whole seconds since L{startedAt}, 1 or
            more.
        """
        return upTime(self.clock.seconds() if when is None else when, self.startedAt)

    @property
    def waiting(self) -> int:
        """
        How many Get-Notifications long polls are being held.
        """
        return len(self._wakers)

    # -- HTTP ----------------------------------------------------------------------

    def render_POST(self, request: Request) -> object:
        contentType = request.getHeader(b"content-type") or b""
        if contentType.split(b";")[0].strip().lower() != _IPP:
            return self._plain(request, 415, _WRONG_TYPE)
        assert request.content is not None
        body = request.content.read()
        finished: List[object] = []
        gone: Deferred[None] = Deferred()

        def ended(result: object) -> None:
            finished.append(result)
            if not gone.called:
                gone.callback(None)

        request.notifyFinish().addBoth(ended)

        def respond(answer: Answer) -> None:
            if finished:
                # The client went away (while a long poll was held).
                return
            code, contentType, content = answer
            request.setResponseCode(code)
            request.setHeader(b"content-type", contentType)
            request.setHeader(b"content-length", b"%d" % (len(content),))
            request.write(content)
            request.finish()

        self.answer(body, request.postpath or [], _peer(request), gone).addCallback(
            respond
        )
        return NOT_DONE_YET

    def render_HEAD(self, request: Request) -> object:
        """
        Refused like any method but POST (C{Resource} would answer it as GET).
        """
        raise UnsupportedMethod(self.allowedMethods)

    def _plain(self, request: Request, code: int, text: bytes) -> bytes:
        request.setResponseCode(code)
        request.setHeader(b"content-type", _TEXT)
        request.setHeader(b"content-length", b"%d" % (len(text),))
        return text

    def answer(
        self,
        body: bytes,
        path: Sequence[bytes],
        peer: str = "?",
        gone: Optional[Deferred[None]] = None,
    ) -> Deferred[Answer]:
        """
        Answer one request body; the HTTP layer has checked method and content
        type.

        @param body: the request body.
        @param path: the path segments below the mount point (C{[b"printers",
            b"q"]}; C{[]} or C{[b""]} for the system object).
        @param peer: who sent it, for logs.
        @param gone: a Deferred that fires if the client goes away, to stop a
            long poll early.
        @return: a Deferred firing with C{(HTTP status, content type, body)}: 200
            and an IPP response, or 400 and a line of text when the body is too
            short to be IPP.  It does not fail.
        """
        if len(body) < 8:
            return succeed((400, _TEXT, _SHORT_BODY))
        d = Deferred.fromCoroutine(self._answer(body, path, peer, gone))
        return d.addCallback(lambda message: (200, _IPP, self._encode(message)))

    def _encode(self, message: Message) -> bytes:
        try:
            return encode(message)
        except Exception:
            self.log.failure("encoding a response failed")
            return encode(
                errorResponse(
                    message.version,
                    message.requestId,
                    SERVER_ERROR_INTERNAL_ERROR,
                    "internal error",
                )
            )

    async def _answer(
        self,
        body: bytes,
        path: Sequence[bytes],
        peer: str,
        gone: Optional[Deferred[None]],
    ) -> Message:
        version = (body[0], body[1])
        operationId = int.from_bytes(body[2:4], "big")
        requestId = int.from_bytes(body[4:8], "big", signed=True)
        try:
            if version not in VERSIONS:
                raise IppOperationError(
                    SERVER_ERROR_VERSION_NOT_SUPPORTED,
                    f"IPP version {version[0]}.{version[1]} is not supported; "
                    "use 1.1, 2.0, 2.1 or 2.2",
                )
            try:
                message = decode(body, self.limits)
            except IppDecodeError as e:
                raise _bad(f"bad IPP message at offset {e.offset}: {e.reason}") from e
            context = self._context(message, path, gone)
            response = await self._handlers[operationId](context)
        except IppOperationError as e:
            self.log.info(
                "{operation} from {peer} on /{path}: status 0x{status:04x}: {reason}",
                operation=_operationName(operationId),
                peer=peer,
                path=b"/".join(path).decode("utf-8", "replace"),
                status=e.statusCode,
                reason=e.reason,
                requestId=requestId,
            )
            return errorResponse(version, requestId, e.statusCode, e.reason)
        except Exception:
            self.log.failure(
                "answering {operation} from {peer} failed",
                operation=_operationName(operationId),
                peer=peer,
            )
            return errorResponse(
                version, requestId, SERVER_ERROR_INTERNAL_ERROR, "internal error"
            )
        self.log.debug(
            "{operation} from {peer} on {target}: status 0x{status:04x}",
            operation=_operationName(operationId),
            peer=peer,
            target=context.target.describe(),
            status=response.statusCode,
            requestId=requestId,
        )
        return response

    # -- checks every request passes -------------------------------------------------

    def _context(
        self, message: Message, path: Sequence[bytes], gone: Optional[Deferred[None]]
    ) -> _Context:
        """
        Check what every request needs (RFC 8011 sections 4.1.4, 4.1.5), find
        its target, check that the target has the operation, and sort out the
        operation attributes it does not support.

        @raise IppOperationError: if the request fails here.
        """
        if not message.groups or message.groups[0].tag != GroupTag.OPERATION:
            raise _bad("the request does not start with an operation group")
        if len(message.groupsOf(GroupTag.OPERATION)) > 1:
            raise _bad("the request has more than one operation group")
        operation = message.groups[0]
        attributes = operation.attributes
        if not attributes or attributes[0].name != "attributes-charset":
            raise _bad("attributes-charset must be the first operation attribute")
        if len(attributes) < 2 or attributes[1].name != "attributes-natural-language":
            raise _bad(
                "attributes-natural-language must be the second operation attribute"
            )
        charsetAttribute, languageAttribute = attributes[0], attributes[1]
        if charsetAttribute.tags != (ValueTag.CHARSET,):
            raise _bad("attributes-charset must be one charset value")
        if languageAttribute.tags != (ValueTag.NATURAL_LANGUAGE,):
            raise _bad("attributes-natural-language must be one naturalLanguage value")
        charset = str(charsetAttribute.value).lower()
        if charset not in self.policy.charsetsSupported:
            raise IppOperationError(
                CLIENT_ERROR_CHARSET_NOT_SUPPORTED,
                f"charset {charset} is not supported; use utf-8",
            )
        target = self._target(path)
        operationId = message.operationId
        supported = SYSTEM_OPERATIONS if target.isSystem else PRINTER_OPERATIONS
        if operationId not in supported:
            raise IppOperationError(
                SERVER_ERROR_OPERATION_NOT_SUPPORTED,
                f"{_operationName(operationId)} is not supported by the "
                f"{target.describe()} object",
            )
        uri = operation.get("printer-uri") or operation.get("system-uri")
        if uri is None:
            raise _bad("the request has no printer-uri")
        if uri.tags != (ValueTag.URI,):
            raise _bad(f"{uri.name} must be one uri value")
        known = _COMMON_ATTRIBUTES | _OPERATION_ATTRIBUTES[operationId]
        unsupported = [
            Attribute.of(a.name, ValueTag.UNSUPPORTED, UNSUPPORTED)
            for a in attributes
            if a.name not in known
        ]
        return _Context(
            request=message,
            target=target,
            operation=operation,
            charset=charset,
            language=str(languageAttribute.value),
            userName=_name(operation, "requesting-user-name") or "anonymous",
            unsupported=unsupported,
            gone=gone,
        )

    def _target(self, path: Sequence[bytes]) -> _Target:
        segments = list(path)
        while segments and segments[-1] == b"":
            segments.pop()
        if not segments:
            return _Target(None, None)
        if len(segments) == 2 and segments[0] == b"printers":
            name = unquote(segments[1].decode("utf-8", "replace"))
            if name in self.printers:
                return _Target(name, self.printerUri(name))
            raise IppOperationError(CLIENT_ERROR_NOT_FOUND, f"no printer {name!r}")
        shown = "/".join(s.decode("utf-8", "replace") for s in segments)
        raise IppOperationError(CLIENT_ERROR_NOT_FOUND, f"no IPP object at /{shown}")

    def _response(
        self,
        context: _Context,
        statusCode: int,
        groups: Iterable[Group] = (),
        extra: Sequence[Attribute] = (),
        charset: Optional[str] = None,
        language: str = NATURAL_LANGUAGE,
    ) -> Message:
        """
        A response: the operation group (with C{extra} attributes), the
        unsupported attributes group if there is one, then C{groups}.  A
        C{successful-ok} with unsupported attributes becomes
        C{successful-ok-ignored-or-substituted-attributes}.  Its charset is the
        request's unless C{charset} is given (RFC 8011 section 4.1.4.1).
        """
        if charset is None:
            charset = context.charset
        groupList = [_operationGroup(None, extra, charset, language)]
        if context.unsupported:
            groupList.append(Group(GroupTag.UNSUPPORTED, context.unsupported))
            if statusCode == SUCCESSFUL_OK:
                statusCode = SUCCESSFUL_OK_IGNORED_OR_SUBSTITUTED
        groupList.extend(groups)
        request = context.request
        return Message(request.version, statusCode, request.requestId, groupList)

    async def _subscription(
        self, context: _Context, subscriptionId: int
    ) -> Subscription:
        """
        @return: the live subscription C{subscriptionId} of the target (any one,
            for the system object).
        @raise IppOperationError: client-error-not-found if there is none.
        """
        subscription = await self.manager.get(subscriptionId)
        if subscription is None or (
            context.target.printerUri is not None
            and subscription.printerUri != context.target.printerUri
        ):
            raise IppOperationError(
                CLIENT_ERROR_NOT_FOUND, f"no subscription {subscriptionId}"
            )
        assert isinstance(subscription, Subscription)
        return subscription

    def _subscriptionId(self, context: _Context) -> int:
        subscriptionId = _integer(context.operation, "notify-subscription-id", 1)
        if subscriptionId is None:
            raise _bad("the request has no notify-subscription-id")
        return subscriptionId

    # -- Get-Printer-Attributes ------------------------------------------------------

    def printerAttributes(self, name: str) -> List[Attribute]:
        """
        @return: every attribute of printer object C{name}, as
            Get-Printer-Attributes gives them for C{all}.
        """
        policy = self.policy
        now = self.clock.seconds()
        events = sorted(
            policy.eventsSupported - {"all", "none"},
            key=lambda e: (
                _EVENT_ORDER.index(e) if e in _EVENT_ORDER else len(_EVENT_ORDER),
                e,
            ),
        )
        leaseMinimum = 0 if policy.allowForeverLease else 1
        security = "tls" if self._secure else "none"
        attributes = [
            Attribute.uri("printer-uri-supported", self.printerUri(name)),
            Attribute.keyword("uri-security-supported", security),
            Attribute.keyword("uri-authentication-supported", "none"),
            Attribute.nameValue("printer-name", name),
            Attribute.enum("printer-state", 3),
            Attribute.keyword("printer-state-reasons", "none"),
            Attribute.boolean("printer-is-accepting-jobs", False),
            Attribute.integer("printer-up-time", self.upTime(now)),
            Attribute.of(
                "printer-current-time",
                ValueTag.DATE_TIME,
                DateTime.fromDatetime(_utc(now)),
            ),
            Attribute.enum("operations-supported", *PRINTER_OPERATIONS),
            Attribute.charset("charset-configured", "utf-8"),
            Attribute.charset("charset-supported", *policy.charsetsSupported),
            Attribute.naturalLanguage("natural-language-configured", NATURAL_LANGUAGE),
            Attribute.naturalLanguage(
                "generated-natural-language-supported", NATURAL_LANGUAGE
            ),
            Attribute.keyword(
                "ipp-versions-supported", *(f"{a}.{b}" for a, b in VERSIONS)
            ),
        ]
        if policy.schemesSupported:
            attributes.append(
                Attribute.uriScheme(
                    "notify-schemes-supported", *policy.schemesSupported
                )
            )
        if policy.pullMethodsSupported:
            attributes.append(
                Attribute.keyword(
                    "notify-pull-method-supported", *policy.pullMethodsSupported
                )
            )
        attributes += [
            Attribute.keyword("notify-events-default", *policy.eventsDefault),
            Attribute.keyword("notify-events-supported", *events),
            Attribute.integer("notify-max-events-supported", policy.maxEvents),
            Attribute.integer(
                "notify-lease-duration-default", grantLease(None, policy)
            ),
            Attribute.of(
                "notify-lease-duration-supported",
                ValueTag.RANGE_OF_INTEGER,
                Range(leaseMinimum, policy.leaseMaximum),
            ),
            Attribute.integer("ippget-event-life", int(self.eventLife)),
        ]
        return attributes

    async def _getPrinterAttributes(self, context: _Context) -> Message:
        assert context.target.name is not None
        requested = _keywords(context.operation, "requested-attributes") or ("all",)
        everything = "all" in requested or "printer-description" in requested
        names = set(requested)
        if "subscription-template" in names:
            names |= SUBSCRIPTION_TEMPLATE_PRINTER_ATTRIBUTES
        attributes = [
            attribute
            for attribute in self.printerAttributes(context.target.name)
            if everything or attribute.name in names
        ]
        return self._response(
            context, SUCCESSFUL_OK, [Group(GroupTag.PRINTER, attributes)]
        )

    # -- Create-Printer-Subscriptions, Create-Job-Subscriptions ------------------------

    async def _createSubscriptions(self, context: _Context) -> Message:
        """
        RFC 3995 sections 11.1.1 and 11.1.2: one subscription per template group.
        """
        target = context.target
        assert target.printerUri is not None
        templates = context.request.groupsOf(GroupTag.SUBSCRIPTION)
        if not templates:
            raise _bad("the request has no subscription template group")
        for template in templates:
            # Checked for every group before any subscription is made: a bad
            # one fails the whole request (RFC 3995 section 5.2 rule 4).
            hasRecipient = "notify-recipient-uri" in template
            hasPull = "notify-pull-method" in template
            if hasRecipient and hasPull:
                raise _bad(
                    "a subscription template has both notify-recipient-uri "
                    "and notify-pull-method"
                )
            if not (hasRecipient or hasPull):
                raise _bad(
                    "a subscription template needs notify-recipient-uri "
                    "or notify-pull-method"
                )
        jobId: Optional[int] = None
        if context.request.operationId == CREATE_JOB_SUBSCRIPTIONS:
            jobId = self._jobIdOf(context, templates)
        results: List[TemplateResult] = []
        groups: List[Group] = []
        for template in templates:
            try:
                result, stored = await self.manager.createFromTemplate(
                    template,
                    printerUri=target.printerUri,
                    jobId=jobId,
                    userName=context.userName,
                    charset=context.charset,
                    language=context.language,
                )
            except SubscriptionError as e:
                raise IppOperationError(e.statusCode, e.reason) from e
            results.append(result)
            groups.append(
                responseGroup(result, None if stored is None else stored.subscriptionId)
            )
        status = overallStatus(results)
        self.log.info(
            "{created} of {count} subscriptions created on {printer} for {user}",
            created=sum(1 for r in results if r.created),
            count=len(results),
            printer=target.name,
            user=context.userName,
            jobId=jobId,
        )
        return self._response(context, status, groups)

    def _jobIdOf(self, context: _Context, templates: Sequence[Group]) -> int:
        """
        The job of Create-Job-Subscriptions: C{notify-job-id} of the operation
        group (RFC 3995 section 11.1.1), or else of the first template group that
        has it (where CUPS and ipptool put it).
        """
        jobId = _integer(context.operation, "notify-job-id", 1)
        if jobId is not None:
            return jobId
        for template in templates:
            jobId = _integer(template, "notify-job-id", 1)
            if jobId is not None:
                return jobId
        raise _bad("Create-Job-Subscriptions needs notify-job-id")

    # -- Get-Subscription-Attributes, Get-Subscriptions ------------------------------

    async def _getSubscriptionAttributes(self, context: _Context) -> Message:
        subscription = await self._subscription(context, self._subscriptionId(context))
        requested = _keywords(context.operation, "requested-attributes") or ("all",)
        group = describe(
            subscription,
            requested,
            startedAt=self.startedAt,
            now=self.clock.seconds(),
        )
        return self._response(context, SUCCESSFUL_OK, [group])

    async def _getSubscriptions(self, context: _Context) -> Message:
        operation = context.operation
        jobId = _integer(operation, "notify-job-id", 1)
        limit = _integer(operation, "limit", 1)
        mine = _boolean(operation, "my-subscriptions") or False
        requested = _keywords(operation, "requested-attributes") or (
            "notify-subscription-id",
        )
        subscriptions = await self.manager.list(context.target.printerUri, jobId)
        found = [
            s
            for s in subscriptions
            if s.jobId == jobId
            and (not mine or s.subscriberUserName == context.userName)
        ]
        if limit is not None:
            found = found[:limit]
        now = self.clock.seconds()
        groups = [
            describe(s, requested, startedAt=self.startedAt, now=now) for s in found
        ]
        return self._response(context, SUCCESSFUL_OK, groups)

    # -- Renew-Subscription, Cancel-Subscription -------------------------------------

    async def _renewSubscription(self, context: _Context) -> Message:
        subscriptionId = self._subscriptionId(context)
        requested = _integer(context.operation, "notify-lease-duration", 0)
        if requested is None:
            # RFC 3995 lists it under a subscription template heading; CUPS
            # takes it from either group.
            for template in context.request.groupsOf(GroupTag.SUBSCRIPTION):
                requested = _integer(template, "notify-lease-duration", 0)
                if requested is not None:
                    break
        await self._subscription(context, subscriptionId)
        try:
            renewed = await self.manager.renew(subscriptionId, requested)
        except SubscriptionError as e:
            raise IppOperationError(e.statusCode, e.reason) from e
        assert isinstance(renewed, Subscription)
        granted = renewed.leaseDuration
        assert granted is not None
        self.log.info(
            "subscription {subscriptionId} renewed for {lease} s",
            subscriptionId=subscriptionId,
            lease=granted,
        )
        status = (
            SUCCESSFUL_OK
            if requested is None or requested == granted
            else SUCCESSFUL_OK_IGNORED_OR_SUBSTITUTED
        )
        group = Group(
            GroupTag.SUBSCRIPTION,
            [Attribute.integer("notify-lease-duration", granted)],
        )
        return self._response(context, status, [group])

    async def _cancelSubscription(self, context: _Context) -> Message:
        subscriptionId = self._subscriptionId(context)
        await self._subscription(context, subscriptionId)
        existed = await self.manager.cancel(subscriptionId)
        if not existed:
            raise IppOperationError(
                CLIENT_ERROR_NOT_FOUND, f"no subscription {subscriptionId}"
            )
        return self._response(context, SUCCESSFUL_OK)

    # -- Get-Notifications -------------------------------------------------------------

    async def _getNotifications(self, context: _Context) -> Message:
        """
        RFC 3996 section 5: the kept events of C{ippget} subscriptions, from the
        given sequence numbers on; with C{notify-wait}, held until there is one.
        """
        operation = context.operation
        ids = _integers(operation, "notify-subscription-ids", 1)
        if not ids:
            raise _bad("the request has no notify-subscription-ids")
        sequences = _integers(operation, "notify-sequence-numbers", 1) or ()
        wait = _boolean(operation, "notify-wait") or False
        fromSequences = [
            sequences[i] if i < len(sequences) else 1 for i in range(len(ids))
        ]
        deadline = self.clock.seconds() + self.maxWait
        while True:
            found = await self._notifications(context, ids, fromSequences)
            if found.events or found.complete or not wait:
                break
            remaining = deadline - self.clock.seconds()
            if remaining <= 0:
                break
            if not await self._sleep(remaining, context.gone):
                # Timed out (or the client left): one last look, then answer.
                wait = False
        first = found.subscriptions[0]
        extra: List[Attribute] = []
        if found.complete:
            status = SUCCESSFUL_OK_EVENTS_COMPLETE
        else:
            status = SUCCESSFUL_OK
            extra.append(
                Attribute.integer("notify-get-interval", int(self.getInterval))
            )
        extra.append(Attribute.integer("printer-up-time", self.upTime()))
        groups = [self._notificationGroup(event) for event in found.events]
        return self._response(
            context,
            status,
            groups,
            extra,
            charset=first.charset,
            language=first.naturalLanguage,
        )

    async def _notifications(
        self, context: _Context, ids: Sequence[int], fromSequences: Sequence[int]
    ) -> _Notifications:
        """
        @raise IppOperationError: client-error-not-found if a subscription is not
            there or is not an C{ippget} one.
        """
        subscriptions: List[Subscription] = []
        events: List[Event] = []
        complete = True
        limit = max(1, self.manager.historyLimit)
        for subscriptionId, fromSequence in zip(ids, fromSequences):
            subscription = await self._subscription(context, subscriptionId)
            if subscription.pullMethod != "ippget":
                raise IppOperationError(
                    CLIENT_ERROR_NOT_FOUND,
                    f"subscription {subscriptionId} is not an ippget subscription",
                )
            subscriptions.append(subscription)
            try:
                found = await self.manager.history(subscriptionId, fromSequence, limit)
            except SubscriptionError as e:
                raise IppOperationError(e.statusCode, e.reason) from e
            events.extend(found)
            if complete:
                complete = await self._jobCompleted(subscription, found, fromSequence)
        return _Notifications(tuple(subscriptions), tuple(events), complete)

    async def _jobCompleted(
        self, subscription: Subscription, found: Sequence[Event], fromSequence: int
    ) -> bool:
        """
        Whether C{subscription} is a per-job one whose job has completed: an
        event of its history says so, among those found or those before.
        """
        if not subscription.isPerJob:
            return False
        if any(_completes(event, subscription) for event in found):
            return True
        if fromSequence <= 1:
            return False
        earlier = await self.manager.history(
            subscription.subscriptionId, 1, max(1, self.manager.historyLimit)
        )
        return any(_completes(event, subscription) for event in earlier)

    def _notificationGroup(self, event: Event) -> Group:
        """
        The event-notification group of one event: on the relay's clock, with
        C{printer-current-time}, and C{job-id} for a job event.
        """
        when = (
            event.receivedAt.timestamp()
            if event.receivedAt is not None
            else self.clock.seconds()
        )
        attributes = list(event.toGroup())
        if "printer-current-time" not in event.attributes:
            attributes.append(
                Attribute.of(
                    "printer-current-time",
                    ValueTag.DATE_TIME,
                    DateTime.fromDatetime(_utc(when)),
                )
            )
        if event.jobId is not None and "job-id" not in event.attributes:
            # RFC 3995 Table 6 names it job-id; CUPS sends notify-job-id.
            attributes.append(Attribute.integer("job-id", event.jobId))
        relayed = dataclasses.replace(
            event,
            printerUpTime=self.upTime(when),
            attributes=Group(GroupTag.EVENT_NOTIFICATION, attributes),
        )
        return relayed.toGroup()

    # -- long polls ------------------------------------------------------------------

    def _sleep(self, seconds: float, gone: Optional[Deferred[None]]) -> Deferred[bool]:
        """
        Wait until events are queued (C{True}), or C{seconds} pass or the client
        goes away (C{False}).
        """
        result: Deferred[bool] = Deferred()
        if gone is not None and gone.called:
            result.callback(False)
            return result

        def finish(woken: bool) -> None:
            if result.called:
                return
            if timer.active():
                timer.cancel()
            self._wakers.remove(wake)
            result.callback(woken)

        def wake() -> None:
            finish(True)

        timer = self.clock.callLater(seconds, finish, False)
        self._wakers.append(wake)
        if gone is not None:
            gone.addCallback(lambda _: finish(False))
        return result

    def _eventsQueued(self) -> None:
        """
        The manager queued events: every held long poll looks again.
        """
        for wake in list(self._wakers):
            try:
                wake()
            except Exception:
                self.log.failure("waking a Get-Notifications request failed")


def _completes(event: Event, subscription: Subscription) -> bool:
    return event.jobId == subscription.jobId and (
        event.event == "job-completed" or event.jobState in _COMPLETED_JOB_STATES
    )


def _operationName(operationId: int) -> str:
    from .ipp import registry

    name = registry.OPERATIONS.get(operationId)
    return name if name is not None else f"operation 0x{operationId:04x}"


def _peer(request: Request) -> str:
    peer = request.getClientAddress()
    host = getattr(peer, "host", None)
    return f"{host}:{getattr(peer, 'port', '')}" if host else str(peer)


__all__ = [
    "IppServer",
    "PrinterRegistry",
    "IppOperationError",
    "errorResponse",
    "PRINTER_OPERATIONS",
    "SYSTEM_OPERATIONS",
    "VERSIONS",
    "SUBSCRIPTION_TEMPLATE_PRINTER_ATTRIBUTES",
]
