"""
The subscription manager: RFC 3995 subscriptions over an
L{ISubscriptionStore}, with a Deferred API, and C{publish} which queues an event
durably for every subscription it matches::

    manager = SubscriptionManager(store, reactor)
    subscription = await manager.subscribe(
        "ipp://relay/ipp/printers/q", recipientUri="https://app/events",
        events=("job-completed", "printer-stopped"))
    await manager.publish(event)   # fires once the event is on disk for each match
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
import struct
from json.encoder import encode_basestring_ascii
from operator import itemgetter
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from twisted.application.service import Service
from twisted.internet.defer import Deferred, fail, inlineCallbacks, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from .interfaces import ISubscriptionStore
from .ipp import Attribute, Group, GroupTag, Message, decode, encode
from .ipp.encode import GroupEncoder, compileGroupEncoder
from .notification import (  # private helpers for personalize's fast paths
    _CORE_BY_NAME,
    _RANK,
    EncodedEvent,
    Event,
    _fastEvent,
    _plan,
    _sameValue,
)
from .subscription import (
    Subscription,
    SubscriptionCounts,
    SubscriptionError,
    SubscriptionPolicy,
    TemplateResult,
    endsAfter,
    matches,
    renew,
    shouldSendProgress,
    validateTemplate,
)

_NOT_FOUND = 0x0406


def eventToPayload(event: Event) -> bytes:
    """
    The stored form of an event: a line of JSON (source, receive time), then the
    event group as IPP octets, so that nothing of it is lost.

    When the group is one whose notification for a subscription
    L{personalizedOctets} can make from these octets, the JSON also has
    C{"splice"}: the event keyword, the job id, the offsets in the octets where
    the attributes that are not the subscription's begin and where
    C{notify-printer-uri} goes among them, and how many there are.

    The octets and the offsets come from an encoder compiled for the group's
    shape (L{compileGroupEncoder}), in one pass; for a group it does not take,
    from L{encode} and L{_offsets}, with the same result.
    """
    group = event.toGroup()
    attributes = group.attributes
    shape = (
        group.tag,
        tuple(map(_attributeName, attributes)),
        tuple(map(_attributeTags, attributes)),
    )
    try:
        encoder, layout = _SHAPES[shape]
    except KeyError:
        encoder, layout = _learnShape(shape, group)
    encoded = None
    if encoder is not None:
        try:
            encoded = encoder(attributes)
        except Exception:
            pass  # a value the compiled encoder leaves to encode()
    if encoded is None:
        body = encode(Message((2, 0), 0, 0, [group]))
        if layout is not None:
            encoded = (body, *_offsets(body, layout))
    else:
        body = encoded[0]
    global _lastHead
    source = event.source
    receivedAt = event.receivedAt
    last = _lastHead
    if source is last[0] and receivedAt is last[1]:
        header = last[2]
    else:
        # What json.dumps({"source": ..., "receivedAt": ...}) writes, quicker.
        when = "null" if receivedAt is None else _jsonString(receivedAt.isoformat())
        header = f'{{"source": {_jsonString(source)}, "receivedAt": {when}'
        _lastHead = (source, receivedAt, header)
    if layout is not None and _isKeyword(event.event):
        assert encoded is not None
        jobId = "null" if event.jobId is None else event.jobId
        # Last, in a form personalizedOctets reads without a JSON parser.
        header += (
            f'{_SPLICE}"{event.event}", {jobId}, {encoded[1]}, {encoded[2]},'
            f" {encoded[3]}, {layout[3]}]"
        )
    return b"".join((header.encode("utf-8"), b"}\n", body))


_jsonString = encode_basestring_ascii
_SPLICE = ', "splice": ['
_KEYWORD = re.compile("[a-z0-9._-]+")
_attributeName = itemgetter(0)
_attributeTags = itemgetter(2)
# The source and receive time of the last event written, and the start of its
# header: the events of one report share them.  They are kept alive here, so
# that no other object takes their ids.
_lastHead: Tuple[Any, Any, str] = (object(), object(), "")
# Encoders and splice layouts by the shape of an event group: its tag, and the
# names and the tags of its attributes.
_SHAPES: Dict[
    Tuple[int, Tuple[str, ...], Tuple[Tuple[int, ...], ...]],
    Tuple[Optional[GroupEncoder], Optional[Tuple[int, ...]]],
] = {}
# Whether each event keyword is one that personalizedOctets reads back.
_KEYWORDS: Dict[str, bool] = {}


def _learnShape(
    shape: Tuple[int, Tuple[str, ...], Tuple[Tuple[int, ...], ...]], group: Group
) -> Tuple[Optional[GroupEncoder], Optional[Tuple[int, ...]]]:
    """
    Compile the encoder of groups of this shape and find their splice layout,
    and keep them for the next events of the shape.

    @param shape: the shape of C{group}, as L{eventToPayload} keys it.
    @return: the encoder, or C{None}; the layout, or C{None}.
    """
    layout = _spliceLayout(group.attributes)
    marks: Tuple[int, ...] = ()
    if layout is not None:
        first, before, printerUri, _ = layout
        marks = (first, first + before, first + before + printerUri)
    entry = (compileGroupEncoder(group, marks), layout)
    if len(_SHAPES) >= _MAX_CACHED:
        _SHAPES.clear()
    _SHAPES[shape] = entry
    return entry


def _isKeyword(name: str) -> bool:
    """
    @return: whether C{name} is written as it is in the splice layout.
    """
    try:
        return _KEYWORDS[name]
    except (KeyError, TypeError):
        pass
    result = type(name) is str and _KEYWORD.fullmatch(name) is not None
    if type(name) is str:
        if len(_KEYWORDS) >= _MAX_CACHED:
            _KEYWORDS.clear()
        _KEYWORDS[name] = result
    return result


def eventFromPayload(payload: bytes) -> Event:
    """
    Read back L{eventToPayload}'s form.
    """
    header, _, body = payload.partition(b"\n")
    meta = json.loads(header)
    receivedAt = meta.get("receivedAt")
    return Event.fromGroup(
        decode(body).groups[0],
        source=meta["source"],
        receivedAt=datetime.datetime.fromisoformat(receivedAt) if receivedAt else None,
    )


def personalize(event: Event, subscription: Subscription, sequence: int) -> Event:
    """
    The event as this subscription's notification: its subscription id, sequence
    number, subscribed event, printer URI, user data, charset and language.

    The same as C{dataclasses.replace(event, ...)} with those fields, but quicker:
    the seven attributes are replaced in the event's group (which is in cupsd's
    order already) and the result is read by L{Event.fromGroup}'s fast path, without
    validating and rebuilding the other attributes again.  An event whose group
    that path does not take is copied with C{dataclasses.replace}.
    """
    subscribed = matches(subscription, event.event, event.jobId) or event.event
    values = (
        (_CHARSET, subscription.charset),
        (_LANGUAGE, subscription.naturalLanguage),
        (_SUBSCRIPTION_ID, subscription.subscriptionId),
        (_SEQUENCE_NUMBER, sequence),
        (_SUBSCRIBED_EVENT, subscribed),
        (_USER_DATA, subscription.userData),
        (_PRINTER_URI, subscription.printerUri),
    )
    if type(sequence) is int and type(subscription.userData) is bytes:
        existing = event.attributes.attributes
        byName = {attribute[0]: attribute for attribute in existing}
        head: List[Attribute] = []
        for core, value in values:
            attribute = byName.get(core.name)
            if attribute is None or not (
                (attribute[1] == (value,) and type(attribute[1][0]) is type(value))
                or _sameValue(attribute, core, value)
            ):
                attribute = Attribute(core.name, (value,), (core.tag,))
            head.append(attribute)
        printerUri: Optional[Attribute] = head.pop()
        ordered = head
        for attribute in existing:
            name = attribute[0]
            if name in _PERSONAL:
                continue
            if printerUri is not None and _RANK.get(name, _LAST) > _PRINTER_URI_RANK:
                ordered.append(printerUri)
                printerUri = None
            ordered.append(attribute)
        if printerUri is not None:
            ordered.append(printerUri)
        fast = _fastEvent(
            Group(GroupTag.EVENT_NOTIFICATION, ordered), event.source, event.receivedAt
        )
        if fast is not None:
            return fast
    return dataclasses.replace(
        event,
        subscriptionId=subscription.subscriptionId,
        sequenceNumber=sequence,
        event=subscribed,
        printerUri=subscription.printerUri,
        userData=subscription.userData,
        charset=subscription.charset,
        naturalLanguage=subscription.naturalLanguage,
    )


_CHARSET = _CORE_BY_NAME["notify-charset"]
_LANGUAGE = _CORE_BY_NAME["notify-natural-language"]
_SUBSCRIPTION_ID = _CORE_BY_NAME["notify-subscription-id"]
_SEQUENCE_NUMBER = _CORE_BY_NAME["notify-sequence-number"]
_SUBSCRIBED_EVENT = _CORE_BY_NAME["notify-subscribed-event"]
_USER_DATA = _CORE_BY_NAME["notify-user-data"]
_PRINTER_URI = _CORE_BY_NAME["notify-printer-uri"]
_PERSONAL = frozenset(
    core.name
    for core in (
        _CHARSET,
        _LANGUAGE,
        _SUBSCRIPTION_ID,
        _SEQUENCE_NUMBER,
        _SUBSCRIBED_EVENT,
        _USER_DATA,
        _PRINTER_URI,
    )
)
_LAST = len(_RANK)
_PRINTER_URI_RANK = _RANK["notify-printer-uri"]


def personalizedOctets(
    payload: bytes, subscription: Subscription, sequence: int
) -> Optional[EncodedEvent]:
    """
    The stored event as this subscription's notification, encoded: the octets
    of C{personalize(eventFromPayload(payload), subscription,
    sequence).toGroup()}, made from the stored octets without decoding them (the
    subscription's attributes are encoded, the others copied).

    @return: the notification; or C{None} for a payload without the layout that
        L{eventToPayload} notes for the events this works for (or a subscription
        whose attributes cannot be encoded), for which L{personalize} it is.
    """
    header, _, body = payload.partition(b"\n")
    at = header.rfind(_SPLICE_OCTETS)
    if (
        at < 0
        or type(sequence) is not int
        or not 0 <= sequence <= _INT32_MAX
        or type(subscription.userData) is not bytes
    ):
        return None
    quoted, numbers = header[at + len(_SPLICE_OCTETS) + 1 : -2].split(b'", ')
    keyword = quoted.decode("ascii")
    # The offsets are the same for every event of one shape: read once.
    job, _, rest = numbers.partition(b", ")
    known = _OFFSETS.get(rest)
    if known is None:
        job, *offsets = numbers.split(b", ")
        start, middle, end, others = map(int, offsets)
        if len(_OFFSETS) >= _MAX_CACHED:
            _OFFSETS.clear()
        _OFFSETS[rest] = (start, middle, end, others)
    else:
        start, middle, end, others = known
    jobId = None if job == b"null" else int(job)
    # The subscription of the last call, most often the same (a batch holds a
    # subscription's events one after the other): its octets without a lookup.
    last = _lastPersonal
    if last[0] is subscription:
        parts = last[1]
    else:
        parts = _personalOctets(subscription)
        last[0], last[1] = subscription, parts
    if parts is None:
        return None
    subscribed = _matches(subscription, keyword, jobId) or keyword
    subscribedOctets = _SUBSCRIBED_OCTETS.get(subscribed)
    if subscribedOctets is None:
        subscribedOctets = _attributeOctets(
            [Attribute(_SUBSCRIBED_EVENT.name, (subscribed,), (_SUBSCRIBED_EVENT.tag,))]
        )
        if subscribedOctets is None:
            return None
        if len(_SUBSCRIBED_OCTETS) >= _MAX_CACHED:
            _SUBSCRIBED_OCTETS.clear()
        _SUBSCRIBED_OCTETS[subscribed] = subscribedOctets
    head, userData, printerUri = parts
    octets = b"".join(
        (
            head,
            _SEQUENCE_HEAD,
            _int32(sequence),
            subscribedOctets,
            userData,
            body[start:middle],
            printerUri,
            body[end:-1],
        )
    )
    # EncodedEvent(...), without the Python-level __new__ of a NamedTuple.
    return _newTuple(EncodedEvent, (octets, subscribed, jobId, others + 7))


_SPLICE_OCTETS = _SPLICE.encode("ascii")
_INT32_MAX = 2**31 - 1
_int32 = struct.Struct(">i").pack
_MAX_CACHED = 1024


def _attributeOctets(attributes: List[Attribute]) -> Optional[bytes]:
    """
    @return: the octets of C{attributes} as L{encode} writes them in an
        event-notification group, or C{None} if it refuses them.
    """
    try:
        message = encode(
            Message((1, 0), 0, 0, [Group(GroupTag.EVENT_NOTIFICATION, attributes)])
        )
    except Exception:
        return None
    # After the header and the group tag; before end-of-attributes.
    return message[9:-1]


# notify-sequence-number up to its value (4 octets, big-endian).
_SEQUENCE_HEAD = (
    _attributeOctets([Attribute(_SEQUENCE_NUMBER.name, (0,), (_SEQUENCE_NUMBER.tag,))])
    or b""
)[:-4]
# The subscription's attributes, by what they are made of: the group tag, charset,
# language and subscription id; the user data; the printer URI.
_PERSONAL_OCTETS: Dict[
    Tuple[int, str, str, bytes, str], Optional[Tuple[bytes, bytes, bytes]]
] = {}
# The octets of notify-subscribed-event, by its value.
_SUBSCRIBED_OCTETS: Dict[str, bytes] = {}
# The offsets of a payload's header (what follows the job id), read.
_OFFSETS: Dict[bytes, Tuple[int, int, int, int]] = {}
_newTuple = tuple.__new__
# The last subscription personalizedOctets saw, and its _personalOctets.
_lastPersonal: List[Any] = [None, None]


def _personalOctets(
    subscription: Subscription,
) -> Optional[Tuple[bytes, bytes, bytes]]:
    key = (
        subscription.subscriptionId,
        subscription.charset,
        subscription.naturalLanguage,
        subscription.userData,
        subscription.printerUri,
    )
    try:
        return _PERSONAL_OCTETS[key]
    except KeyError:
        pass
    parts = [
        _attributeOctets(
            [Attribute(core.name, (value,), (core.tag,)) for core, value in values]
        )
        for values in (
            (
                (_CHARSET, subscription.charset),
                (_LANGUAGE, subscription.naturalLanguage),
                (_SUBSCRIPTION_ID, subscription.subscriptionId),
            ),
            ((_USER_DATA, subscription.userData),),
            ((_PRINTER_URI, subscription.printerUri),),
        )
    ]
    result: Optional[Tuple[bytes, bytes, bytes]] = None
    if None not in parts:
        head, userData, printerUri = parts
        assert head is not None and userData is not None and printerUri is not None
        result = (b"\x07" + head, userData, printerUri)
    if len(_PERSONAL_OCTETS) >= _MAX_CACHED:
        _PERSONAL_OCTETS.clear()
    _PERSONAL_OCTETS[key] = result
    return result


def _offsets(body: bytes, layout: Tuple[int, ...]) -> List[int]:
    """
    @param body: an encoded message of one group, without collections.
    @param layout: what L{_spliceLayout} says of its group.
    @return: the offsets after the subscription's attributes that come first,
        after the attributes before C{notify-printer-uri}'s place, and after
        C{notify-printer-uri} if it is there.
    """
    offsets = []
    offset = 9  # the header and the group tag
    for count in layout[:3]:
        for _ in range(count):
            # The first value, with the name; then the additional values (a
            # value tag, no name).
            offset += 3 + (body[offset + 1] << 8 | body[offset + 2])
            offset += 2 + (body[offset] << 8 | body[offset + 1])
            while (
                body[offset] >= 0x10 and not body[offset + 1] and not body[offset + 2]
            ):
                offset += 5 + (body[offset + 3] << 8 | body[offset + 4])
        offsets.append(offset)
    return offsets


# Value tags whose values decode to what was encoded, octet for octet, and whose
# events L{personalizedOctets} takes: integer, boolean, enum, octetString,
# dateTime, resolution, rangeOfInteger, text and name with language, and the
# string tags.  No collection and no out-of-band value.
_STRING_VALUE_TAGS = frozenset({0x41, 0x42, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49})
_SPLICE_TAGS = frozenset({0x21, 0x22, 0x23, 0x30, 0x31, 0x32, 0x33, 0x35, 0x36}) | (
    _STRING_VALUE_TAGS
)
# The tags that give each kind of typed field the type Event.fromGroup's fast
# path reads.
_KIND_TAGS = {
    "int": frozenset({0x21, 0x23}),
    "str": _STRING_VALUE_TAGS,
    "bytes": frozenset({0x30}),
    "keywords": _STRING_VALUE_TAGS,
}
_PERSONAL_FIRST = _PERSONAL - {_PRINTER_URI.name}
_nameAndTags = itemgetter(0, 2)
# Layouts by the names and tags of a group's attributes.
_LAYOUTS: Dict[Tuple[Tuple[str, Tuple[int, ...]], ...], Optional[Tuple[int, ...]]] = {}


def _spliceLayout(
    attributes: Sequence[Attribute],
) -> Optional[Tuple[int, ...]]:
    """
    Whether L{personalizedOctets} gives for events of this group what
    L{personalize} does, and where the parts are.

    It does when the group is read by L{Event.fromGroup}'s fast path (and kept
    as it is), each of the subscription's attributes in it has one value of its
    own syntax (so that C{personalize} replaces it, or keeps one with the same
    octets), and every value is of a syntax in L{_SPLICE_TAGS}.  C{personalize}
    then gives the subscription's attributes first, the others in their order,
    with C{notify-printer-uri} before the first one that ranks after it; and
    C{Event.fromGroup} keeps that group too.

    @return: how many of the subscription's attributes come first, how many
        others before C{notify-printer-uri}'s place, whether C{notify-printer-uri}
        is there (1 or 0), and the number of attributes not the subscription's;
        or C{None}.
    """
    signature = tuple(map(_nameAndTags, attributes))
    try:
        return _LAYOUTS[signature]
    except KeyError:
        pass
    layout: Optional[Tuple[int, ...]] = None
    if _plan(tuple([name for name, _ in signature])) is not None:
        counts = [0, 0, 0, 0]
        for name, tags in signature:
            core = _CORE_BY_NAME.get(name)
            if not _SPLICE_TAGS.issuperset(tags) or (
                core is not None and not _KIND_TAGS[core.kind].issuperset(tags)
            ):
                break
            if name in _PERSONAL:
                if tags != (core.tag,):  # type: ignore[union-attr]
                    break
                counts[0 if name in _PERSONAL_FIRST else 2] += 1
            else:
                if _RANK.get(name, _LAST) < _PRINTER_URI_RANK:
                    counts[1] += 1
                counts[3] += 1
        else:
            layout = tuple(counts)
    if len(_LAYOUTS) >= _MAX_CACHED:
        _LAYOUTS.clear()
    _LAYOUTS[signature] = layout
    return layout


def _matches(
    subscription: Subscription, eventKeyword: str, jobId: Optional[int]
) -> Optional[str]:
    """
    L{matches}, remembered for subscriptions that are not per-job: for those it
    depends on the subscribed events and the event keyword alone.
    """
    if subscription.jobId is not None:
        return matches(subscription, eventKeyword, jobId)
    key = (subscription.events, eventKeyword)
    try:
        return _MATCHED[key]
    except (KeyError, TypeError):
        pass
    result = matches(subscription, eventKeyword, jobId)
    try:
        if len(_MATCHED) >= _MAX_CACHED:
            _MATCHED.clear()
        _MATCHED[key] = result
    except TypeError:
        pass  # not hashable: not remembered
    return result


# What matches gives, by the subscribed events and the event keyword.
_MATCHED: Dict[Tuple[Tuple[str, ...], str], Optional[str]] = {}


def templateGroup(
    *,
    recipientUri: Optional[str] = None,
    pullMethod: Optional[str] = None,
    events: Sequence[str] = (),
    leaseDuration: Optional[int] = None,
    userData: bytes = b"",
    timeInterval: Optional[int] = None,
) -> Group:
    """
    A subscription template group (0x06), as a client would send it.
    """
    attributes: List[Attribute] = []
    if recipientUri is not None:
        attributes.append(Attribute.uri("notify-recipient-uri", recipientUri))
    if pullMethod is not None:
        attributes.append(Attribute.keyword("notify-pull-method", pullMethod))
    if events:
        attributes.append(Attribute.keyword("notify-events", *events))
    if leaseDuration is not None:
        attributes.append(Attribute.integer("notify-lease-duration", leaseDuration))
    if userData:
        attributes.append(Attribute.octetString("notify-user-data", userData))
    if timeInterval is not None:
        attributes.append(Attribute.integer("notify-time-interval", timeInterval))
    return Group(GroupTag.SUBSCRIPTION, attributes)


class SubscriptionManager(Service):
    """
    Subscriptions and event fan-out.

    As a service it sweeps expired subscriptions and old history every
    C{sweepInterval} seconds.  Every change goes through the store; nothing is
    kept only in memory except the C{job-progress} throttle's last-sent times.

    @ivar store: the L{ISubscriptionStore}.
    @ivar clock: the L{IReactorTime} all times come from.
    @ivar policy: what subscriptions may ask for (L{SubscriptionPolicy}).
    @ivar historyLimit: events kept per subscription for Get-Notifications.
    @ivar eventLife: seconds an event is kept at least (C{ippget-event-life}).
    @ivar cacheSubscriptions: whether C{publish} keeps each printer's
        subscriptions in memory instead of reading them from the store for every
        event.  The cache is dropped whenever this manager creates, renews or
        cancels a subscription (or sweeps expired ones), and a printer's entry
        when the store no longer has a subscription of it (one the dispatcher
        cancelled).  It assumes that this manager is the only one that creates
        or renews subscriptions in its store: true of the relay with SQLite or
        memory, not of several relays sharing one database, which must pass
        C{False}.
    """

    log = Logger()

    #: The most printers whose subscriptions are cached at once.
    maxCachedPrinters = 1024

    def __init__(
        self,
        store: ISubscriptionStore,
        clock: IReactorTime,
        policy: Optional[SubscriptionPolicy] = None,
        *,
        historyLimit: int = 100,
        eventLife: float = 60.0,
        sweepInterval: float = 60.0,
        cacheSubscriptions: bool = True,
    ) -> None:
        self.store = store
        self.clock = clock
        self.policy = policy or SubscriptionPolicy()
        self.historyLimit = historyLimit
        self.eventLife = eventLife
        self.sweepInterval = sweepInterval
        self._lastProgress: Dict[int, float] = {}
        # Called with what each publish queued (onPublished, onQueued).
        self._listeners: List[Callable[[List[Tuple[int, int]]], object]] = []
        self._sweeper: Optional[LoopingCall] = None
        self._sweeping: Deferred[Any] = succeed(None)
        self._published = 0
        self.cacheSubscriptions = cacheSubscriptions
        self._cache: Dict[str, List[Subscription]] = {}
        self._generation = 0
        self._queued = 0

    # -- the service ------------------------------------------------------------

    def startService(self) -> None:
        super().startService()
        self._sweeper = LoopingCall(self.sweep)
        self._sweeper.clock = self.clock
        self._sweeping = self._sweeper.start(self.sweepInterval, now=True)
        self._sweeping.addErrback(lambda f: self.log.failure("sweeping failed", f))

    def stopService(self) -> Deferred[None]:
        """
        Stop sweeping; fires once a sweep under way has finished.
        """
        super().stopService()
        if self._sweeper is not None and self._sweeper.running:
            self._sweeper.stop()
            return self._sweeping.addCallback(lambda _: None)
        return succeed(None)

    def _invalidate(self, result: Any = None) -> Any:
        """
        Forget the cached subscriptions; called before a change of subscriptions
        is asked of the store and again once it is done, so that a read under
        way meanwhile is not cached either.
        """
        self._cache.clear()
        self._generation += 1
        return result

    def onQueued(self, callback: Any) -> None:
        """
        Call C{callback()} whenever events were queued for delivery (the
        dispatcher's C{wake}): L{onPublished} without what was queued.
        """
        self.onPublished(lambda published: callback())

    def onPublished(self, callback: Any) -> None:
        """
        Call C{callback(published)} whenever a publish queued events, with what
        it queued: C{[(subscriptionId, sequenceNumber), ...]} (the dispatcher's
        C{queued}, which can tell when a look at the queue would find nothing
        to send yet).
        """
        self._listeners.append(callback)

    @inlineCallbacks
    def sweep(self) -> Any:
        """
        Cancel subscriptions whose lease has ended; drop history beyond
        C{historyLimit} that is older than C{eventLife}.
        """
        now = self.clock.seconds()
        if self._published:
            self.log.debug(
                "{published} events queued for {queued} subscriptions in all"
                " since the last sweep",
                published=self._published,
                queued=self._queued,
            )
            self._published = self._queued = 0
        subscriptions = yield self.store.listSubscriptions()
        for subscription in subscriptions:
            if subscription.expired(now):
                self._invalidate()
                yield self.store.cancelSubscription(
                    subscription.subscriptionId
                ).addBoth(self._invalidate)
                self._lastProgress.pop(subscription.subscriptionId, None)
                self.log.info(
                    "subscription {subscriptionId} expired",
                    subscriptionId=subscription.subscriptionId,
                )
        yield self.store.pruneHistory(self.historyLimit, now - self.eventLife)

    # -- subscriptions ----------------------------------------------------------

    @inlineCallbacks
    def counts(self, printerUri: str, userName: str) -> Any:
        """
        @return: a Deferred firing with the L{SubscriptionCounts} for the limits.
        """
        subscriptions = yield self.store.listSubscriptions()
        return SubscriptionCounts(
            total=len(subscriptions),
            printer=sum(1 for s in subscriptions if s.printerUri == printerUri),
            user=sum(1 for s in subscriptions if s.subscriberUserName == userName),
        )

    @inlineCallbacks
    def createFromTemplate(
        self,
        group: Group,
        *,
        printerUri: str,
        jobId: Optional[int] = None,
        userName: str = "anonymous",
        charset: str = "utf-8",
        language: str = "en",
    ) -> Any:
        """
        Process one subscription template group (RFC 3995 section 5.2) and create
        the subscription if it may be.

        @return: a Deferred firing with C{(TemplateResult, Subscription or None)}.
        @raise TemplateError: (through the Deferred) when the whole operation is a
            bad request.
        """
        counts = yield self.counts(printerUri, userName)
        result: TemplateResult = validateTemplate(
            group,
            self.policy,
            printerUri=printerUri,
            jobId=jobId,
            userName=userName,
            charset=charset,
            language=language,
            now=self.clock.seconds(),
            counts=counts,
        )
        if result.subscription is None:
            return (result, None)
        self._invalidate()
        stored = yield self.store.createSubscription(result.subscription).addBoth(
            self._invalidate
        )
        self.log.info(
            "subscription {subscriptionId} created on {printerUri} for {target}",
            subscriptionId=stored.subscriptionId,
            printerUri=printerUri,
            target=stored.recipientUri or stored.pullMethod,
        )
        return (result, stored)

    @inlineCallbacks
    def subscribe(
        self,
        printerUri: str,
        *,
        recipientUri: Optional[str] = None,
        pullMethod: Optional[str] = None,
        events: Sequence[str] = (),
        leaseDuration: Optional[int] = None,
        jobId: Optional[int] = None,
        userData: bytes = b"",
        userName: str = "anonymous",
    ) -> Any:
        """
        Create a subscription with the same rules as an IPP request.

        @return: a Deferred firing with the L{Subscription}.
        @raise SubscriptionError: (through the Deferred) if it is not created,
            with the C{notify-status-code} that says why.
        """
        group = templateGroup(
            recipientUri=recipientUri,
            pullMethod=pullMethod,
            events=events,
            leaseDuration=leaseDuration,
            userData=userData,
        )
        result, stored = yield self.createFromTemplate(
            group, printerUri=printerUri, jobId=jobId, userName=userName
        )
        if stored is None:
            raise SubscriptionError(
                result.statusCode or 0x0400, "the subscription was not created"
            )
        return stored

    @inlineCallbacks
    def get(self, subscriptionId: int) -> Any:
        """
        @return: a Deferred firing with the subscription, or C{None} if there is
            none (or its lease has ended).
        """
        subscription = yield self.store.getSubscription(subscriptionId)
        if subscription is None or subscription.expired(self.clock.seconds()):
            return None
        return subscription

    @inlineCallbacks
    def list(
        self, printerUri: Optional[str] = None, jobId: Optional[int] = None
    ) -> Any:
        """
        @return: a Deferred firing with the live subscriptions, by id.
        """
        now = self.clock.seconds()
        subscriptions = yield self.store.listSubscriptions(printerUri, jobId)
        return [s for s in subscriptions if not s.expired(now)]

    @inlineCallbacks
    def renew(self, subscriptionId: int, leaseDuration: Optional[int] = None) -> Any:
        """
        Renew-Subscription: a new lease from now.

        @return: a Deferred firing with the renewed subscription.
        @raise SubscriptionError: (through the Deferred) 0x0406 for an unknown
            subscription, 0x0404 for a per-job one.
        """
        subscription = yield self.get(subscriptionId)
        if subscription is None:
            raise SubscriptionError(_NOT_FOUND, f"no subscription {subscriptionId}")
        renewed = renew(subscription, leaseDuration, self.policy, self.clock.seconds())
        self._invalidate()
        yield self.store.updateSubscription(renewed).addBoth(self._invalidate)
        return renewed

    @inlineCallbacks
    def cancel(self, subscriptionId: int) -> Any:
        """
        @return: a Deferred firing with whether there was such a subscription.
        """
        self._invalidate()
        existed = yield self.store.cancelSubscription(subscriptionId).addBoth(
            self._invalidate
        )
        self._lastProgress.pop(subscriptionId, None)
        if existed:
            self.log.info(
                "subscription {subscriptionId} cancelled", subscriptionId=subscriptionId
            )
        return existed

    # -- events -----------------------------------------------------------------

    def publish(self, event: Event) -> Deferred[List[Tuple[int, int]]]:
        """
        Queue C{event} for every live subscription of its printer that it
        matches, durably and atomically.

        @return: a Deferred that fires, once the event is stored for every match,
            with C{[(subscriptionId, sequenceNumber), ...]}.
        """
        # Plain callbacks, not inlineCallbacks: no generator and one Deferred
        # fewer per event, and with the printer's subscriptions cached no wait
        # before the append.
        now = self.clock.seconds()
        printerUri = event.printerUri or ""
        subscriptions = self._cache.get(printerUri)
        if subscriptions is None:
            generation = self._generation
            return self.store.listSubscriptions(printerUri).addCallback(
                self._listed, event, printerUri, generation, now
            )
        try:
            return self._append(event, printerUri, subscriptions, now)
        except BaseException:
            return fail()

    def _listed(
        self,
        subscriptions: List[Subscription],
        event: Event,
        printerUri: str,
        generation: int,
        now: float,
    ) -> Deferred[List[Tuple[int, int]]]:
        """
        L{publish}'s part once the printer's subscriptions are read from the
        store: cache them unless subscriptions changed meanwhile, then append.
        """
        if self.cacheSubscriptions and generation == self._generation:
            if len(self._cache) >= self.maxCachedPrinters:
                self._cache.clear()
            self._cache[printerUri] = subscriptions
        return self._append(event, printerUri, subscriptions, now)

    def _append(
        self,
        event: Event,
        printerUri: str,
        subscriptions: List[Subscription],
        now: float,
    ) -> Deferred[List[Tuple[int, int]]]:
        """
        L{publish}'s part once the printer's subscriptions are known: append the
        event for those it matches.
        """
        payload = eventToPayload(event)
        entries: List[Tuple[int, bytes]] = []
        ending: List[Subscription] = []
        name = event.event
        jobId = event.jobId
        for subscription in subscriptions:
            if subscription.expired(now):
                continue
            if _matches(subscription, name, jobId) is not None:
                if name == "job-progress":
                    last = self._lastProgress.get(subscription.subscriptionId)
                    if not shouldSendProgress(subscription, last, now):
                        continue
                    self._lastProgress[subscription.subscriptionId] = now
                entries.append((subscription.subscriptionId, payload))
            if subscription.jobId is not None and endsAfter(subscription, name, jobId):
                ending.append(subscription)
        if not entries:
            return succeed(self._appended([], printerUri, entries, ending))
        return self.store.appendEvents(entries, now).addCallback(
            self._appended, printerUri, entries, ending
        )

    def _appended(
        self,
        sequences: List[int],
        printerUri: str,
        entries: List[Tuple[int, bytes]],
        ending: List[Subscription],
    ) -> List[Tuple[int, int]]:
        """
        L{publish}'s last part, once the event is stored: what was published.
        """
        if entries and not all(sequences):
            # Cancelled meanwhile, not through this manager (the dispatcher).
            self._cache.pop(printerUri, None)
            self._generation += 1
        for subscription in ending:
            # A per-job subscription ends with its job: a push one once the
            # dispatcher has delivered this event (it checks endsAfter), a pull
            # one when the event has lived its ippget-event-life.
            if not subscription.isPush:
                self.clock.callLater(
                    self.eventLife, self.cancel, subscription.subscriptionId
                )
        published = [
            (subscriptionId, sequence)
            for (subscriptionId, _), sequence in zip(entries, sequences)
            if sequence
        ]
        if published:
            # No log event per event (one costs as much as storing it under a
            # text observer): sweep logs how many were queued.
            self._published += 1
            self._queued += len(published)
            for callback in self._listeners:
                callback(published)
        return published

    @inlineCallbacks
    def history(
        self, subscriptionId: int, fromSequence: int = 1, limit: int = 100
    ) -> Any:
        """
        The kept events of a subscription, for Get-Notifications.

        @return: a Deferred firing with the events (as this subscription's
            notifications), from C{fromSequence} on.
        @raise SubscriptionError: (through the Deferred) 0x0406 for an unknown
            subscription.
        """
        subscription = yield self.get(subscriptionId)
        if subscription is None:
            raise SubscriptionError(_NOT_FOUND, f"no subscription {subscriptionId}")
        stored = yield self.store.eventsSince(subscriptionId, fromSequence, limit)
        return [
            personalize(eventFromPayload(payload), subscription, sequence)
            for sequence, payload, _ in stored
        ]
