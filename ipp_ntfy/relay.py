"""
The notification relay: one process that takes subscriptions from applications
over IPP (RFC 3995/3996), gets events from printers and CUPS servers, and delivers
them with the durable retry queue::

    /ipp/printers/<name>   the IPP server: one printer object per upstream queue
                           and per pushing printer (--upstream, --printer)
    /notify/<name>         the listener where a pushing printer delivers its reports
    /metrics               the relay's metrics (L{ipp_ntfy.metrics}), in the
                           Prometheus text format; or on endpoints of their own
"""

from __future__ import annotations

import socket
from typing import Any, Dict, List, Optional, Sequence
from urllib.parse import urlsplit

from twisted.application.service import MultiService
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.logger import Logger
from twisted.web.iweb import IPolicyForHTTPS
from twisted.web.resource import Resource
from zope.interface import implementer

from .delivery import HttpDeliveryMethod
from .dispatcher import Dispatcher
from .interfaces import (
    INotificationSink,
    IOwnership,
    IRelayObserver,
    ISubscriptionStore,
)
from .listener import NotificationListener, NotificationSite
from .manager import SubscriptionManager
from .metrics import MetricsResource, RelayMetrics
from .notification import Event, ReportStatus
from .retry import RetryPolicy
from .service import EndpointsService
from .store.opening import (
    DEFAULT_CLAIM_LEASE,
    StoreLocationError,
    describeError,
    isDatabaseUrl,
    openStore,
    redacted,
)
from .store.sqlite import StoreFileError
from .subscription import SubscriptionPolicy

DEFAULT_PORT = 8631


def printerName(upstreamUri: str) -> str:
    """
    The relay's printer object name for an upstream queue: the last path segment
    of its URI (C{ipp://cups:631/printers/lobby} -> C{lobby}).
    """
    path = urlsplit(upstreamUri).path.rstrip("/")
    name = path.rsplit("/", 1)[-1]
    if not name:
        raise ValueError(f"no queue name in {upstreamUri!r}")
    return name


def defaultBaseUri(listen: Sequence[str]) -> str:
    """
    The relay's own IPP base URI from its first endpoint: C{ipp://HOST:PORT/ipp},
    or C{ipps://} for a C{ssl:} endpoint.
    """
    scheme, port = "ipp", DEFAULT_PORT
    if listen:
        parts = listen[0].split(":")
        if parts[0] in ("ssl", "tcp", "tcp6"):
            scheme = "ipps" if parts[0] == "ssl" else "ipp"
            for part in parts[1:]:
                value = part.split("=", 1)[-1] if part.startswith("port=") else part
                if value.isdigit():
                    port = int(value)
                    break
    return f"{scheme}://{socket.getfqdn()}:{port}/ipp"


@implementer(INotificationSink)
class PushedPrinterSink:
    """
    Takes the reports a printer pushes to C{/notify/<name>} and publishes their
    events on the relay's printer object C{printerUri}.

    A report the printer sends again (same source subscription and sequence number
    as one already taken) is acknowledged and dropped.  An event is acknowledged
    only once it is stored for every matching subscription.

    @ivar observer: an L{IRelayObserver} told of each event taken (not of those
        dropped), or C{None}.
    """

    log = Logger()

    def __init__(
        self,
        name: str,
        printerUri: str,
        manager: SubscriptionManager,
        store: ISubscriptionStore,
        observer: Optional[IRelayObserver] = None,
    ) -> None:
        self.name = name
        self.printerUri = printerUri
        self.manager = manager
        self.store = store
        self.observer = observer

    @inlineCallbacks
    def receive(self, event: Event) -> Any:
        cursor = f"push:{self.name}:{event.subscriptionId}"
        last = yield self.store.getCursor(cursor)
        if last is not None and event.sequenceNumber <= int(last):
            self.log.debug(
                "dropped a re-sent event {sequence} from {printer}",
                sequence=event.sequenceNumber,
                printer=self.name,
            )
            return int(ReportStatus.CONSUMED)
        local = _onPrinter(event, self.printerUri)
        yield self.manager.publish(local)
        yield self.store.setCursor(cursor, str(event.sequenceNumber))
        if self.observer is not None:
            self.observer.eventsReceived(event.source, 1)
        return int(ReportStatus.CONSUMED)


def _whenFired(d: Deferred[Any]) -> Deferred[Any]:
    """
    A new Deferred with C{d}'s result, leaving C{d}'s result for others.
    """
    copy: Deferred[Any] = Deferred()

    def passOn(result: Any) -> Any:
        copy.callback(result)
        return result

    d.addCallback(passOn)
    return copy


def _onPrinter(event: Event, printerUri: str) -> Event:
    import dataclasses

    return dataclasses.replace(event, printerUri=printerUri)


class RelayService(MultiService):
    """
    C{twistd ipp-ntfy relay}.

    The store is opened when the service starts; then the manager, the
    dispatcher, the upstream pollers and the HTTP endpoints start, in that order.
    C{stopService} stops taking work, waits until deliveries under way are
    recorded, and closes the store.

    C{db} is a SQLite file or a C{postgresql://} URL (see L{openStore}).  With
    PostgreSQL, several relays may share the database: the manager reads
    subscriptions from the store for every event (no cache), the store's claims
    last C{claimLease} seconds (more than C{requestTimeout}), and each upstream
    is polled by one relay at a time (L{ExclusiveService
    <ipp_ntfy.ownership.ExclusiveService>}, trying every C{ownershipInterval}
    seconds).

    @param metrics: whether to serve the metrics (L{ipp_ntfy.metrics}) at
        C{/metrics}.
    @param metricsListen: endpoint descriptions to serve C{/metrics} on instead
        of the relay's own endpoints (so that it can be reached by a monitor
        only); with the same TLS settings.

    @ivar metrics: the L{RelayMetrics} (C{None} with C{metrics=False}).
    @ivar metricsPorts: the ports of C{metricsListen}, once started.
    """

    log = Logger()

    def __init__(
        self,
        reactor: Any,
        *,
        listen: Sequence[str],
        db: str,
        upstreams: Sequence[str] = (),
        printers: Sequence[str] = (),
        baseUri: Optional[str] = None,
        tlsPolicy: Optional[IPolicyForHTTPS] = None,
        upstreamTLSPolicy: Optional[IPolicyForHTTPS] = None,
        policy: Optional[SubscriptionPolicy] = None,
        retryPolicy: Optional[RetryPolicy] = None,
        maxBodyBytes: int = 4 * 1024 * 1024,
        requestTimeout: float = 30.0,
        idleTimeout: float = 60.0,
        minimumTLSVersion: str = "1.2",
        clientCA: Optional[str] = None,
        eventLife: float = 60.0,
        historyLimit: int = 100,
        pollInterval: float = 2.0,
        storeOpener: Optional[Any] = None,
        metrics: bool = True,
        metricsListen: Sequence[str] = (),
        claimLease: float = DEFAULT_CLAIM_LEASE,
        ownershipInterval: float = 5.0,
    ) -> None:
        super().__init__()
        if metricsListen and not metrics:
            raise ValueError("metricsListen needs metrics")
        self.reactor = reactor
        self.listen = list(listen)
        self.db = db
        self.upstreams = list(upstreams)
        self.printerNames = list(printers)
        self.baseUri = (baseUri or defaultBaseUri(self.listen)).rstrip("/")
        self.tlsPolicy = tlsPolicy
        self.upstreamTLSPolicy = upstreamTLSPolicy
        self.policy = policy
        self.retryPolicy = retryPolicy
        self.maxBodyBytes = maxBodyBytes
        self.requestTimeout = requestTimeout
        self.idleTimeout = idleTimeout
        self.minimumTLSVersion = minimumTLSVersion
        self.clientCA = clientCA
        self.eventLife = eventLife
        self.historyLimit = historyLimit
        self.pollInterval = pollInterval
        self.storeOpener = storeOpener
        self.metrics = RelayMetrics() if metrics else None
        self.metricsListen = list(metricsListen)
        self.metricsPorts: List[Any] = []
        self.claimLease = claimLease
        self.ownershipInterval = ownershipInterval
        #: Whether other relays may share the store (a PostgreSQL C{db}).
        self.shared = isDatabaseUrl(db)
        self.ownership: Optional[IOwnership] = None
        self.store: Optional[ISubscriptionStore] = None
        self.manager: Optional[SubscriptionManager] = None
        self.dispatcher: Optional[Dispatcher] = None
        self.delivery: Optional[HttpDeliveryMethod] = None
        self.endpoints: Optional[EndpointsService] = None
        self.started: Deferred[None] = Deferred()
        self.ports: List[Any] = []
        self._names: Dict[str, str] = {}
        for upstream in self.upstreams:
            self._names[printerName(upstream)] = upstream
        for name in self.printerNames:
            if name in self._names:
                raise ValueError(f"printer name {name!r} given twice")
            self._names[name] = ""

    def printerUri(self, name: str) -> str:
        """
        @return: the URI of the relay's printer object C{name}.
        """
        return f"{self.baseUri}/printers/{name}"

    def startService(self) -> None:
        self.running = 1  # children start as they are built, once the store is open
        d = self._start()
        d.addCallbacks(self.started.callback, self._failed)

    def _failed(self, failure: Any) -> None:
        if failure.check(StoreLocationError, StoreFileError, OSError) or (
            type(failure.value).__module__.startswith(("psycopg", "sqlite3"))
        ):
            self.log.error(
                "the relay could not start: {error}",
                error=describeError(self.db, failure.value),
            )
        else:
            self.log.failure("the relay could not start", failure)
        self.started.errback(failure)
        stop = getattr(self.reactor, "stop", None)
        if stop is not None and getattr(self.reactor, "running", False):
            stop()

    @inlineCallbacks
    def _start(self) -> Any:
        from .ippserver import IppServer
        from .ownership import ExclusiveService, PostgresOwnership
        from .sources.ippget import UpstreamPoller

        opener = self.storeOpener or (
            lambda: openStore(self.db, self.reactor, claimLease=self.claimLease)
        )
        self.store = store = yield opener()
        self.log.info("store {db} open", db=redacted(self.db))
        if self.shared and any(self._names.values()):
            self.ownership = yield PostgresOwnership.open(self.db, self.reactor)
        self.manager = manager = SubscriptionManager(
            store,
            self.reactor,
            self.policy,
            historyLimit=self.historyLimit,
            eventLife=self.eventLife,
            # Other relays create and cancel subscriptions in a shared store.
            cacheSubscriptions=not self.shared,
        )
        manager.setServiceParent(self)
        self.delivery = delivery = HttpDeliveryMethod(
            self.reactor,
            tlsPolicy=self.tlsPolicy,
            requestTimeout=self.requestTimeout,
        )
        self.dispatcher = dispatcher = Dispatcher(
            store,
            delivery,
            self.reactor,
            self.retryPolicy,
            # Other relays' transactions may hide due events from one look at
            # the queue (rows they hold locked are skipped): look again soon.
            pollInterval=1.0 if self.shared else 5.0,
            observer=self.metrics,
        )
        # Told what each publish queued, the dispatcher looks at the queue only
        # when that can send something.
        manager.onPublished(dispatcher.queued)
        dispatcher.setServiceParent(self)

        root = Resource()
        notify = Resource()
        root.putChild(b"notify", notify)
        printers: List[str] = []
        for name, upstream in self._names.items():
            printers.append(name)
            if upstream:

                def poller(upstream: str = upstream, name: str = name) -> Any:
                    return UpstreamPoller(
                        upstream,
                        self.printerUri(name),
                        manager,
                        store,
                        self.reactor,
                        tlsPolicy=self.upstreamTLSPolicy,
                        pollInterval=self.pollInterval,
                        observer=self.metrics,
                    )

                if self.ownership is None:
                    poller().setServiceParent(self)
                else:
                    # One relay of those sharing the database polls it.
                    ExclusiveService(
                        self.ownership,
                        f"ippget:{upstream}",
                        poller,
                        self.reactor,
                        self.ownershipInterval,
                    ).setServiceParent(self)
            else:
                sink = PushedPrinterSink(
                    name, self.printerUri(name), manager, store, self.metrics
                )
                notify.putChild(
                    name.encode("utf-8"),
                    NotificationListener(sink, source=name, clock=self.reactor),
                )
        root.putChild(
            b"ipp",
            IppServer(
                manager,
                printers,
                baseUri=self.baseUri,
                clock=self.reactor,
                eventLife=self.eventLife,
            ),
        )
        metricsRoot = root
        if self.metricsListen:
            metricsRoot = Resource()
        if self.metrics is not None:
            metricsRoot.putChild(
                b"metrics", MetricsResource(self.metrics, store, self.reactor)
            )
        site = NotificationSite(
            root,
            maxBodyBytes=self.maxBodyBytes,
            requestTimeout=self.requestTimeout,
            idleTimeout=self.idleTimeout,
            reactor=self.reactor,
        )
        self.endpoints = EndpointsService(
            self.reactor, self.listen, site, self.minimumTLSVersion, self.clientCA
        )
        self.endpoints.setServiceParent(self)
        if self.metricsListen:
            metricsSite = NotificationSite(
                metricsRoot,
                requestTimeout=self.requestTimeout,
                idleTimeout=self.idleTimeout,
                reactor=self.reactor,
            )
            metricsEndpoints = EndpointsService(
                self.reactor,
                self.metricsListen,
                metricsSite,
                self.minimumTLSVersion,
                self.clientCA,
            )
            metricsEndpoints.setServiceParent(self)
            self.metricsPorts = list((yield _whenFired(metricsEndpoints.listening)))
        ports = yield _whenFired(self.endpoints.listening)
        self.ports = list(ports)
        self.log.info(
            "relay ready: printers {printers} at {baseUri}/printers/",
            printers=", ".join(printers) or "(none)",
            baseUri=self.baseUri,
        )

    @inlineCallbacks
    def stopService(self) -> Any:
        yield super().stopService()
        if self.delivery is not None:
            yield self.delivery.pool.closeCachedConnections()
        if self.ownership is not None:
            yield self.ownership.close()
            self.ownership = None
        if self.store is not None:
            yield self.store.close()
            self.store = None


__all__ = ["RelayService", "PushedPrinterSink", "printerName"]
