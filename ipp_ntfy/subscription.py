"""
Subscriptions (RFC 3995), sans I/O: the record, template validation, event matching
and leases computed on a given C{now}.

Nothing here reads a clock or touches storage: callers pass C{now} (seconds since the
epoch, from an injected C{IReactorTime}) and store the results.

Choices where RFC 3995 leaves one (each also said where it is made):

    - C{notify-subscribed-event} names the most specific subscribed keyword that
      covers the event; CUPS's umbrellas C{all} and C{printer-changed}, which no
      notification can carry in RFC terms, give the event keyword itself, as CUPS
      does (L{matches}).
    - A template whose C{notify-events} are all unsupported, or just C{none}, creates
      nothing (C{0x040B}) rather than falling back to the default events
      (L{validateTemplate}).
    - A substituted lease (clamped, or C{0} when forever is not allowed) makes the
      group's C{notify-status-code} C{0x0001}, as Renew-Subscription does; the
      granted value is in the same group (L{validateTemplate}).
    - C{notify-lease-duration} in a per-job template comes back with the out-of-band
      value C{unsupported}: the attribute, not its value, is what a per-job
      subscription does not support.
    - C{notify-job-id} in the template group of a per-job request is accepted when it
      names that same job (ipptool and CUPS put it there); anywhere else it is
      unsupported.
    - L{SubscriptionPolicy.leaseMaximum} has no "0 means unlimited": it is at most
      L{MAX_LEASE}, which is the default; leases for ever are governed by
      L{SubscriptionPolicy.allowForeverLease} alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import (
    Dict,
    FrozenSet,
    Iterable,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Sequence,
    Set,
    Tuple,
)

from .ipp.message import Attribute, Group
from .ipp.tags import GroupTag, ValueTag
from .ipp.values import UNSUPPORTED, Value

#: Lease given when the subscriber asks for none (notify-lease-duration-default).
DEFAULT_LEASE = 86400

#: The longest lease RFC 3995 section 5.3.8 allows (2**26 - 1 seconds).
MAX_LEASE = 67108863

#: The largest value of an IPP C{integer}.
MAX_INTEGER = 2**31 - 1

#: C{notify-user-data} is an C{octetString(63)}.
MAX_USER_DATA = 63

#: The longest C{uri} value (RFC 8011 section 5.1.6).
MAX_URI_OCTETS = 1023

# notify-status-code values and operation status codes (RFC 3995 sections 12, 13).
SUCCESSFUL_OK = 0x0000
SUCCESSFUL_OK_IGNORED_OR_SUBSTITUTED_ATTRIBUTES = 0x0001
SUCCESSFUL_OK_IGNORED_SUBSCRIPTIONS = 0x0003
SUCCESSFUL_OK_TOO_MANY_EVENTS = 0x0005
CLIENT_ERROR_BAD_REQUEST = 0x0400
CLIENT_ERROR_NOT_POSSIBLE = 0x0404
CLIENT_ERROR_NOT_FOUND = 0x0406
CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED = 0x040B
CLIENT_ERROR_URI_SCHEME_NOT_SUPPORTED = 0x040C
CLIENT_ERROR_IGNORED_ALL_SUBSCRIPTIONS = 0x0414
CLIENT_ERROR_TOO_MANY_SUBSCRIPTIONS = 0x0415

#: When several C{notify-status-code} values apply to one group, the first of these
#: that does is returned (RFC 3995 section 13; fact sheet 3.8).
STATUS_PRECEDENCE: Tuple[int, ...] = (
    CLIENT_ERROR_URI_SCHEME_NOT_SUPPORTED,
    CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED,
    CLIENT_ERROR_TOO_MANY_SUBSCRIPTIONS,
    SUCCESSFUL_OK_TOO_MANY_EVENTS,
    SUCCESSFUL_OK_IGNORED_OR_SUBSTITUTED_ATTRIBUTES,
)

# -- Event keywords ------------------------------------------------------------------

#: Job events: RFC 3995 section 5.3.3.4.
JOB_EVENTS: FrozenSet[str] = frozenset(
    {
        "job-state-changed",
        "job-created",
        "job-completed",
        "job-stopped",
        "job-config-changed",
        "job-progress",
    }
)

#: Printer events: RFC 3995 section 5.3.3.4 and CUPS's C{printer-added},
#: C{printer-deleted}, C{printer-modified} and C{printer-changed}.
PRINTER_EVENTS: FrozenSet[str] = frozenset(
    {
        "printer-state-changed",
        "printer-restarted",
        "printer-shutdown",
        "printer-stopped",
        "printer-config-changed",
        "printer-media-changed",
        "printer-finishings-changed",
        "printer-queue-order-changed",
        "printer-added",
        "printer-deleted",
        "printer-modified",
        "printer-changed",
    }
)

#: Server events (CUPS only): not about one printer or job.
SERVER_EVENTS: FrozenSet[str] = frozenset(
    {"server-restarted", "server-started", "server-stopped", "server-audit"}
)

#: Every event keyword that names some events (all but C{none}), CUPS's C{all}
#: included.
ALL_EVENTS: FrozenSet[str] = JOB_EVENTS | PRINTER_EVENTS | SERVER_EVENTS | {"all"}

#: The keywords directly under each keyword that groups others: RFC 3995 section
#: 5.3.3.4 and CUPS's C{printer-changed} (every printer event, mask 0x07FF) and
#: C{all} (every event, mask 0x1FFFFF).  Keywords not listed cover only themselves.
EVENT_CHILDREN: Mapping[str, Tuple[str, ...]] = {
    "all": (
        "printer-changed",
        "job-state-changed",
        "job-config-changed",
        "job-progress",
        "server-restarted",
        "server-started",
        "server-stopped",
        "server-audit",
    ),
    "printer-changed": (
        "printer-state-changed",
        "printer-config-changed",
        "printer-queue-order-changed",
        "printer-added",
        "printer-deleted",
        "printer-modified",
    ),
    "printer-state-changed": (
        "printer-restarted",
        "printer-shutdown",
        "printer-stopped",
    ),
    "printer-config-changed": (
        "printer-media-changed",
        "printer-finishings-changed",
    ),
    "job-state-changed": ("job-created", "job-completed", "job-stopped"),
}

#: CUPS's umbrella keywords: no RFC notification carries them as
#: C{notify-subscribed-event}, so L{matches} gives the event itself for them.
UMBRELLA_EVENTS: FrozenSet[str] = frozenset({"all", "printer-changed"})

#: C{notify-events-default}: CUPS's.
DEFAULT_EVENTS: Tuple[str, ...] = ("job-completed",)


def _closure(keyword: str) -> FrozenSet[str]:
    covered = {keyword}
    for child in EVENT_CHILDREN.get(keyword, ()):
        covered |= _closure(child)
    return frozenset(covered)


_COVERED: Dict[str, FrozenSet[str]] = {k: _closure(k) for k in ALL_EVENTS}


def subEvents(keyword: str) -> FrozenSet[str]:
    """
    The events a subscription to C{keyword} receives.

    @param keyword: an event keyword.
    @return: C{keyword} and every keyword under it; nothing for C{none}; just
        C{keyword} for a keyword this module does not know (C{all} also covers
        those, see L{covers}).
    """
    if keyword == "none":
        return frozenset()
    return _COVERED.get(keyword, frozenset({keyword}))


def covers(subscribed: str, eventKeyword: str) -> bool:
    """
    @param subscribed: a keyword of a subscription's C{notify-events}.
    @param eventKeyword: the event that happened.
    @return: whether the event equals C{subscribed} or is under it (RFC 3995 section
        5.3.3.5).  C{all} covers every event but C{none}, even one this module does
        not know.
    """
    if eventKeyword == "none":
        return False
    if subscribed == "all":
        return True
    return eventKeyword in subEvents(subscribed)


def isJobEvent(eventKeyword: str) -> bool:
    """
    @return: whether C{eventKeyword} is about one job (C{job-*}), as opposed to a
        printer or the server.
    """
    return eventKeyword in JOB_EVENTS or eventKeyword.startswith("job-")


@dataclass(frozen=True)
class Subscription:
    """
    One subscription object, as stored.

    @ivar subscriptionId: C{notify-subscription-id}, 1 or more; 0 before the store
        has assigned one.
    @ivar printerUri: C{notify-printer-uri}: the printer object it watches.
    @ivar jobId: C{notify-job-id} for a per-job subscription, C{None} for a
        per-printer one.
    @ivar recipientUri: C{notify-recipient-uri} of a push subscription, else C{None}.
    @ivar pullMethod: C{notify-pull-method} (C{"ippget"}) of a pull subscription,
        else C{None}.
    @ivar events: C{notify-events} keywords.
    @ivar userData: C{notify-user-data}, at most 63 octets.
    @ivar charset: C{notify-charset}.
    @ivar naturalLanguage: C{notify-natural-language}.
    @ivar leaseDuration: the granted C{notify-lease-duration} in seconds (0 for
        ever); C{None} for a per-job subscription, which has no lease.
    @ivar leaseExpiresAt: when the lease ends, in seconds since the epoch; C{None}
        if it never does.
    @ivar timeInterval: C{notify-time-interval}: at most one C{job-progress} event
        per this many seconds (0: every one).
    @ivar subscriberUserName: C{notify-subscriber-user-name}.
    @ivar createdAt: seconds since the epoch.
    @ivar lastSequence: the last C{notify-sequence-number} given to an event of this
        subscription (0 before the first).
    """

    subscriptionId: int
    printerUri: str
    events: Tuple[str, ...]
    recipientUri: Optional[str] = None
    pullMethod: Optional[str] = None
    jobId: Optional[int] = None
    userData: bytes = b""
    charset: str = "utf-8"
    naturalLanguage: str = "en"
    leaseDuration: Optional[int] = DEFAULT_LEASE
    leaseExpiresAt: Optional[float] = None
    timeInterval: int = 0
    subscriberUserName: str = "anonymous"
    createdAt: float = 0.0
    lastSequence: int = 0

    @property
    def isPush(self) -> bool:
        """
        Whether events are pushed to L{recipientUri} (else they are pulled).
        """
        return self.recipientUri is not None

    @property
    def isPerJob(self) -> bool:
        return self.jobId is not None

    def expired(self, now: float) -> bool:
        """
        @return: whether the lease has ended at C{now}.
        """
        return self.leaseExpiresAt is not None and now >= self.leaseExpiresAt

    def replace(self, **changes: object) -> Subscription:
        """
        @return: a copy with C{changes}.
        """
        return replace(self, **changes)  # type: ignore[arg-type]


class SubscriptionError(Exception):
    """
    An operation on a subscription cannot be done.

    @ivar statusCode: the IPP status code to answer with.
    @ivar reason: why, in words (for C{status-message}).
    """

    def __init__(self, statusCode: int, reason: str) -> None:
        super().__init__(statusCode, reason)
        self.statusCode = statusCode
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.reason} (status 0x{self.statusCode:04x})"


class TemplateError(SubscriptionError):
    """
    A subscription template group fails the whole operation with
    C{client-error-bad-request}: it has both C{notify-recipient-uri} and
    C{notify-pull-method}, or neither (RFC 3995 section 5.2 rule 4).  The response
    then carries no 0x06 groups.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(CLIENT_ERROR_BAD_REQUEST, reason)


# -- Policy --------------------------------------------------------------------------


@dataclass(frozen=True)
class SubscriptionPolicy:
    """
    What a printer object supports and allows for subscriptions: the values of its
    C{notify-*-supported} and C{-default} attributes, and its limits.

    @ivar schemesSupported: C{notify-schemes-supported}: push URI schemes, lower
        case, without C{:}.
    @ivar pullMethodsSupported: C{notify-pull-method-supported}.
    @ivar eventsSupported: event keywords accepted in C{notify-events}; by default
        every keyword of L{ALL_EVENTS}, CUPS's C{all} included (to advertise
        C{notify-events-supported}, leave C{all} out, as CUPS does).
    @ivar eventsDefault: C{notify-events-default}, used when a template has no
        C{notify-events}.
    @ivar maxEvents: C{notify-max-events-supported}: the most C{notify-events}
        values one subscription keeps (at least 2).
    @ivar leaseDefault: C{notify-lease-duration-default}, in seconds (0: for
        ever).  Like a requested lease, it is cut to L{leaseMaximum}, and a 0 when
        L{allowForeverLease} is false becomes L{leaseMaximum}.
    @ivar leaseMaximum: the longest finite lease granted, 1 to L{MAX_LEASE}; longer
        requests are cut to it.  There is no "0 means unlimited": the default,
        L{MAX_LEASE}, is the RFC's own limit.
    @ivar allowForeverLease: whether a request for lease 0 (never expires) is
        granted; if not, it gets L{leaseMaximum}.
    @ivar maxSubscriptions: the most subscriptions in all, C{None} for no limit.
    @ivar maxSubscriptionsPerPrinter: the most per printer object, C{None} for no
        limit.
    @ivar maxSubscriptionsPerUser: the most per subscriber user name, C{None} for
        no limit.
    @ivar maxUserData: the most octets of C{notify-user-data} (63 in RFC 3995).
    @ivar charsetsSupported: C{charset-supported}, for C{notify-charset}.
    """

    schemesSupported: Tuple[str, ...] = ("http", "https", "ipp", "ipps", "indp")
    pullMethodsSupported: Tuple[str, ...] = ("ippget",)
    eventsSupported: FrozenSet[str] = ALL_EVENTS
    eventsDefault: Tuple[str, ...] = DEFAULT_EVENTS
    maxEvents: int = 30
    leaseDefault: int = DEFAULT_LEASE
    leaseMaximum: int = MAX_LEASE
    allowForeverLease: bool = True
    maxSubscriptions: Optional[int] = 100
    maxSubscriptionsPerPrinter: Optional[int] = None
    maxSubscriptionsPerUser: Optional[int] = None
    maxUserData: int = MAX_USER_DATA
    charsetsSupported: Tuple[str, ...] = ("utf-8", "us-ascii")

    def __post_init__(self) -> None:
        if not 1 <= self.leaseMaximum <= MAX_LEASE:
            raise ValueError(f"leaseMaximum must be 1 to {MAX_LEASE}")
        if self.leaseDefault < 0:
            raise ValueError("leaseDefault must be 0 or more")
        if self.leaseDefault == 0 and not self.allowForeverLease:
            object.__setattr__(self, "leaseDefault", self.leaseMaximum)
        elif self.leaseDefault > self.leaseMaximum:
            object.__setattr__(self, "leaseDefault", self.leaseMaximum)
        if self.maxEvents < 2:
            raise ValueError("maxEvents must be at least 2 (RFC 3995 5.3.3.3)")
        if not 0 <= self.maxUserData <= MAX_USER_DATA:
            raise ValueError(f"maxUserData must be 0 to {MAX_USER_DATA}")
        for limit in (
            self.maxSubscriptions,
            self.maxSubscriptionsPerPrinter,
            self.maxSubscriptionsPerUser,
        ):
            if limit is not None and limit < 0:
                raise ValueError("subscription limits must be 0 or more")
        object.__setattr__(
            self, "schemesSupported", tuple(s.lower() for s in self.schemesSupported)
        )
        object.__setattr__(self, "eventsSupported", frozenset(self.eventsSupported))


class SubscriptionCounts(NamedTuple):
    """
    How many subscriptions exist, for the limits of L{SubscriptionPolicy}.

    @ivar total: in all.
    @ivar printer: on the printer object of the request.
    @ivar user: of the requesting user.
    """

    total: int = 0
    printer: int = 0
    user: int = 0


#: No subscriptions yet.
NO_SUBSCRIPTIONS = SubscriptionCounts()


# -- Matching ------------------------------------------------------------------------


def matches(
    subscription: Subscription, eventKeyword: str, jobId: Optional[int] = None
) -> Optional[str]:
    """
    Whether an event on the subscription's printer is for this subscription (RFC
    3995 section 5.3.3.5).

    Printer (and server) events go to per-printer and per-job subscriptions; job
    events go to per-printer subscriptions and to the per-job subscriptions of that
    job only.  The caller has already picked the subscriptions of the event's
    printer object, and drops a per-job subscription once its job has completed
    (L{endsAfter}).

    @param subscription: the subscription.
    @param eventKeyword: the event, e.g. C{"job-completed"}.
    @param jobId: the job of a job event.
    @return: the value for C{notify-subscribed-event}, or C{None} if the event is
        not for this subscription.  That is the most specific subscribed keyword
        that covers the event (C{job-completed} before C{job-state-changed}); but
        when that keyword is a CUPS umbrella (L{UMBRELLA_EVENTS}), the event
        keyword itself, as CUPS sends.
    """
    if isJobEvent(eventKeyword) and subscription.isPerJob:
        if jobId is None or jobId != subscription.jobId:
            return None
    best: Optional[str] = None
    bestBreadth = 0
    for subscribed in subscription.events:
        if not covers(subscribed, eventKeyword):
            continue
        breadth = len(subEvents(subscribed)) if subscribed != "all" else MAX_INTEGER
        if best is None or breadth < bestBreadth:
            best, bestBreadth = subscribed, breadth
    if best in UMBRELLA_EVENTS:
        return eventKeyword
    return best


def endsAfter(
    subscription: Subscription, eventKeyword: str, jobId: Optional[int]
) -> bool:
    """
    Whether this event ends the subscription: the C{job-completed} event of a
    per-job subscription's own job (RFC 3995: a per-job subscription lives
    as long as its job).  The caller cancels
    the subscription once that event's notification, if it gets one, is stored;
    ask for every event of the printer, whether or not it L{matches}, since a
    per-job subscription ends with its job even if it did not ask for
    C{job-completed}.

    @param subscription: the subscription.
    @param eventKeyword: the event.
    @param jobId: the job of a job event.
    @return: whether to cancel the subscription after this event.
    """
    return (
        subscription.isPerJob
        and eventKeyword == "job-completed"
        and jobId is not None
        and jobId == subscription.jobId
    )


def shouldSendProgress(
    subscription: Subscription, lastSentAt: Optional[float], now: float
) -> bool:
    """
    The C{notify-time-interval} throttle of C{job-progress} (RFC 3995 section
    5.3.9): at most one notification per interval.  A suppressed event gets no
    notification, so it takes no sequence number.

    @param subscription: the subscription.
    @param lastSentAt: when this subscription last got a C{job-progress}
        notification, or C{None} if never.
    @param now: the time of the new C{job-progress} event.
    @return: whether to notify it.  Also true when C{now} is before C{lastSentAt}
        (the clock was set back), so that a clock step cannot silence progress.
    """
    if subscription.timeInterval <= 0 or lastSentAt is None or now < lastSentAt:
        return True
    return now - lastSentAt >= subscription.timeInterval


# -- Leases --------------------------------------------------------------------------


def grantLease(requested: Optional[int], policy: SubscriptionPolicy) -> int:
    """
    The lease a per-printer subscription gets (RFC 3995 section 5.3.8).

    @param requested: the C{notify-lease-duration} asked for, or C{None}.
    @param policy: the printer's policy.
    @return: L{SubscriptionPolicy.leaseDefault} if none was asked; C{0} (for ever)
        if asked and allowed; otherwise the request cut to
        L{SubscriptionPolicy.leaseMaximum}.
    @raise SubscriptionError: C{0x040B} for a negative request.
    """
    if requested is None:
        requested = policy.leaseDefault
    if requested < 0:
        raise SubscriptionError(
            CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED,
            "notify-lease-duration must be 0 or more",
        )
    if requested == 0:
        return 0 if policy.allowForeverLease else policy.leaseMaximum
    return min(requested, policy.leaseMaximum)


def leaseExpiry(now: float, lease: int) -> Optional[float]:
    """
    @param now: when the lease is granted.
    @param lease: the granted lease in seconds.
    @return: when it ends, or C{None} for a lease of 0 (never).
    """
    if lease == 0:
        return None
    return now + lease


def expired(subscription: Subscription, now: float) -> bool:
    """
    @return: whether the subscription's lease has ended at C{now} (never for a
        per-job subscription or a lease for ever).
    """
    return subscription.expired(now)


def renew(
    subscription: Subscription,
    requested: Optional[int],
    policy: SubscriptionPolicy,
    now: float,
) -> Subscription:
    """
    Renew-Subscription (RFC 3995 section 11.2.6): a new lease from C{now}.

    The operation's status is C{0x0001} when the granted
    C{notify-lease-duration} differs from C{requested}; the caller compares.

    @param subscription: the subscription to renew.
    @param requested: the C{notify-lease-duration} asked for, or C{None} for the
        default.
    @param policy: the printer's policy.
    @param now: the time of the request.
    @return: the renewed subscription.
    @raise SubscriptionError: C{0x0404} client-error-not-possible for a per-job
        subscription, which has no lease; C{0x0406} client-error-not-found if the
        lease has already ended; C{0x040B} for a negative request.
    """
    if subscription.isPerJob:
        raise SubscriptionError(
            CLIENT_ERROR_NOT_POSSIBLE, "per-job subscriptions have no lease to renew"
        )
    if subscription.expired(now):
        raise SubscriptionError(CLIENT_ERROR_NOT_FOUND, "the subscription has expired")
    lease = grantLease(requested, policy)
    return subscription.replace(
        leaseDuration=lease, leaseExpiresAt=leaseExpiry(now, lease)
    )


# -- Template validation -------------------------------------------------------------

#: The Subscription Template attributes (RFC 3995 section 5.3, Table 1).
TEMPLATE_ATTRIBUTES: Tuple[str, ...] = (
    "notify-recipient-uri",
    "notify-pull-method",
    "notify-events",
    "notify-attributes",
    "notify-user-data",
    "notify-charset",
    "notify-natural-language",
    "notify-lease-duration",
    "notify-time-interval",
)

#: The Subscription Description attributes (RFC 3995 section 5.4, Table 2).
DESCRIPTION_ATTRIBUTES: Tuple[str, ...] = (
    "notify-subscription-id",
    "notify-sequence-number",
    "notify-lease-expiration-time",
    "notify-printer-up-time",
    "notify-printer-uri",
    "notify-job-id",
    "notify-subscriber-user-name",
)

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")

# The notify-status-code values of a template that creates nothing.
_NOT_CREATED = frozenset(
    {
        CLIENT_ERROR_URI_SCHEME_NOT_SUPPORTED,
        CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED,
        CLIENT_ERROR_TOO_MANY_SUBSCRIPTIONS,
    }
)


@dataclass(frozen=True)
class TemplateResult:
    """
    The outcome of one subscription template group.

    @ivar subscription: the subscription to create (with C{subscriptionId} 0, for
        the store to assign), or C{None} if none is created.
    @ivar statusCode: the group's C{notify-status-code}, or C{None} when it needs
        none.
    @ivar unsupported: attributes to return in the group's response: unsupported
        values with those values, unsupported attributes with the out-of-band value
        C{unsupported}.
    @ivar grantedLease: the granted C{notify-lease-duration} of a created
        per-printer subscription, else C{None}.
    """

    subscription: Optional[Subscription]
    statusCode: Optional[int] = None
    unsupported: Tuple[Attribute, ...] = ()
    grantedLease: Optional[int] = None

    @property
    def created(self) -> bool:
        """
        Whether a subscription is created.
        """
        return self.subscription is not None


def _unsupportedAttribute(name: str) -> Attribute:
    return Attribute.of(name, ValueTag.UNSUPPORTED, UNSUPPORTED)


def _single(attribute: Attribute, tag: int) -> Optional[Value]:
    """
    @return: the one value of C{attribute} if it has exactly one, of tag C{tag};
        else C{None}.
    """
    if len(attribute.values) != 1 or attribute.tags[0] != tag:
        return None
    return attribute.values[0]


def _string(attribute: Attribute, tag: int) -> Optional[str]:
    value = _single(attribute, tag)
    return value if isinstance(value, str) else None


def _schemeOf(uri: str) -> Optional[str]:
    """
    @return: the scheme of an absolute URI of at most L{MAX_URI_OCTETS}, in lower
        case, or C{None} if C{uri} is not one.
    """
    if len(uri.encode("utf-8")) > MAX_URI_OCTETS:
        return None
    scheme, colon, rest = uri.partition(":")
    if not (colon and rest and _SCHEME.fullmatch(scheme)):
        return None
    return scheme.lower()


def _integer(attribute: Attribute) -> Optional[int]:
    value = _single(attribute, ValueTag.INTEGER)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def validateTemplate(
    group: Group,
    policy: SubscriptionPolicy,
    *,
    printerUri: str,
    jobId: Optional[int] = None,
    userName: str = "anonymous",
    charset: str = "utf-8",
    language: str = "en",
    now: float,
    counts: SubscriptionCounts = NO_SUBSCRIPTIONS,
) -> TemplateResult:
    """
    Process one subscription template group (RFC 3995 section 5.2).

    Supported attributes with supported values go on the new subscription; a
    missing optional attribute gets its default.  Unsupported values come back
    with their values and unknown (or misplaced) attributes with C{unsupported},
    and the subscription is still created, with C{notify-status-code} C{0x0001}.
    It is not created when its recipient's scheme is not supported (C{0x040C}),
    its pull method, recipient URI or C{notify-events} cannot be used (C{0x040B}),
    or a limit is reached (C{0x0415}); more events than
    L{SubscriptionPolicy.maxEvents} are dropped and returned (C{0x0005}).  When
    several codes apply, the first of L{STATUS_PRECEDENCE} is given.

    @param group: the template group (tag 0x06) of the request.
    @param policy: the printer's policy.
    @param printerUri: the printer-uri of the request (C{notify-printer-uri}).
    @param jobId: the job of a per-job subscription (Create-Job-Subscriptions or a
        job creation request), C{None} for a per-printer one.
    @param userName: the most authenticated user name
        (C{notify-subscriber-user-name}).
    @param charset: the request's C{attributes-charset}, the default
        C{notify-charset}.
    @param language: the request's C{attributes-natural-language}, the default
        C{notify-natural-language}.
    @param now: the time of the request, in seconds since the epoch.
    @param counts: how many subscriptions exist now.
    @return: the outcome.
    @raise TemplateError: if the group has both C{notify-recipient-uri} and
        C{notify-pull-method}, or neither: the whole operation then fails with
        C{client-error-bad-request}.
    @raise ValueError: if C{group} is not a subscription template group.
    """
    if group.tag != GroupTag.SUBSCRIPTION:
        raise ValueError(f"not a subscription group: tag 0x{group.tag:02x}")
    recipient = group.get("notify-recipient-uri")
    pull = group.get("notify-pull-method")
    if recipient is not None and pull is not None:
        raise TemplateError(
            "a subscription template has both notify-recipient-uri "
            "and notify-pull-method"
        )
    if recipient is None and pull is None:
        raise TemplateError(
            "a subscription template needs notify-recipient-uri or notify-pull-method"
        )

    echo: Dict[str, Attribute] = {}
    codes: Set[int] = set()
    perJob = jobId is not None

    recipientUri: Optional[str] = None
    pullMethod: Optional[str] = None
    if recipient is not None:
        uri = _string(recipient, ValueTag.URI)
        scheme = None if uri is None else _schemeOf(uri)
        if scheme is None:
            codes.add(CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED)
            echo[recipient.name] = recipient
        elif scheme not in policy.schemesSupported:
            codes.add(CLIENT_ERROR_URI_SCHEME_NOT_SUPPORTED)
            echo[recipient.name] = recipient
        else:
            recipientUri = uri
    if pull is not None:
        method = _string(pull, ValueTag.KEYWORD)
        if method is not None and method in policy.pullMethodsSupported:
            pullMethod = method
        else:
            codes.add(CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED)
            echo[pull.name] = pull

    events = _templateEvents(group.get("notify-events"), policy, echo, codes)

    notifyAttributes = group.get("notify-attributes")
    if notifyAttributes is not None and notifyAttributes.values != ("none",):
        echo[notifyAttributes.name] = _unsupportedAttribute(notifyAttributes.name)

    userData = b""
    attribute = group.get("notify-user-data")
    if attribute is not None:
        value = _single(attribute, ValueTag.OCTET_STRING)
        if isinstance(value, bytes) and len(value) <= policy.maxUserData:
            userData = value
        else:
            echo[attribute.name] = attribute

    notifyCharset = charset
    attribute = group.get("notify-charset")
    if attribute is not None:
        value = _string(attribute, ValueTag.CHARSET)
        if value is not None and value.lower() in policy.charsetsSupported:
            notifyCharset = value.lower()
        else:
            echo[attribute.name] = attribute

    naturalLanguage = language
    attribute = group.get("notify-natural-language")
    if attribute is not None:
        value = _string(attribute, ValueTag.NATURAL_LANGUAGE)
        if value is not None and 0 < len(value) <= 63:
            naturalLanguage = value
        else:
            echo[attribute.name] = attribute

    grantedLease: Optional[int] = None
    substituted = False
    attribute = group.get("notify-lease-duration")
    if perJob:
        if attribute is not None:
            echo[attribute.name] = _unsupportedAttribute(attribute.name)
    else:
        requested = None if attribute is None else _integer(attribute)
        if attribute is not None and (requested is None or requested < 0):
            # The granted value goes in the same response group, so the bad one
            # cannot be echoed: it is substituted, like a clamped one.
            requested = None
            substituted = True
        grantedLease = grantLease(requested, policy)
        if requested is not None and grantedLease != requested:
            substituted = True

    timeInterval = 0
    attribute = group.get("notify-time-interval")
    if attribute is not None:
        interval = _integer(attribute)
        if (
            interval is not None
            and interval >= 0
            and "job-progress" in policy.eventsSupported
        ):
            timeInterval = interval
        else:
            echo[attribute.name] = attribute

    for attribute in group.attributes:
        name = attribute.name
        if name in TEMPLATE_ATTRIBUTES or name in echo:
            continue
        if name == "notify-job-id" and perJob and attribute.values == (jobId,):
            continue
        echo[name] = _unsupportedAttribute(name)

    if _limitReached(policy, counts):
        codes.add(CLIENT_ERROR_TOO_MANY_SUBSCRIPTIONS)

    if echo or substituted:
        codes.add(SUCCESSFUL_OK_IGNORED_OR_SUBSTITUTED_ATTRIBUTES)
    statusCode = next((code for code in STATUS_PRECEDENCE if code in codes), None)
    order = {name: index for index, name in enumerate(group.names())}
    unsupported = tuple(
        sorted(echo.values(), key=lambda a: order.get(a.name, len(order)))
    )
    if events is None or codes & _NOT_CREATED:
        return TemplateResult(None, statusCode, unsupported, None)
    subscription = Subscription(
        subscriptionId=0,
        printerUri=printerUri,
        events=events,
        recipientUri=recipientUri,
        pullMethod=pullMethod,
        jobId=jobId,
        userData=userData,
        charset=notifyCharset,
        naturalLanguage=naturalLanguage,
        leaseDuration=grantedLease,
        leaseExpiresAt=None if grantedLease is None else leaseExpiry(now, grantedLease),
        timeInterval=timeInterval,
        subscriberUserName=userName or "anonymous",
        createdAt=now,
    )
    return TemplateResult(subscription, statusCode, unsupported, grantedLease)


def _templateEvents(
    attribute: Optional[Attribute],
    policy: SubscriptionPolicy,
    echo: Dict[str, Attribute],
    codes: Set[int],
) -> Optional[Tuple[str, ...]]:
    """
    The C{notify-events} of a template: the default when missing; unsupported
    values and those beyond L{SubscriptionPolicy.maxEvents} go to C{echo}.

    @return: the events to keep, or C{None} if none is left (or only C{none} was
        asked), in which case C{0x040B} is added to C{codes}.
    """
    if attribute is None:
        return tuple(policy.eventsDefault)
    if attribute.values == ("none",) and attribute.tags == (ValueTag.KEYWORD,):
        codes.add(CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED)
        return None
    kept: List[str] = []
    badValues: List[Value] = []
    badTags: List[int] = []
    for value, tag in zip(attribute.values, attribute.tags):
        if (
            tag == ValueTag.KEYWORD
            and isinstance(value, str)
            and value in policy.eventsSupported
        ):
            if value not in kept:
                kept.append(value)
        else:
            badValues.append(value)
            badTags.append(tag)
    if len(kept) > policy.maxEvents:
        codes.add(SUCCESSFUL_OK_TOO_MANY_EVENTS)
        for value in kept[policy.maxEvents :]:
            badValues.append(value)
            badTags.append(ValueTag.KEYWORD)
        del kept[policy.maxEvents :]
    if badValues:
        echo[attribute.name] = Attribute(
            attribute.name, tuple(badValues), tuple(badTags)
        )
    if not kept:
        codes.add(CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED)
        return None
    return tuple(kept)


def _limitReached(policy: SubscriptionPolicy, counts: SubscriptionCounts) -> bool:
    for limit, count in (
        (policy.maxSubscriptions, counts.total),
        (policy.maxSubscriptionsPerPrinter, counts.printer),
        (policy.maxSubscriptionsPerUser, counts.user),
    ):
        if limit is not None and count >= limit:
            return True
    return False


def responseGroup(
    result: TemplateResult, subscriptionId: Optional[int] = None
) -> Group:
    """
    The response's subscription group for one template group (RFC 3995 section
    5.2 rule 8).

    @param result: what L{validateTemplate} made of the template.
    @param subscriptionId: the id the store gave the new subscription; C{None} to
        leave C{notify-subscription-id} out (Validate-Job shows what would happen).
    @return: a 0x06 group with C{notify-subscription-id} if created,
        C{notify-lease-duration} if a per-printer subscription was created, the
        unsupported attributes, and C{notify-status-code} when there is one.
    @raise ValueError: for a C{subscriptionId} below 1.
    """
    attributes: List[Attribute] = []
    if result.created:
        if subscriptionId is not None:
            if subscriptionId < 1:
                raise ValueError("notify-subscription-id must be 1 or more")
            attributes.append(
                Attribute.integer("notify-subscription-id", subscriptionId)
            )
        if result.grantedLease is not None:
            attributes.append(
                Attribute.integer("notify-lease-duration", result.grantedLease)
            )
    attributes.extend(result.unsupported)
    if result.statusCode is not None:
        attributes.append(Attribute.enum("notify-status-code", result.statusCode))
    return Group(GroupTag.SUBSCRIPTION, attributes)


def overallStatus(
    results: Sequence[TemplateResult], isJobCreation: bool = False
) -> int:
    """
    The operation's status for its template groups (RFC 3995 sections 12.1, 12.2).

    @param results: the outcome of each template group.
    @param isJobCreation: whether the operation creates a job (Print-Job,
        Print-URI, Create-Job), whose success never depends on its subscriptions.
    @return: C{0x0000} when every subscription was created (or there were no
        templates); otherwise C{0x0003} successful-ok-ignored-subscriptions, or,
        for Create-Printer- and Create-Job-Subscriptions when none was created,
        C{0x0414} client-error-ignored-all-subscriptions.
    """
    failed = sum(1 for result in results if not result.created)
    if failed == 0:
        return SUCCESSFUL_OK
    if failed == len(results) and not isJobCreation:
        return CLIENT_ERROR_IGNORED_ALL_SUBSCRIPTIONS
    return SUCCESSFUL_OK_IGNORED_SUBSCRIPTIONS


# -- Describing ----------------------------------------------------------------------

#: What the group names of C{requested-attributes} stand for (RFC 3995 section
#: 11.2.4).
REQUESTED_GROUPS: Mapping[str, FrozenSet[str]] = {
    "subscription-template": frozenset(TEMPLATE_ATTRIBUTES),
    "subscription-description": frozenset(DESCRIPTION_ATTRIBUTES),
    "all": frozenset(TEMPLATE_ATTRIBUTES + DESCRIPTION_ATTRIBUTES),
}


def upTime(when: float, startedAt: float) -> int:
    """
    A time as C{printer-up-time}.

    @param when: seconds since the epoch.
    @param startedAt: when the printer object started, in seconds since the epoch;
        C{0.0} gives Unix time, as CUPS uses.
    @return: whole seconds since C{startedAt}, at least 1 and at most
        L{MAX_INTEGER} (C{integer(1:MAX)}).
    """
    return max(1, min(MAX_INTEGER, int(when - startedAt)))


def expandRequested(requested: Iterable[str]) -> FrozenSet[str]:
    """
    @param requested: the values of C{requested-attributes}.
    @return: the attribute names they ask for, with the group names C{all},
        C{subscription-template} and C{subscription-description} expanded.
    """
    if isinstance(requested, str):
        requested = (requested,)
    names: Set[str] = set()
    for name in requested:
        names |= REQUESTED_GROUPS.get(name, frozenset({name}))
    return frozenset(names)


def describe(
    subscription: Subscription,
    requested: Iterable[str] = ("all",),
    *,
    startedAt: float = 0.0,
    now: Optional[float] = None,
) -> Group:
    """
    The subscription group of Get-Subscription-Attributes or Get-Subscriptions
    (RFC 3995 sections 11.2.4, 11.2.5).

    Only the attributes the subscription has are given: C{notify-job-id} for a
    per-job one, the lease attributes for a per-printer one, C{notify-user-data}
    when it is not empty, C{notify-printer-up-time} only when C{now} is given.

    @param subscription: the subscription.
    @param requested: the values of C{requested-attributes} (names, or C{all},
        C{subscription-template}, C{subscription-description}); the default is
        Get-Subscription-Attributes' C{all}, Get-Subscriptions asks for
        C{notify-subscription-id}.  Unknown names are ignored.
    @param startedAt: when the printer object started (seconds since the epoch),
        to give C{notify-lease-expiration-time} as a C{printer-up-time}.
    @param now: the current time, for C{notify-printer-up-time}.
    @return: a 0x06 group.
    """
    names = expandRequested(requested)
    sub = subscription
    perPrinter = not sub.isPerJob
    candidates: List[Tuple[bool, Attribute]] = [
        (True, Attribute.integer("notify-subscription-id", sub.subscriptionId)),
        (True, Attribute.uri("notify-printer-uri", sub.printerUri)),
    ]
    if sub.jobId is not None:
        candidates.append((True, Attribute.integer("notify-job-id", sub.jobId)))
    if sub.recipientUri is not None:
        candidates.append(
            (True, Attribute.uri("notify-recipient-uri", sub.recipientUri))
        )
    if sub.pullMethod is not None:
        candidates.append(
            (True, Attribute.keyword("notify-pull-method", sub.pullMethod))
        )
    if sub.events:
        candidates.append((True, Attribute.keyword("notify-events", *sub.events)))
    candidates += [
        (bool(sub.userData), Attribute.octetString("notify-user-data", sub.userData)),
        (True, Attribute.charset("notify-charset", sub.charset)),
        (
            True,
            Attribute.naturalLanguage("notify-natural-language", sub.naturalLanguage),
        ),
    ]
    if perPrinter and sub.leaseDuration is not None:
        expiration = (
            0 if sub.leaseExpiresAt is None else upTime(sub.leaseExpiresAt, startedAt)
        )
        candidates += [
            (True, Attribute.integer("notify-lease-duration", sub.leaseDuration)),
            (True, Attribute.integer("notify-lease-expiration-time", expiration)),
        ]
    if perPrinter and now is not None:
        candidates.append(
            (True, Attribute.integer("notify-printer-up-time", upTime(now, startedAt)))
        )
    candidates += [
        (True, Attribute.integer("notify-time-interval", sub.timeInterval)),
        (
            True,
            Attribute.nameValue("notify-subscriber-user-name", sub.subscriberUserName),
        ),
        (True, Attribute.integer("notify-sequence-number", sub.lastSequence)),
    ]
    return Group(
        GroupTag.SUBSCRIPTION,
        [
            attribute
            for wanted, attribute in candidates
            if wanted and attribute.name in names
        ],
    )
