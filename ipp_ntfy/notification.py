"""
The notification protocol, without I/O: L{Event}, reports to and from L{Message}
in both dialects, and the per-report status rules.

Two dialects carry the same thing, one 0x07 group per event after an operation group
with C{attributes-charset}, C{attributes-natural-language} and
C{notify-recipient-uri}:

    - C{"report"}: Report-Ipp-Notifications of the HTTP delivery draft
      (draft-ietf-ipp-not-http-delivery-00): version 1.0, operation-id 0x0003 (the
      number is Print-URI in IPP/1.1 and later, so the pairing with 1.0 is what
      identifies it).  Per-report answers are C{notification-report-status-code}.
    - C{"indp"}: Send-Notifications of the 'indp' method draft: operation-id
      0x001D with IPP version 1.1 or 2.x (1.0, which the draft itself names, is
      accepted too).  Per-report answers are C{notify-status-code}.

The response has an overall status (L{overallStatus}) and, whenever some report's
status is not C{successful-ok}, one 0x07 group per report in order.  A report is
I{consumed} when its status is 0x0000 or 0x0006 (L{isConsumed}).

Sender side: L{buildReport} (or L{encodeReport}, from events already encoded), then
L{parseResponse}.  Listener side: L{parseReport},
then L{buildResponse} (or L{buildErrorResponse} / L{buildDecodeErrorResponse} when
the request is bad).  Every protocol problem is a L{NotificationError} whose
C{statusCode} is the IPP status to answer with.

This module imports nothing from Twisted and never reads the clock: the receive time
of an event is given by the caller.
"""

from __future__ import annotations

import base64
import datetime
import re
from dataclasses import MISSING, dataclass, field, fields
from enum import IntEnum
from operator import itemgetter
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Sequence,
    Tuple,
)

from .ipp import (
    DEFAULT_LIMITS,
    Attribute,
    Collection,
    DateTime,
    Group,
    GroupTag,
    IppDecodeError,
    Limits,
    Message,
    OutOfBand,
    Range,
    Resolution,
    TextWithLanguage,
    Unknown,
    Value,
    ValueTag,
    decode,
    encode,
)
from .ipp.format import valueToJSON
from .ipp.registry import REPORT_IPP_NOTIFICATIONS, statusName
from .ipp.tags import groupTagName, valueTagByName

__all__ = [
    "DIALECT_REPORT",
    "DIALECT_INDP",
    "SEND_NOTIFICATIONS",
    "STATUS_OK",
    "STATUS_OK_IGNORED_NOTIFICATIONS",
    "STATUS_BAD_REQUEST",
    "STATUS_CHARSET_NOT_SUPPORTED",
    "STATUS_IGNORED_ALL_NOTIFICATIONS",
    "STATUS_OPERATION_NOT_SUPPORTED",
    "STATUS_VERSION_NOT_SUPPORTED",
    "NotificationError",
    "Event",
    "ReportStatus",
    "ReportRequest",
    "ReportResponse",
    "isConsumed",
    "cancelsSubscription",
    "isTemporaryFailure",
    "overallStatus",
    "buildReport",
    "EncodedEvent",
    "encodeReport",
    "parseReport",
    "buildResponse",
    "buildErrorResponse",
    "buildDecodeErrorResponse",
    "parseResponse",
    "eventFromNotifierMessage",
    "describeStatus",
    "ALIASES",
    "MACHINE_CONSUMABLE_REPORT",
]

#: The dialect of Report-Ipp-Notifications (version 1.0, operation 0x0003).
DIALECT_REPORT = "report"
#: The dialect of Send-Notifications ('indp', operation 0x001D, IPP/1.1 or 2.x).
DIALECT_INDP = "indp"

#: Send-Notifications, the operation of the 'indp' draft.
SEND_NOTIFICATIONS = 0x001D

#: successful-ok: every report was consumed.
STATUS_OK = 0x0000
#: successful-ok-ignored-notifications (indp draft): some reports were not consumed.
STATUS_OK_IGNORED_NOTIFICATIONS = 0x0004
#: client-error-bad-request: the request is malformed.
STATUS_BAD_REQUEST = 0x0400
#: client-error-charset-not-supported.
STATUS_CHARSET_NOT_SUPPORTED = 0x040D
#: client-error-ignored-all-notifications (indp draft): no report was consumed.
STATUS_IGNORED_ALL_NOTIFICATIONS = 0x0416
#: server-error-operation-not-supported: neither dialect's operation.
STATUS_OPERATION_NOT_SUPPORTED = 0x0501
#: server-error-version-not-supported.
STATUS_VERSION_NOT_SUPPORTED = 0x0503

_DEFAULT_VERSIONS = {DIALECT_REPORT: (1, 0), DIALECT_INDP: (1, 1)}
_VERSIONS = {
    DIALECT_REPORT: frozenset({(1, 0)}),
    DIALECT_INDP: frozenset({(1, 0), (1, 1), (2, 0), (2, 1), (2, 2)}),
}
_OPERATIONS = {
    DIALECT_REPORT: REPORT_IPP_NOTIFICATIONS,
    DIALECT_INDP: SEND_NOTIFICATIONS,
}
_STATUS_ATTRIBUTES = {
    DIALECT_REPORT: "notification-report-status-code",
    DIALECT_INDP: "notify-status-code",
}
# Per-report status attribute names accepted in a response: both dialects' names,
# and the seed draft's shorthand.
_STATUS_NAMES = (
    "notification-report-status-code",
    "notify-status-code",
    "ntfy-status-code",
)
_CHARSETS = frozenset({"utf-8", "us-ascii"})
_INT32_MIN = -(2**31)
_INT32_MAX = 2**31 - 1


class NotificationError(ValueError):
    """
    A report, response or event does not follow the notification protocol.

    @ivar reason: what is wrong, in words.
    @ivar group: the 1-based position of the group at fault among the message's
        groups (as L{IppEncodeError <ipp_ntfy.ipp.IppEncodeError>} counts them), or
        C{None} when the fault is not in one group.
    @ivar attribute: the name of the attribute at fault, if one is.
    @ivar statusCode: the IPP status a listener answers with: 0x0400
        (client-error-bad-request) unless the operation (0x0501), the version
        (0x0503) or the charset (0x040D) is what is wrong.
    """

    def __init__(
        self,
        reason: str,
        group: Optional[int] = None,
        attribute: Optional[str] = None,
        statusCode: int = STATUS_BAD_REQUEST,
    ) -> None:
        super().__init__(reason, group, attribute, statusCode)
        self.reason = reason
        self.group = group
        self.attribute = attribute
        self.statusCode = statusCode

    def inGroup(self, group: int) -> NotificationError:
        """
        @param group: the 1-based position of the group at fault.
        @return: the same error, located in C{group}.
        """
        return NotificationError(self.reason, group, self.attribute, self.statusCode)

    def __str__(self) -> str:
        if self.group is None:
            return self.reason
        return f"group {self.group}: {self.reason}"


# --- Event -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Core:
    """
    An attribute of the RFC 3995 section 9 content that has a typed L{Event} field.

    @ivar kind: C{"int"}, C{"str"}, C{"bytes"} or C{"keywords"} (1setOf keyword).
    """

    name: str
    field: str
    tag: int
    kind: str


_CORE = (
    _Core("notify-charset", "charset", ValueTag.CHARSET, "str"),
    _Core(
        "notify-natural-language", "naturalLanguage", ValueTag.NATURAL_LANGUAGE, "str"
    ),
    _Core("notify-subscription-id", "subscriptionId", ValueTag.INTEGER, "int"),
    _Core("notify-sequence-number", "sequenceNumber", ValueTag.INTEGER, "int"),
    _Core("notify-subscribed-event", "event", ValueTag.KEYWORD, "str"),
    _Core("notify-user-data", "userData", ValueTag.OCTET_STRING, "bytes"),
    _Core("printer-up-time", "printerUpTime", ValueTag.INTEGER, "int"),
    _Core("notify-text", "text", ValueTag.TEXT, "str"),
    _Core("notify-printer-uri", "printerUri", ValueTag.URI, "str"),
    _Core("printer-state", "printerState", ValueTag.ENUM, "int"),
    _Core("printer-state-reasons", "printerStateReasons", ValueTag.KEYWORD, "keywords"),
    _Core("notify-job-id", "jobId", ValueTag.INTEGER, "int"),
    _Core("job-state", "jobState", ValueTag.ENUM, "int"),
    _Core("job-state-reasons", "jobStateReasons", ValueTag.KEYWORD, "keywords"),
)
_CORE_BY_NAME = {core.name: core for core in _CORE}

# The order in which cupsd 2.4 writes an event (scheduler/subscriptions.c), with
# printer-current-time where RFC 3995 Table 5 puts it; attributes not listed follow
# in the order they came.
_ORDER = (
    "notify-charset",
    "notify-natural-language",
    "notify-subscription-id",
    "notify-sequence-number",
    "notify-subscribed-event",
    "notify-user-data",
    "printer-up-time",
    "printer-current-time",
    "notify-text",
    "notify-printer-uri",
    "printer-name",
    "printer-state",
    "printer-state-reasons",
    "printer-is-accepting-jobs",
    "notify-job-id",
    "job-state",
    "job-name",
    "job-state-reasons",
    "job-impressions-completed",
)

#: The seed draft's flat names ("Option 2", also the members of its "Option 1"
#: C{machine-consumable-report} collection) and the RFC 3995 names they stand for.
#: C{sequence-number} is ours: the seed has no sequence number.
ALIASES: Mapping[str, str] = {
    "subscription-id": "notify-subscription-id",
    "sequence-number": "notify-sequence-number",
    "trigger-event": "notify-subscribed-event",
    "trigger-time": "printer-up-time",
    "trigger-date-time": "printer-current-time",
    "subscriber-user-data": "notify-user-data",
    "subscriber-user-name": "notify-subscriber-user-name",
    "human-readable-report": "notify-text",
    "printer-uri": "notify-printer-uri",
    "job-id": "notify-job-id",
    "attributes-charset": "notify-charset",
    "attributes-natural-language": "notify-natural-language",
}

#: The seed draft's "Option 1": the machine-readable content as one collection.
MACHINE_CONSUMABLE_REPORT = "machine-consumable-report"

_REQUIRED = (
    "notify-subscription-id",
    "notify-sequence-number",
    "notify-subscribed-event",
)
_ALIAS_OF = {rfc: alias for alias, rfc in ALIASES.items()}

# Syntaxes of the attributes events carry (RFC 3995 Tables 5-8, CUPS, ippserver),
# used by Event.fromJSON to give each value its tag back.
_SYNTAXES: Mapping[str, int] = {
    **{core.name: core.tag for core in _CORE},
    "printer-current-time": ValueTag.DATE_TIME,
    "notify-subscription-uuid": ValueTag.URI,
    "notify-subscriber-user-name": ValueTag.NAME,
    "notify-lease-expiration-time": ValueTag.INTEGER,
    "printer-name": ValueTag.NAME,
    "printer-is-accepting-jobs": ValueTag.BOOLEAN,
    "printer-state-message": ValueTag.TEXT,
    "printer-state-change-time": ValueTag.INTEGER,
    "printer-state-change-date-time": ValueTag.DATE_TIME,
    "printer-config-change-time": ValueTag.INTEGER,
    "printer-config-change-date-time": ValueTag.DATE_TIME,
    "printer-message-from-operator": ValueTag.TEXT,
    "printer-uuid": ValueTag.URI,
    "job-id": ValueTag.INTEGER,
    "job-name": ValueTag.NAME,
    "job-uri": ValueTag.URI,
    "job-uuid": ValueTag.URI,
    "job-state-message": ValueTag.TEXT,
    "job-detailed-status-messages": ValueTag.TEXT,
    "job-message-from-operator": ValueTag.TEXT,
    "job-impressions-completed": ValueTag.INTEGER,
    "job-media-sheets-completed": ValueTag.INTEGER,
    "job-k-octets-processed": ValueTag.INTEGER,
    "job-printer-up-time": ValueTag.INTEGER,
}

_DATE_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d)([+-])(\d{2}):(\d{2})\Z"
)


def _isInt(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _coreValue(attribute: Attribute, core: _Core) -> Any:
    """
    @return: the L{Event} field value that C{attribute} gives: C{None} (or C{()}) when
        its value is out-of-band; only the first value of a single-valued attribute.
    @raise NotificationError: if a value has the wrong type for the field.
    """
    if core.kind == "keywords":
        keywords = []
        for value in attribute.values:
            if isinstance(value, OutOfBand):
                continue
            if not isinstance(value, str):
                raise NotificationError(
                    f"{attribute.name} must be keywords, not {value!r}",
                    attribute=attribute.name,
                )
            keywords.append(value)
        return tuple(keywords)
    value = attribute.values[0]
    if isinstance(value, OutOfBand):
        return None
    if core.kind == "int":
        if _isInt(value):
            return value
    elif core.kind == "str":
        if isinstance(value, TextWithLanguage):
            return value.text
        if isinstance(value, str):
            return value
    elif core.kind == "bytes":
        if isinstance(value, bytes):
            return value
        if isinstance(value, str):
            return value.encode("utf-8")
    expected = {"int": "an integer", "str": "a string", "bytes": "an octetString"}
    raise NotificationError(
        f"{attribute.name} must be {expected[core.kind]}, not {value!r}",
        attribute=attribute.name,
    )


_UTC = datetime.timezone.utc


def _utc(when: object) -> Optional[datetime.datetime]:
    """
    @return: C{when} in UTC, or C{None} for C{None}.
    @raise NotificationError: if C{when} is not an aware datetime.
    """
    if when is None:
        return None
    if type(when) is datetime.datetime and when.tzinfo is _UTC:
        return when
    if not isinstance(when, datetime.datetime) or when.utcoffset() is None:
        raise NotificationError(f"receivedAt must be an aware datetime, not {when!r}")
    return when.astimezone(_UTC)


def _sameValue(attribute: Attribute, core: _Core, value: object) -> bool:
    try:
        return bool(_coreValue(attribute, core) == value)
    except NotificationError:
        return False


def _coreAttribute(core: _Core, value: Any) -> Attribute:
    if core.kind == "keywords":
        return Attribute.of(core.name, core.tag, *value)
    return Attribute.of(core.name, core.tag, value)


@dataclass(frozen=True)
class Event:
    """
    One event notification, from any source, as everything in ipp_ntfy passes it on.

    The typed fields are the RFC 3995 section 9 content that code acts on;
    L{attributes} is the whole 0x07 group (printer-name, job-name,
    printer-is-accepting-jobs, vendor attributes...), so nothing is lost.  The two
    agree by construction: the constructor rebuilds L{attributes} from the fields,
    in the order cupsd writes an event (charset, language, subscription id,
    sequence number, subscribed event, user data, printer-up-time, text, printer
    URI, printer attributes, job attributes, then everything else as it came).  An
    attribute given in C{attributes} that a typed field covers is kept as given
    (its value tag too) when it says the same as the field, and replaced by the
    field's value otherwise: the fields win.  Give C{attributes} under RFC 3995
    names; L{fromGroup} is what reads the seed draft's names (and it keeps a group
    that already has this form as it is, rather than rebuild an equal one).

    Equality covers every field, L{attributes} included.  Events of one
    subscription are told apart by L{key}.

    @ivar source: where the event came from (a listener path, an upstream URI, the
        CUPS notifier...), chosen by whoever received it.
    @ivar subscriptionId: C{notify-subscription-id}.
    @ivar sequenceNumber: C{notify-sequence-number}.
    @ivar event: C{notify-subscribed-event}, the event keyword (C{"job-completed"}).
    @ivar printerUri: C{notify-printer-uri}; C{None} for CUPS's server events.
    @ivar jobId: C{notify-job-id} (C{job-id} on input), for job events.
    @ivar printerState: C{printer-state} (3 idle, 4 processing, 5 stopped).
    @ivar printerStateReasons: C{printer-state-reasons}; C{()} if absent.
    @ivar jobState: C{job-state} (3 pending ... 9 completed).
    @ivar jobStateReasons: C{job-state-reasons}; C{()} if absent.
    @ivar printerUpTime: C{printer-up-time}, the printer's clock at the event.
    @ivar receivedAt: when ipp_ntfy received the event (aware, kept in UTC), given by
        the caller; C{None} if nobody received it yet.
    @ivar userData: C{notify-user-data}; C{None} if absent (C{b""} is present and
        empty).
    @ivar text: C{notify-text}, for humans only.
    @ivar charset: C{notify-charset}.
    @ivar naturalLanguage: C{notify-natural-language}.
    @ivar attributes: the full event-notification group (tag 0x07), RFC 3995 names.
    """

    source: str
    subscriptionId: int
    sequenceNumber: int
    event: str
    printerUri: Optional[str] = None
    jobId: Optional[int] = None
    printerState: Optional[int] = None
    printerStateReasons: Tuple[str, ...] = ()
    jobState: Optional[int] = None
    jobStateReasons: Tuple[str, ...] = ()
    printerUpTime: Optional[int] = None
    receivedAt: Optional[datetime.datetime] = None
    userData: Optional[bytes] = None
    text: Optional[str] = None
    charset: str = "utf-8"
    naturalLanguage: str = "en"
    attributes: Group = field(default=Group(GroupTag.EVENT_NOTIFICATION))

    def __post_init__(self) -> None:
        if not isinstance(self.source, str):
            raise NotificationError(f"source must be a string, not {self.source!r}")
        for core in _CORE:
            value = getattr(self, core.field)
            if core.kind == "keywords":
                if isinstance(value, (str, bytes)):
                    raise NotificationError(
                        f"{core.field} must be a tuple of keywords, not {value!r}",
                        attribute=core.name,
                    )
                value = tuple(value)
                if not all(isinstance(v, str) for v in value):
                    raise NotificationError(
                        f"{core.field} must be keywords, not {value!r}",
                        attribute=core.name,
                    )
                object.__setattr__(self, core.field, value)
            elif value is None:
                if core.name in _REQUIRED or core.field in (
                    "charset",
                    "naturalLanguage",
                ):
                    raise NotificationError(f"{core.field} is required")
            elif core.kind == "int":
                if not _isInt(value) or not _INT32_MIN <= value <= _INT32_MAX:
                    raise NotificationError(
                        f"{core.field} must be a 32-bit integer, not {value!r}",
                        attribute=core.name,
                    )
            elif core.kind == "str":
                if not isinstance(value, str):
                    raise NotificationError(
                        f"{core.field} must be a string, not {value!r}",
                        attribute=core.name,
                    )
            elif isinstance(value, (bytearray, memoryview)):
                object.__setattr__(self, core.field, bytes(value))
            elif not isinstance(value, bytes):
                raise NotificationError(
                    f"{core.field} must be bytes, not {value!r}", attribute=core.name
                )
        if not self.event:
            raise NotificationError("event must not be empty")
        object.__setattr__(self, "receivedAt", _utc(self.receivedAt))
        object.__setattr__(self, "attributes", self._render(self.attributes))

    def _render(self, given: Iterable[Attribute]) -> Group:
        """
        @return: the group for this event: the typed fields, then the attributes of
            C{given} that no field covers, in cupsd's order.
        """
        given = list(given)
        byName: Dict[str, Attribute] = {}
        for attribute in given:
            byName.setdefault(attribute.name, attribute)
        placed: Dict[str, Attribute] = {}
        for core in _CORE:
            value = getattr(self, core.field)
            existing = byName.get(core.name)
            if existing is not None and _sameValue(existing, core, value):
                placed[core.name] = existing
            elif value is not None and value != ():
                placed[core.name] = _coreAttribute(core, value)
        others = [a for a in given if a.name not in _CORE_BY_NAME]
        for attribute in others:
            if attribute.name in _ORDER and attribute.name not in placed:
                placed[attribute.name] = attribute
        ordered = [placed[name] for name in _ORDER if name in placed]
        ordered.extend(a for a in others if placed.get(a.name) is not a)
        return Group(GroupTag.EVENT_NOTIFICATION, ordered)

    @property
    def key(self) -> Tuple[str, int, int]:
        """
        C{(source, subscriptionId, sequenceNumber)}: what tells a re-sent event from
        a new one.
        """
        return (self.source, self.subscriptionId, self.sequenceNumber)

    @classmethod
    def fromGroup(
        cls,
        group: Iterable[Attribute],
        *,
        source: str,
        receivedAt: Optional[datetime.datetime] = None,
    ) -> Event:
        """
        Read an event from its attributes.

        Accepted: the RFC 3995 section 9 names as CUPS and ippserver send them
        (C{notify-job-id} or C{job-id}), the seed draft's flat names (L{ALIASES}:
        C{subscription-id}, C{trigger-event}, C{trigger-time}, C{trigger-date-time},
        C{subscriber-user-data}, C{human-readable-report}, C{printer-uri},
        C{job-id}...), and its C{machine-consumable-report} collection whose members
        have either kind of name.  All of these give the same event, under the RFC
        names.  A flat name is only renamed when the group does not also hold the
        RFC name (then it stays as it is).  A single-valued attribute with several
        values gives its first one to the typed field and is kept whole.

        A group that already is what the constructor would rebuild (RFC 3995 names,
        each once, in cupsd's order, with C{notify-charset} and
        C{notify-natural-language}, every typed value of its field's type: the
        events CUPS and ipp_ntfy write) is read in one pass and kept as it is:
        C{event.attributes} is then C{group} itself, not a copy, and the fields
        are not checked again.  This is only quicker: the event is equal to the
        one rebuilt.  A decoded group is read without building its attributes.

        @param group: an event-notification group (tag 0x07), or the attributes
            (a L{Collection} too).
        @param source: see L{source}.
        @param receivedAt: see L{receivedAt}.
        @return: the event; C{event.toGroup()} is C{group} under RFC names, in
            cupsd's order.
        @raise NotificationError: if C{notify-subscription-id},
            C{notify-sequence-number} or C{notify-subscribed-event} is missing, a
            value has the wrong type, the same attribute comes twice with different
            values, or C{group} is a group of another tag.
        """
        return _eventFromAttributes(group, source, receivedAt, "utf-8", "en")

    def toGroup(self) -> Group:
        """
        @return: the event-notification group (tag 0x07), as cupsd writes one; the
            same as L{attributes}.  C{Event.fromGroup(e.toGroup(), source=e.source,
            receivedAt=e.receivedAt) == e}.
        """
        return self.attributes

    def toJSON(self) -> Dict[str, Any]:
        """
        The JSON form of the event: a dict ready for C{json.dumps}.

        Keys, in this order: C{"source"} (L{source}), C{"received-at"}
        (L{receivedAt} in ISO 8601 with C{+00:00}, or C{None}), then every attribute
        of L{toGroup} by its IPP name, in group order
        (C{"notify-subscription-id"}, C{"notify-subscribed-event"}, ...).

        An attribute's value is a single JSON value when it has one value and a
        list when it has several; C{printer-state-reasons}, C{job-state-reasons} and
        any other C{*-reasons} attribute are always lists.  One value is:
            - integer, enum: a number (enums are not named: C{"job-state": 9});
            - boolean: C{true}/C{false};
            - every string syntax (text, name, keyword, uri, charset...): a string;
            - octetString: C{{"octets": base64}} (C{notify-user-data});
            - dateTime: C{"2024-05-01T12:00:00.0+00:00"} (ISO 8601, tenths);
            - textWithLanguage, nameWithLanguage: C{{"text": ..., "language": ...}};
            - rangeOfInteger: C{{"lower": ..., "upper": ...}};
            - resolution: C{{"cross-feed": ..., "feed": ..., "units": 3 or 4}};
            - collection: an object of member name to a list of values;
            - out-of-band: C{{"out-of-band": "no-value"}} (or C{"unknown"}...);
            - an unknown tag: C{{"tag": n, "octets": base64}}.
        These are the value forms of C{ipp-ntfy decode --json}.

        @return: the dict; L{fromJSON} reads it back.
        """
        result: Dict[str, Any] = {
            "source": self.source,
            "received-at": (
                None if self.receivedAt is None else self.receivedAt.isoformat()
            ),
        }
        for attribute in self.attributes:
            values = [valueToJSON(value) for value in attribute.values]
            if len(values) == 1 and not attribute.name.endswith("-reasons"):
                result[attribute.name] = values[0]
            else:
                result[attribute.name] = values
        return result

    @classmethod
    def fromJSON(cls, data: Mapping[str, Any]) -> Event:
        """
        Read back what L{toJSON} wrote.

        Exact for the attributes of RFC 3995 and those CUPS and ippserver send
        (whose syntax is known here); any other attribute gets a syntax from its
        JSON form: a number is an integer, a string text, an object as described in
        L{toJSON} (any other object a collection).

        @raise NotificationError: if C{data} is not an event's JSON form.
        """
        try:
            source = data["source"]
            receivedText = data["received-at"]
        except KeyError as e:
            raise NotificationError(f"JSON event without {e.args[0]!r}") from None
        receivedAt = None
        if receivedText is not None:
            try:
                receivedAt = datetime.datetime.fromisoformat(receivedText)
            except (TypeError, ValueError):
                raise NotificationError(
                    f"received-at is not an ISO 8601 time: {receivedText!r}"
                ) from None
        attributes = []
        for name, jsonValue in data.items():
            if name in ("source", "received-at"):
                continue
            attributes.append(_attributeFromJSON(name, jsonValue, _SYNTAXES.get(name)))
        return cls.fromGroup(attributes, source=source, receivedAt=receivedAt)


def _normalize(attributes: Iterable[Attribute]) -> List[Attribute]:
    """
    @return: C{attributes} with C{machine-consumable-report} opened up and the
        seed draft's names turned into RFC 3995 ones.
    @raise NotificationError: on a malformed collection or conflicting duplicates.
    """
    flat: List[Attribute] = []
    for attribute in attributes:
        if attribute.name == MACHINE_CONSUMABLE_REPORT:
            if len(attribute.values) != 1 or not isinstance(
                attribute.values[0], Collection
            ):
                raise NotificationError(
                    f"{MACHINE_CONSUMABLE_REPORT} must be one collection",
                    attribute=attribute.name,
                )
            flat.extend(attribute.values[0].attributes)
        else:
            flat.append(attribute)
    present = {attribute.name for attribute in flat}
    result: Dict[str, Attribute] = {}
    for attribute in flat:
        target = ALIASES.get(attribute.name)
        if target is not None and target not in present:
            attribute = attribute._replace(name=target)
        previous = result.get(attribute.name)
        if previous is None:
            result[attribute.name] = attribute
        elif previous.values != attribute.values:
            raise NotificationError(
                f"{attribute.name} given twice with different values",
                attribute=attribute.name,
            )
    return list(result.values())


# --- Reading an event fast -------------------------------------------------------
#
# Nearly every event group already is what the constructor would rebuild from it
# (see _plan): CUPS and ipp_ntfy write exactly that.  Such a group becomes the
# event's attributes as it is, the typed fields are read straight from it, and the
# event is made without __post_init__, which would only check the same values again
# and rebuild an equal group.  Whether a group qualifies, and where each typed field
# is in it, depends only on its sequence of attribute names (its shape), so it is
# decided once per shape.  Anything else takes the full path of
# _eventFromAttributes, which also gives the errors.


class _Plan(NamedTuple):
    """
    Where the typed fields are in a group of one shape, by kind: C{(field, index)}
    pairs, and C{(field, start, stop)} for keywords; indexes into the group's
    attributes or into the decoder's flat field list (then a keyword attribute's
    values are its entries from C{start} to C{stop}).
    """

    ints: Tuple[Tuple[str, int], ...]
    strings: Tuple[Tuple[str, int], ...]
    octets: Tuple[Tuple[str, int], ...]
    keywords: Tuple[Tuple[str, int, int], ...]
    #: The reader of the decoder's flat field list, compiled for this shape (see
    #: L{_compileReader}).
    readFields: Callable[..., Optional[Dict[str, Any]]]


_RANK = {name: rank for rank, name in enumerate(_ORDER)}
_ALWAYS = frozenset({*_REQUIRED, "notify-charset", "notify-natural-language"})
# Plans by shape: the tuple of attribute names, or of the decoder's field names
# (None for an additional value).  None for a shape that takes the full path.
_PLANS: Dict[Tuple[Optional[str], ...], Optional[_Plan]] = {}
_MAX_PLANS = 1024
_name = itemgetter(0)
# Every field of an Event, in order, with its default (None for the required ones,
# which every plan sets).
_DEFAULTS: Dict[str, Any] = {
    f.name: None if f.default is MISSING else f.default for f in fields(Event)
}


def _plan(shape: Tuple[Optional[str], ...]) -> Optional[_Plan]:
    """
    Decide whether groups of this shape are read fast, and where their typed fields
    are.  They are when the group is exactly what L{Event} would rebuild from it:
    every name once (duplicates are for L{_normalize} to check), no
    C{machine-consumable-report} and no flat name to rename (one whose RFC name is
    absent), C{notify-charset}, C{notify-natural-language} and the three required
    attributes present, and the names of L{_ORDER} first, in that order.  The values
    are checked on each read.

    @param shape: the attribute names, in order; or the names of the decoder's flat
        field list, C{None} for an additional value of the attribute before.
    @return: the plan, or C{None} for the full path.
    """
    named = [(index, name) for index, name in enumerate(shape) if name is not None]
    names = {name for _, name in named}
    if (
        not named
        or named[0][0] != 0
        or len(names) != len(named)
        or MACHINE_CONSUMABLE_REPORT in names
        or not _ALWAYS <= names
    ):
        return None
    last = -1
    for _, name in named:
        target = ALIASES.get(name)
        if target is not None and target not in names:
            return None
        # Unlisted names rank last, in any order among themselves.
        rank = _RANK.get(name, len(_ORDER))
        if rank < last:
            return None
        last = rank
    ints: List[Tuple[str, int]] = []
    strings: List[Tuple[str, int]] = []
    octets: List[Tuple[str, int]] = []
    keywords: List[Tuple[str, int, int]] = []
    stops = [index for index, _ in named[1:]] + [len(shape)]
    for (index, name), stop in zip(named, stops):
        core = _CORE_BY_NAME.get(name)
        if core is None:
            continue
        if core.kind == "int":
            ints.append((core.field, index))
        elif core.kind == "str":
            strings.append((core.field, index))
        elif core.kind == "bytes":
            octets.append((core.field, index))
        else:
            keywords.append((core.field, index, stop))
    return _Plan(
        tuple(ints),
        tuple(strings),
        tuple(octets),
        tuple(keywords),
        _compileReader(ints, strings, octets, keywords),
    )


def _compileReader(
    ints: Sequence[Tuple[str, int]],
    strings: Sequence[Tuple[str, int]],
    octets: Sequence[Tuple[str, int]],
    keywords: Sequence[Tuple[str, int, int]],
) -> Callable[..., Optional[Dict[str, Any]]]:
    """
    Compile the reading of a decoded group of one shape (L{_readAttributes}, from
    the decoder's flat field list, and the rest of L{_fastEvent}) into one
    function, C{read(entries, base, group)}, that gives the event's
    C{__dict__}, or C{None} when a value does not have its field's type or
    C{event} is empty.  The dict is a copy of C{base} (every field at its
    default, and the report's C{source} and C{receivedAt}: see L{_base}) with
    the group's fields and C{attributes} set.  A plan is made once a shape and
    used for every group of it: at tens of thousands of events a second, loops
    over the plan's fields and a dict filled from nothing cost more than the
    rest of the event.

    Only the names of L{Event}'s fields and integers go into the source.
    """
    local: Dict[str, str] = {}
    body: List[str] = []
    checks: List[str] = []
    for kind, pairs in (("int", ints), ("str", strings), ("bytes", octets)):
        for name, index in pairs:
            local[name] = name
            body.append(f"    {name} = entries[{index}][2]")
            checks.append(f"type({name}) is {kind}")
            if kind == "int":
                checks.append(f"{_INT32_MIN} <= {name} <= {_INT32_MAX}")
    several: List[str] = []
    for name, start, stop in keywords:
        if stop == start + 1:
            body.append(f"    {name} = entries[{start}][2]")
            checks.append(f"type({name}) is str")
            local[name] = f"({name},)"
        else:
            local[name] = name
            several.append(
                f"    {name} = tuple([entry[2] for entry in entries[{start}:{stop}]])\n"
                f"    for value in {name}:\n"
                f"        if type(value) is not str:\n"
                f"            return None"
            )
    assert local["event"] == "event"
    assert all(name in _DEFAULTS for name in local)
    source = "\n".join(
        [
            "def read(entries, base, group):",
            *body,
            f"    if not ({' and '.join(checks)}):",
            "        return None",
            *several,
            "    if not event:",
            "        return None",
            # A copy of a dict of the same keys is quicker than a dict display.
            "    values = base.copy()",
            *[f"    values[{name!r}] = {value}" for name, value in local.items()],
            "    values['attributes'] = group",
            "    return values",
        ]
    )
    namespace: Dict[str, Any] = {}
    exec(compile(source, "<ipp_ntfy.notification plan>", "exec"), namespace)
    read: Callable[..., Optional[Dict[str, Any]]] = namespace["read"]
    return read


def _readAttributes(
    attributes: Sequence[Attribute], plan: _Plan, values: Dict[str, Any]
) -> bool:
    """
    Read the typed fields of a group from its attributes into C{values}.

    @return: whether every value has its field's type (else nothing is decided:
        the full path reads the group).
    """
    for name, index in plan.ints:
        value = attributes[index][1][0]
        if type(value) is not int or not _INT32_MIN <= value <= _INT32_MAX:
            return False
        values[name] = value
    for name, index in plan.strings:
        value = attributes[index][1][0]
        if type(value) is not str:
            return False
        values[name] = value
    for name, index in plan.octets:
        value = attributes[index][1][0]
        if type(value) is not bytes:
            return False
        values[name] = value
    for name, index, _ in plan.keywords:
        keywords = attributes[index][1]
        if type(keywords) is not tuple:
            return False
        for value in keywords:
            if type(value) is not str:
                return False
        values[name] = keywords
    return True


def _base(source: str, receivedAt: Optional[datetime.datetime]) -> Dict[str, Any]:
    """
    @return: the fields of an event with their default values, but C{source}
        and C{receivedAt}: what L{_fastEvent} copies for each event.
    """
    base = _DEFAULTS.copy()
    base["source"] = source
    base["receivedAt"] = receivedAt
    return base


def _fastEvent(
    group: Group,
    source: str,
    receivedAt: Optional[datetime.datetime],
    base: Optional[Dict[str, Any]] = None,
) -> Optional[Event]:
    """
    Read an event from an event-notification group that already is what L{Event}
    would rebuild, keeping the group as L{Event.attributes}.

    @param source: a C{str}.
    @param receivedAt: C{None} or an aware datetime in UTC (as L{_utc} gives).
    @param base: C{_base(source, receivedAt)}, made once for many events.
    @return: the event, equal to what the full path gives; or C{None} when the
        group is not of that kind, and the full path decides.
    """
    # A decoded group, whose attributes are only built when first asked for:
    # read the decoder's flat list of (name, or None for an additional value,
    # value tag, value) instead (Group._fields, which ipp.message keeps for
    # that).  A group built from attributes has none.  The decoder's fast path
    # also keeps the names of that list (Group._layout).
    entries: Optional[List[Tuple[Optional[str], int, Value]]]
    shape: Tuple[Optional[str], ...]
    layout: Optional[Tuple[Optional[str], ...]] = getattr(group, "_layout", None)
    if layout is not None:
        shape = layout
        entries = group._fields
    else:
        entries = getattr(group, "_fields", None)
        if entries is not None:
            shape = tuple(map(_name, entries))
    if entries is None:
        attributes = group.attributes
        shape = tuple(map(_name, attributes))
    try:
        plan = _PLANS[shape]
    except KeyError:
        plan = _plan(shape)
        if len(_PLANS) >= _MAX_PLANS:
            _PLANS.clear()
        _PLANS[shape] = plan
    if plan is None:
        return None
    if entries is not None:
        if base is None:
            base = _base(source, receivedAt)
        fromFields = plan.readFields(entries, base, group)
        if fromFields is None:
            return None
        values = fromFields
    else:
        values = _DEFAULTS.copy()
        if not _readAttributes(attributes, plan, values) or not values["event"]:
            return None
        values["source"] = source
        values["receivedAt"] = receivedAt
        values["attributes"] = group
    event: Event = _newObject(Event)
    _setAttribute(event, "__dict__", values)
    return event


_newObject = object.__new__
_setAttribute = object.__setattr__

# --- Reading the events of a report that are much alike -----------------------------
#
# The decoder reads the groups of a report that are made alike (the same fields
# but for a few "holes" whose values change, such as notify-sequence-number) with
# one of its remembered groups, and gives them all the same layout object, which
# says where the holes are (ipp_ntfy.ipp.decode._GroupLayout): at any other index
# such groups hold the same field objects.  So once one of them has been read
# (by _fastEvent, every check made), the next only differs in the typed fields
# that are holes and in its attributes: its event's __dict__ is a copy of the
# first's with those set.  That holds where every such hole always has its
# field's type, which its value tag says (see _filler); "event", whose value
# must not be empty, and keyword fields are never taken from a hole.

# The value tags a hole of each kind of field must have.
_HOLE_TAGS = {
    "int": frozenset({0x21, 0x23}),
    "str": frozenset({0x41, 0x42, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49}),
    "bytes": frozenset({0x30}),
}
# Fillers by shape and holes; None where the holes do not allow one.
_FILLERS: Dict[Tuple[Any, ...], Optional[Callable[..., Event]]] = {}
_MAX_FILLERS = 256
# The layout of no group.
_NO_LAYOUT: Any = object()
# The layout object last given to _filler and what it gave, if it had holes.
_lastFiller: Tuple[Any, Optional[Callable[..., Event]]] = (_NO_LAYOUT, None)


def _filler(layout: Tuple[Optional[str], ...]) -> Optional[Callable[..., Event]]:
    """
    @param layout: the layout of a decoded group (C{Group._layout}) whose event
        was read by L{_fastEvent}.
    @return: the filler of groups of that layout object (see L{_compileFiller}),
        or C{None} if the decoder gave no holes or they do not allow one.
    """
    global _lastFiller
    last = _lastFiller
    if last[0] is layout:
        return last[1]
    holes: Optional[Tuple[Tuple[int, int], ...]] = getattr(layout, "holes", None)
    if holes is None:
        return None
    key = (layout, holes)
    try:
        fill = _FILLERS[key]
    except KeyError:
        fill = _newFiller(layout, holes)
        if len(_FILLERS) >= _MAX_FILLERS:
            _FILLERS.clear()
        _FILLERS[key] = fill
    _lastFiller = (layout, fill)
    return fill


def _newFiller(
    layout: Tuple[Optional[str], ...], holes: Tuple[Tuple[int, int], ...]
) -> Optional[Callable[..., Event]]:
    """
    @return: the filler for C{_filler}, made anew.
    """
    plan = _PLANS.get(layout)
    return None if plan is None else _compileFiller(plan, holes)


def _compileFiller(
    plan: _Plan, holes: Tuple[Tuple[int, int], ...]
) -> Optional[Callable[..., Event]]:
    """
    Compile, for decoded groups of one shape and holes, C{fill(entries, values,
    group)}: the event of the group whose decoder's field list is C{entries},
    given the C{__dict__} of the event of another group with the same layout
    object (C{values}, not changed).

    Only the names of L{Event}'s fields and integers go into the source.

    @return: the filler; C{None} if a hole is the value of C{event} or of a
        keyword field, or its tag does not give its field's type.
    """
    tags = dict(holes)
    body: List[str] = []
    for kind, pairs in (
        ("int", plan.ints),
        ("str", plan.strings),
        ("bytes", plan.octets),
    ):
        for name, index in pairs:
            tag = tags.get(index)
            if tag is None:
                continue
            if tag not in _HOLE_TAGS[kind] or name == "event":
                return None
            body.append(f"    values[{name!r}] = entries[{index}][2]")
    for _, start, stop in plan.keywords:
        if any(start <= index < stop for index in tags):
            return None
    assert all(name in _DEFAULTS for name, _ in plan.ints + plan.strings + plan.octets)
    source = "\n".join(
        [
            "def fill(entries, values, group):",
            "    values = values.copy()",
            *body,
            "    values['attributes'] = group",
            "    event = newObject(Event)",
            "    setAttribute(event, '__dict__', values)",
            "    return event",
        ]
    )
    namespace: Dict[str, Any] = {
        "Event": Event,
        "newObject": _newObject,
        "setAttribute": _setAttribute,
    }
    exec(compile(source, "<ipp_ntfy.notification filler>", "exec"), namespace)
    fill: Callable[..., Event] = namespace["fill"]
    return fill


def _eventFromAttributes(
    attributes: Iterable[Attribute],
    source: str,
    receivedAt: Optional[datetime.datetime],
    charset: str,
    naturalLanguage: str,
) -> Event:
    if isinstance(attributes, Group):
        if attributes.tag != GroupTag.EVENT_NOTIFICATION:
            raise NotificationError(
                f"{groupTagName(attributes.tag)} is not an event-notification group"
            )
        group = attributes
    else:
        group = Group(GroupTag.EVENT_NOTIFICATION, attributes)
    if type(source) is str:
        try:
            received = _utc(receivedAt)
        except NotificationError:
            # The full path says so, after any fault of the attributes.
            pass
        else:
            event = _fastEvent(group, source, received)
            if event is not None:
                return event
    return _fullEvent(group, source, receivedAt, charset, naturalLanguage)


def _fullEvent(
    group: Group,
    source: str,
    receivedAt: Optional[datetime.datetime],
    charset: str,
    naturalLanguage: str,
) -> Event:
    """
    Read an event from any event-notification group: names normalised, the
    attributes rebuilt by the constructor, every fault raised.

    @param charset: C{notify-charset} if the group has none.
    @param naturalLanguage: C{notify-natural-language} if the group has none.
    """
    normalized = _normalize(group)
    byName = {attribute.name: attribute for attribute in normalized}
    fields: Dict[str, Any] = {}
    for core in _CORE:
        attribute = byName.get(core.name)
        if attribute is None:
            continue
        value = _coreValue(attribute, core)
        if value is not None:
            fields[core.field] = value
    for name in _REQUIRED:
        if _CORE_BY_NAME[name].field not in fields:
            alias = _ALIAS_OF.get(name)
            also = f" (nor {alias})" if alias else ""
            raise NotificationError(f"no {name}{also}", attribute=name)
    fields.setdefault("charset", charset)
    fields.setdefault("naturalLanguage", naturalLanguage)
    return Event(
        source=source,
        receivedAt=receivedAt,
        attributes=Group(GroupTag.EVENT_NOTIFICATION, normalized),
        **fields,
    )


def _attributeFromJSON(name: str, jsonValue: Any, tag: Optional[int]) -> Attribute:
    items = jsonValue if isinstance(jsonValue, list) else [jsonValue]
    if not items:
        raise NotificationError(f"{name} has no values", attribute=name)
    values: List[Value] = []
    tags: List[int] = []
    for item in items:
        valueTag, value = _valueFromJSON(name, item, tag)
        tags.append(valueTag)
        values.append(value)
    return Attribute(name, tuple(values), tuple(tags))


def _valueFromJSON(name: str, item: Any, tag: Optional[int]) -> Tuple[int, Value]:
    """
    @return: the value tag and value of one JSON value of attribute C{name}, whose
        syntax is C{tag} if known.
    """
    if isinstance(item, bool):
        return ValueTag.BOOLEAN, item
    if isinstance(item, int):
        if tag in (ValueTag.INTEGER, ValueTag.ENUM):
            return tag, item
        return ValueTag.INTEGER, item
    if isinstance(item, str):
        if tag == ValueTag.DATE_TIME:
            match = _DATE_TIME.match(item)
            if match is None:
                raise NotificationError(
                    f"{name}: not a dateTime: {item!r}", attribute=name
                )
            g = match.groups()
            return tag, DateTime(
                int(g[0]),
                int(g[1]),
                int(g[2]),
                int(g[3]),
                int(g[4]),
                int(g[5]),
                int(g[6]),
                g[7],
                int(g[8]),
                int(g[9]),
            )
        if tag is not None and 0x40 <= tag <= 0x5F:
            return tag, item
        return ValueTag.TEXT, item
    if isinstance(item, dict):
        keys = set(item)
        try:
            if keys == {"octets"}:
                return ValueTag.OCTET_STRING, base64.b64decode(
                    item["octets"], validate=True
                )
            if keys == {"out-of-band"}:
                outOfBand = valueTagByName(item["out-of-band"])
                return outOfBand, OutOfBand(outOfBand)
            if keys == {"text", "language"}:
                withLanguage = (
                    ValueTag.NAME_WITH_LANGUAGE
                    if tag == ValueTag.NAME
                    else ValueTag.TEXT_WITH_LANGUAGE
                )
                return withLanguage, TextWithLanguage(item["text"], item["language"])
            if keys == {"lower", "upper"}:
                return ValueTag.RANGE_OF_INTEGER, Range(item["lower"], item["upper"])
            if keys == {"cross-feed", "feed", "units"}:
                return ValueTag.RESOLUTION, Resolution(
                    item["cross-feed"], item["feed"], item["units"]
                )
            if keys == {"tag", "octets"}:
                return item["tag"], Unknown(
                    item["tag"], base64.b64decode(item["octets"], validate=True)
                )
        except (KeyError, TypeError, ValueError):
            raise NotificationError(
                f"{name}: bad JSON value {item!r}", attribute=name
            ) from None
        members = [
            _attributeFromJSON(member, values, None) for member, values in item.items()
        ]
        return ValueTag.BEGIN_COLLECTION, Collection(members)
    raise NotificationError(f"{name}: bad JSON value {item!r}", attribute=name)


def eventFromNotifierMessage(
    message: Message,
    *,
    source: str,
    receivedAt: Optional[datetime.datetime] = None,
) -> Event:
    """
    Read the event of one message that cupsd wrote on a notifier's standard input:
    status/operation code 0, one event-notification group (version 2.0 and
    request-id 0 in practice; neither is checked).

    @param message: one message, as L{MessageStream <ipp_ntfy.ipp.MessageStream>}
        splits the stream.
    @param source: see L{Event.source}.
    @param receivedAt: see L{Event.receivedAt}.
    @raise NotificationError: if the message is not such an event.
    """
    if message.code != 0:
        raise NotificationError(
            f"a notifier event has code 0x0000, not 0x{message.code:04x}"
        )
    if len(message.groups) != 1:
        raise NotificationError(
            "a notifier event has one event-notification group, not "
            f"{len(message.groups)} groups"
        )
    try:
        return Event.fromGroup(message.groups[0], source=source, receivedAt=receivedAt)
    except NotificationError as e:
        raise e.inGroup(1) from None


# --- Status rules ----------------------------------------------------------------


class ReportStatus(IntEnum):
    """
    What a listener says about one report (C{notification-report-status-code} or
    C{notify-status-code}); any other status code may be used too.
    """

    #: Consumed.
    CONSUMED = 0x0000
    #: Consumed, but cancel the subscription (C{successful-ok-but-cancel-
    #: subscription}, the seed's ISSUE 3, 0x0006 in the indp draft).
    CANCEL_SUBSCRIPTION = 0x0006
    #: The listener does not know this subscription (C{client-error-not-found}, the
    #: seed's "unknown-notification-recipient"): the sender cancels it and sends
    #: nothing more from it.
    NOT_FOUND = 0x0406
    #: C{server-error-internal-error}: not consumed, retry later.
    INTERNAL_ERROR = 0x0500
    #: C{server-error-temporary-error} (the seed's "unable-to-deliver"): not
    #: consumed, retry later.
    TEMPORARY_FAILURE = 0x0505


def isConsumed(status: int) -> bool:
    """
    @return: whether a report with this per-report status was consumed: 0x0000 and
        0x0006 only.
    """
    return status in (ReportStatus.CONSUMED, ReportStatus.CANCEL_SUBSCRIPTION)


def cancelsSubscription(status: int) -> bool:
    """
    @return: whether the sender must cancel the report's subscription: 0x0006 (after
        the report was consumed) and 0x0406.
    """
    return status in (ReportStatus.CANCEL_SUBSCRIPTION, ReportStatus.NOT_FOUND)


def isTemporaryFailure(status: int) -> bool:
    """
    @return: whether the report was not consumed but may be retried later: the
        server-error class, 0x0500 to 0x05FF.
    """
    return 0x0500 <= status <= 0x05FF


def overallStatus(statuses: Sequence[int]) -> int:
    """
    @return: the response status for these per-report statuses: C{successful-ok}
        when every report was consumed (L{isConsumed}), C{successful-ok-ignored-
        notifications} (0x0004) when some were, C{client-error-ignored-all-
        notifications} (0x0416) when none were.
    """
    if isinstance(statuses, (list, tuple)):
        consumed = statuses.count(STATUS_OK) + statuses.count(
            ReportStatus.CANCEL_SUBSCRIPTION.value
        )
    else:
        consumed = sum(1 for status in statuses if isConsumed(status))
    if consumed == len(statuses):
        return STATUS_OK
    if consumed:
        return STATUS_OK_IGNORED_NOTIFICATIONS
    return STATUS_IGNORED_ALL_NOTIFICATIONS


# --- Requests --------------------------------------------------------------------


@dataclass(frozen=True)
class ReportRequest:
    """
    A Report-Ipp-Notifications or Send-Notifications request, read.

    @ivar dialect: L{DIALECT_REPORT} or L{DIALECT_INDP}.
    @ivar recipientUri: C{notify-recipient-uri}, the listener URI the sender used.
    @ivar events: one per 0x07 group, in order.
    @ivar requestId: the request-id, to echo.
    @ivar version: the IPP version, to echo.
    """

    dialect: str
    recipientUri: str
    events: Tuple[Event, ...]
    requestId: int
    version: Tuple[int, int]


def _checkDialect(dialect: str, version: Tuple[int, int]) -> None:
    if dialect not in _VERSIONS:
        raise NotificationError(
            f"unknown dialect {dialect!r}: {DIALECT_REPORT!r} or {DIALECT_INDP!r}"
        )
    if version not in _VERSIONS[dialect]:
        allowed = ", ".join(f"{v[0]}.{v[1]}" for v in sorted(_VERSIONS[dialect]))
        raise NotificationError(
            f"dialect {dialect!r} uses version {allowed}, not "
            f"{version[0]}.{version[1]}",
            statusCode=STATUS_VERSION_NOT_SUPPORTED,
        )


_CHARSET_UTF8 = Attribute.charset("attributes-charset", "utf-8")
_LANGUAGE_EN = Attribute.naturalLanguage("attributes-natural-language", "en")


def _operationGroup(recipientUri: Optional[str], naturalLanguage: str) -> Group:
    attributes = [
        _CHARSET_UTF8,
        _LANGUAGE_EN
        if naturalLanguage == "en"
        else Attribute.naturalLanguage("attributes-natural-language", naturalLanguage),
    ]
    if recipientUri is not None:
        attributes.append(Attribute.uri("notify-recipient-uri", recipientUri))
    return Group(GroupTag.OPERATION, attributes)


# Groups are immutable: every response without a status-message shares this one.
_RESPONSE_OPERATION = _operationGroup(None, "en")


def buildReport(
    events: Iterable[Event],
    recipientUri: str,
    requestId: int,
    dialect: str = DIALECT_REPORT,
    version: Optional[Tuple[int, int]] = None,
    naturalLanguage: str = "en",
) -> Message:
    """
    Build the request that delivers C{events} to a listener.

    C{"report"}: version 1.0, operation-id 0x0003.  C{"indp"}: version 1.1 (or
    C{version} 2.0, 2.1, 2.2, 1.0), operation-id 0x001D.  Both: an operation group
    with C{attributes-charset} C{utf-8}, C{attributes-natural-language} and
    C{notify-recipient-uri}, then each event's L{Event.toGroup}.

    @param events: one or more events.
    @param recipientUri: the listener URI (the subscription's
        C{notify-recipient-uri}).
    @param requestId: the request-id.
    @param dialect: L{DIALECT_REPORT} or L{DIALECT_INDP}.
    @param version: the IPP version; the dialect's default if C{None}.
    @param naturalLanguage: C{attributes-natural-language}.
    @return: the request.
    @raise NotificationError: for no events, an unknown dialect or a version the
        dialect does not use.
    """
    events = tuple(events)
    if not events:
        raise NotificationError("a report needs at least one event")
    if dialect in _DEFAULT_VERSIONS and version is None:
        version = _DEFAULT_VERSIONS[dialect]
    if version is None:
        version = (1, 0)
    _checkDialect(dialect, version)
    groups = [_operationGroup(recipientUri, naturalLanguage)]
    groups.extend(event.toGroup() for event in events)
    return Message(version, _OPERATIONS[dialect], requestId, groups)


class EncodedEvent(NamedTuple):
    """
    An event notification already encoded: the octets of its event-notification
    group as L{encode} writes them in a report, and what a sender acts on.  The
    relay makes these from its stored events without decoding them (see
    L{ipp_ntfy.manager.personalizedOctets}); L{encodeReport} puts them in a
    report.

    @ivar octets: the group's octets, from its delimiter tag (0x07) to its last
        value; the octets of L{Event.toGroup} of the event it stands for.
    @ivar event: C{notify-subscribed-event}.
    @ivar jobId: C{notify-job-id}, or C{None}.
    @ivar attributeCount: its attributes, collection members included (for the
        encoder's limit on a message); more is fine, as the report is then
        encoded from events, which counts exactly.
    """

    octets: bytes
    event: str
    jobId: Optional[int]
    attributeCount: int

    def toEvent(self) -> Event:
        """
        @return: the event these octets encode (with an empty source and no
            receive time, which are not part of a report).
        @raise IppDecodeError: if they are not a valid group.
        @raise NotificationError: if the group is not a valid event.
        """
        message = decode(_GROUP_HEADER + self.octets + b"\x03")
        return Event.fromGroup(message.groups[0], source="")


# A message header for decoding an encoded event's octets on their own.
_GROUP_HEADER = b"\x01\x00\x00\x00\x00\x00\x00\x00"


def encodeReport(
    events: Sequence[Event | EncodedEvent],
    recipientUri: str,
    requestId: int,
    dialect: str = DIALECT_REPORT,
    limits: Optional[Limits] = None,
) -> bytes:
    """
    The octets of the request that delivers C{events}: what C{encode(buildReport(
    events, recipientUri, requestId, dialect), limits)} gives for the events that
    the L{EncodedEvent}s stand for, octet for octet, without encoding those again.

    @param events: L{EncodedEvent}s, or L{Event}s (then everything is encoded as
        L{buildReport} and L{encode} do).
    @raise NotificationError: as L{buildReport}.
    @raise IppEncodeError: as L{encode}, for a report over the limits.
    """
    if limits is None:
        limits = DEFAULT_LIMITS
    encoded = [event for event in events if type(event) is EncodedEvent]
    if encoded and len(encoded) == len(events):
        version = _DEFAULT_VERSIONS.get(dialect, (1, 0))
        _checkDialect(dialect, version)
        operation = _operationGroup(recipientUri, "en")
        head = encode(
            Message(version, _OPERATIONS[dialect], requestId, [operation]), limits
        )
        groups = [event.octets for event in encoded]
        count = 3 + sum(event.attributeCount for event in encoded)
        # The operation group is in head, then the events, then end-of-attributes.
        body = b"".join([head[:-1], *groups, head[-1:]])
        if len(body) <= limits.maxMessageBytes and count <= limits.maxAttributes:
            return body
    return encode(
        buildReport(
            [e if isinstance(e, Event) else e.toEvent() for e in events],
            recipientUri,
            requestId,
            dialect,
        ),
        limits,
    )


def _stringValue(group: Group, name: str, index: int) -> Optional[str]:
    attribute = group.get(name)
    if attribute is None:
        return None
    value = attribute.values[0]
    if isinstance(value, TextWithLanguage):
        return value.text
    if not isinstance(value, str):
        raise NotificationError(f"{name} must be a string, not {value!r}", index, name)
    return value


# As a plain int: an IntEnum member is looked up at some cost, once an event.
_EVENT_NOTIFICATION = int(GroupTag.EVENT_NOTIFICATION)


def parseReport(
    message: Message,
    *,
    source: str = "",
    receivedAt: Optional[datetime.datetime] = None,
) -> ReportRequest:
    """
    Read a Report-Ipp-Notifications (version 1.0, 0x0003) or Send-Notifications
    (0x001D, version 1.0, 1.1 or 2.x) request.

    The first group must be the operation group, whose first two attributes are
    C{attributes-charset} (C{utf-8} or C{us-ascii}) and
    C{attributes-natural-language} in either order (the seed draft lists the
    language first), and which holds C{notify-recipient-uri}.  Every other group
    must be an event-notification group (at least one); each is read as
    L{Event.fromGroup} does, with the operation group's charset and language for
    an event that names none.

    @param source: given to every event (L{Event.source}).
    @param receivedAt: given to every event (L{Event.receivedAt}).
    @return: the request.
    @raise NotificationError: if the message is not such a request; C{statusCode}
        is the status to answer with (0x0501 for another operation, including
        0x0003 with a version other than 1.0, which is Print-URI; 0x0503 for
        Send-Notifications with an unknown version; 0x040D for another charset;
        0x0400 otherwise), and C{group} the group at fault.
    """
    version = message.version
    if message.code == REPORT_IPP_NOTIFICATIONS:
        dialect = DIALECT_REPORT
        if version not in _VERSIONS[DIALECT_REPORT]:
            raise NotificationError(
                f"operation 0x0003 with version {version[0]}.{version[1]} is "
                "Print-URI, not Report-Ipp-Notifications (version 1.0)",
                statusCode=STATUS_OPERATION_NOT_SUPPORTED,
            )
    elif message.code == SEND_NOTIFICATIONS:
        dialect = DIALECT_INDP
        if version not in _VERSIONS[DIALECT_INDP]:
            raise NotificationError(
                f"Send-Notifications with version {version[0]}.{version[1]} is not "
                "supported (1.0, 1.1, 2.0, 2.1, 2.2)",
                statusCode=STATUS_VERSION_NOT_SUPPORTED,
            )
    else:
        raise NotificationError(
            f"operation 0x{message.code:04x} is neither Report-Ipp-Notifications "
            "(0x0003) nor Send-Notifications (0x001d)",
            statusCode=STATUS_OPERATION_NOT_SUPPORTED,
        )
    if message.data:
        raise NotificationError(
            f"{len(message.data)} bytes of data after the end-of-attributes-tag"
        )
    if not message.groups or message.groups[0].tag != GroupTag.OPERATION:
        found = groupTagName(message.groups[0].tag) if message.groups else "no group"
        raise NotificationError(
            f"the first group must be operation-attributes-tag, not {found}",
            1 if message.groups else None,
        )
    operation = message.groups[0]
    leading = set(operation.names()[:2])
    if leading != {"attributes-charset", "attributes-natural-language"}:
        raise NotificationError(
            "attributes-charset and attributes-natural-language must be the first "
            "two operation attributes",
            1,
        )
    charset = _stringValue(operation, "attributes-charset", 1)
    naturalLanguage = _stringValue(operation, "attributes-natural-language", 1)
    assert charset is not None and naturalLanguage is not None
    if charset.lower() not in _CHARSETS:
        raise NotificationError(
            f"charset {charset!r} is not supported (utf-8)",
            1,
            "attributes-charset",
            STATUS_CHARSET_NOT_SUPPORTED,
        )
    recipientUri = _stringValue(operation, "notify-recipient-uri", 1)
    if recipientUri is None:
        raise NotificationError("no notify-recipient-uri", 1, "notify-recipient-uri")
    # What Event.fromGroup does, with the checks of source and receivedAt made once.
    try:
        received = _utc(receivedAt)
        fast = type(source) is str
    except NotificationError:
        received, fast = None, False
    events = []
    eventTag = _EVENT_NOTIFICATION
    base = _base(source, received) if fast else None
    # The layout object of the last group read by _fastEvent, if it has a filler
    # (see _filler), the filler and the __dict__ of that group's event.
    last = _NO_LAYOUT
    fill: Any = None
    values: Any = None
    event: Optional[Event]
    count = len(message.groups)
    for index, group in enumerate(message.groups[1:], 2):
        if group.tag != eventTag:
            raise NotificationError(
                f"{groupTagName(group.tag)} in a report: only "
                "event-notification-attributes-tag groups follow the operation group",
                index,
            )
        if fast:
            layout = getattr(group, "_layout", None)
            if layout is last:
                event = fill(group._fields, values, group)
            else:
                last = _NO_LAYOUT
                event = _fastEvent(group, source, received, base)
                # (Not for the last group: no group comes after it.)
                if event is not None and layout is not None and index < count:
                    fill = _filler(layout)
                    if fill is not None:
                        last = layout
                        values = event.__dict__
        else:
            event = None
        if event is None:
            try:
                event = _fullEvent(group, source, receivedAt, "utf-8", naturalLanguage)
            except NotificationError as e:
                raise e.inGroup(index) from None
        events.append(event)
    if not events:
        raise NotificationError(
            "no event-notification-attributes-tag (0x07) group: a report carries "
            "at least one"
        )
    return ReportRequest(
        dialect, recipientUri, tuple(events), message.requestId, version
    )


# --- Responses -------------------------------------------------------------------


def _isStatus(value: object) -> bool:
    return (
        isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 0x7FFF
    )


def _checkStatus(status: object) -> int:
    if not isinstance(status, int) or not _isStatus(status):
        raise NotificationError(f"not a status code: {status!r}")
    return int(status)


def _checkStatuses(statuses: Iterable[object]) -> List[int]:
    """
    @return: C{statuses}, as C{int}s.
    @raise NotificationError: if one is not a status code.
    """
    checked: List[Any] = list(statuses)
    # The usual case, plain ints, checked all at once.
    if (
        checked
        and set(map(type, checked)) == {int}
        and min(checked) >= 0
        and max(checked) <= 0x7FFF
    ):
        return checked
    return [_checkStatus(status) for status in checked]


def _responseOperationGroup(statusMessage: Optional[str]) -> Group:
    """
    @return: the operation group of a response: charset, language C{en} and
        C{status-message} if given.
    """
    if statusMessage is None:
        return _RESPONSE_OPERATION
    return Group(
        GroupTag.OPERATION,
        [*_RESPONSE_OPERATION, Attribute.text("status-message", statusMessage)],
    )


def buildResponse(
    request: ReportRequest,
    statuses: Sequence[int],
    statusMessage: Optional[str] = None,
) -> Message:
    """
    Build the answer to a report.

    Version and request-id echo the request's.  The operation group has
    C{attributes-charset} C{utf-8}, C{attributes-natural-language} C{en} and, if
    given, C{status-message}.  The status is L{overallStatus}.  Whenever a
    per-report status is not 0x0000 (0x0006 included), one 0x07 group per report
    follows, in order, holding only C{notification-report-status-code} (dialect
    C{"report"}) or C{notify-status-code} (C{"indp"}), an enum; the group of a
    consumed report is empty, since an enum value is never 0 (RFC 8011 section
    5.1.5, which ipptool enforces).

    @param request: the request, as L{parseReport} read it.
    @param statuses: one status per event of the request, in order
        (L{ReportStatus} or any status code).
    @param statusMessage: C{status-message}, for humans.
    @return: the response.
    @raise NotificationError: if there are not as many statuses as events, one is
        not a status code, or the request's dialect is unknown.
    """
    statuses = _checkStatuses(statuses)
    if len(statuses) != len(request.events):
        raise NotificationError(
            f"{len(statuses)} statuses for {len(request.events)} reports"
        )
    if request.dialect not in _STATUS_ATTRIBUTES:
        raise NotificationError(f"unknown dialect {request.dialect!r}")
    groups = [_responseOperationGroup(statusMessage)]
    if statuses.count(STATUS_OK) != len(statuses):
        name = _STATUS_ATTRIBUTES[request.dialect]
        groups.extend(
            # An enum is 1 or more (RFC 8011 section 5.1.5; ipptool checks it):
            # a consumed report's group is empty, which reads as 0x0000.
            Group(
                GroupTag.EVENT_NOTIFICATION,
                [Attribute.enum(name, status)] if status != STATUS_OK else [],
            )
            for status in statuses
        )
    return Message(request.version, overallStatus(statuses), request.requestId, groups)


def buildErrorResponse(
    requestId: int,
    version: Tuple[int, int],
    statusCode: int,
    statusMessage: Optional[str] = None,
) -> Message:
    """
    Build the answer to a request that is not a good report: the operation group
    with charset, language and C{status-message}, no per-report groups.

    @param requestId: the request's request-id (0 if unknown).
    @param version: the request's version.
    @param statusCode: e.g. C{client-error-bad-request} (0x0400), or a
        L{NotificationError}'s C{statusCode}.
    @param statusMessage: what was wrong, e.g. C{"bad IPP message at offset 12:
        truncated name-length"}.
    @return: the response.
    """
    return Message(
        version,
        _checkStatus(statusCode),
        requestId,
        [_responseOperationGroup(statusMessage)],
    )


def buildDecodeErrorResponse(data: bytes, error: IppDecodeError) -> Optional[Message]:
    """
    Build the answer to a body that is not a valid IPP message: C{client-error-bad-
    request}, version and request-id taken from the body's header, and
    C{status-message} C{"bad IPP message at offset N: reason"}.

    @param data: the request body.
    @param error: what decoding it raised.
    @return: the response, or C{None} when the body is too short for a header (then
        there is nothing to answer in IPP: HTTP 400).
    """
    if len(data) < 8:
        return None
    version = (data[0], data[1])
    requestId = int.from_bytes(data[4:8], "big", signed=True)
    return buildErrorResponse(
        requestId,
        version,
        STATUS_BAD_REQUEST,
        f"bad IPP message at offset {error.offset}: {error.reason}",
    )


@dataclass(frozen=True)
class ReportResponse:
    """
    A listener's answer to a report, read.

    @ivar statusCode: the overall status.
    @ivar statusMessage: C{status-message}, if any.
    @ivar perReport: one status per report sent, in order.
    """

    statusCode: int
    statusMessage: Optional[str]
    perReport: Tuple[int, ...]


def _implicitStatus(overall: int) -> int:
    """
    @return: the status of a report the response has no group for.
    """
    if overall == STATUS_OK_IGNORED_NOTIFICATIONS:
        # Some were not consumed and we cannot tell which: send again, receivers
        # drop what they already have by Event.key.
        return ReportStatus.TEMPORARY_FAILURE
    if overall == STATUS_IGNORED_ALL_NOTIFICATIONS:
        return ReportStatus.TEMPORARY_FAILURE
    if overall == ReportStatus.CANCEL_SUBSCRIPTION:
        return overall
    if overall <= 0x00FF:
        return ReportStatus.CONSUMED
    if 0x0400 <= overall <= 0x05FF:
        return overall
    # Informational, redirection and reserved classes mean nothing here.
    return ReportStatus.TEMPORARY_FAILURE


def parseResponse(
    message: Message, count: int, requestId: Optional[int] = None
) -> ReportResponse:
    """
    Read the answer to a report of C{count} events.

    The n-th 0x07 group answers the n-th report with
    C{notification-report-status-code} or C{notify-status-code} (either name in
    either dialect); a group without a status is a consumed report.  A report
    without a group takes its status from the overall status: 0x0000 and other
    successes consumed, 0x0006 0x0006, 0x0004 and 0x0416 0x0505 (temporary
    failure: which ones were ignored is unknown, so they are sent again), a
    client or server error that same status, any other class 0x0505.  A
    response without an operation group is accepted.

    @param count: how many reports the request carried.
    @param requestId: the request's request-id, checked if given.
    @return: the response.
    @raise NotificationError: if the response is malformed: a status code over
        0x7FFF, another request-id, groups of another kind, more per-report groups
        than reports, a per-report status that is not a status code.
    """
    overall = message.code
    if overall > 0x7FFF:
        raise NotificationError(f"status 0x{overall:04x} is not a status code")
    if requestId is not None and message.requestId != requestId:
        raise NotificationError(
            f"response to request {message.requestId}, not {requestId}"
        )
    statusMessage = None
    reports: List[Tuple[int, Group]] = []
    for index, group in enumerate(message.groups, 1):
        if group.tag == GroupTag.OPERATION and index == 1:
            statusMessage = _stringValue(group, "status-message", index)
        elif group.tag == GroupTag.EVENT_NOTIFICATION:
            reports.append((index, group))
        elif group.tag != GroupTag.UNSUPPORTED:
            raise NotificationError(
                f"{groupTagName(group.tag)} in a response to a report", index
            )
    if len(reports) > count:
        raise NotificationError(
            f"{len(reports)} per-report groups for {count} reports",
            reports[count][0],
        )
    implicit = _implicitStatus(overall)
    perReport = [implicit] * count
    for position, (index, group) in enumerate(reports):
        # A per-report group without a status is a consumed report.
        perReport[position] = ReportStatus.CONSUMED
        for name in _STATUS_NAMES:
            attribute = group.get(name)
            if attribute is not None:
                value = attribute.values[0]
                if not isinstance(value, int) or not _isStatus(value):
                    raise NotificationError(
                        f"{name} is not a status code: {value!r}", index, name
                    )
                perReport[position] = int(value)
                break
    return ReportResponse(overall, statusMessage, tuple(perReport))


def describeStatus(status: int) -> str:
    """
    @return: e.g. C{"client-error-not-found (0x0406)"}, for logs.
    """
    return f"{statusName(status)} (0x{status:04x})"
