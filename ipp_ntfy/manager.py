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
from typing import Any, Dict, List, Optional, Sequence, Tuple

from twisted.application.service import Service
from twisted.internet.defer import Deferred, inlineCallbacks, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from .interfaces import ISubscriptionStore
from .ipp import Attribute, Group, GroupTag, Message, decode, encode
from .notification import (  # private helpers for personalize's fast path
    _CORE_BY_NAME,
    _RANK,
    Event,
    _fastEvent,
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
    """
    receivedAt = event.receivedAt.isoformat() if event.receivedAt else None
    header = json.dumps({"source": event.source, "receivedAt": receivedAt})
    body = encode(Message((2, 0), 0, 0, [event.toGroup()]))
    return header.encode("utf-8") + b"\n" + body


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
        self._listeners: List[Any] = []
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
        dispatcher's C{wake}).
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

    @inlineCallbacks
    def publish(self, event: Event) -> Any:
        """
        Queue C{event} for every live subscription of its printer that it
        matches, durably and atomically.

        @return: a Deferred that fires, once the event is stored for every match,
            with C{[(subscriptionId, sequenceNumber), ...]}.
        """
        now = self.clock.seconds()
        printerUri = event.printerUri or ""
        subscriptions = self._cache.get(printerUri)
        if subscriptions is None:
            generation = self._generation
            subscriptions = yield self.store.listSubscriptions(printerUri)
            if self.cacheSubscriptions and generation == self._generation:
                if len(self._cache) >= self.maxCachedPrinters:
                    self._cache.clear()
                self._cache[printerUri] = subscriptions
        payload = eventToPayload(event)
        entries: List[Tuple[int, bytes]] = []
        ending: List[Subscription] = []
        for subscription in subscriptions:
            if subscription.expired(now):
                continue
            if matches(subscription, event.event, event.jobId) is not None:
                if event.event == "job-progress":
                    last = self._lastProgress.get(subscription.subscriptionId)
                    if not shouldSendProgress(subscription, last, now):
                        continue
                    self._lastProgress[subscription.subscriptionId] = now
                entries.append((subscription.subscriptionId, payload))
            if endsAfter(subscription, event.event, event.jobId):
                ending.append(subscription)
        sequences: List[int] = []
        if entries:
            sequences = yield self.store.appendEvents(entries, now)
            if not all(sequences):
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
                callback()
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
