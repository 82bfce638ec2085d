"""
Services for C{twistd ipp-ntfy} and for embedding: each long-running part is an
C{IService}.
"""

from __future__ import annotations

from typing import IO, List, Optional, Sequence, cast

from twisted.application.service import MultiService, Service
from twisted.internet.defer import Deferred, DeferredList, succeed
from twisted.internet.interfaces import IListeningPort, IProtocolFactory, IReactorTime
from twisted.logger import Logger
from twisted.web.resource import IResource, Resource

from .listener import NotificationFactory, NotificationListener
from .output import JSONLinesSink


def resourceAt(path: str, leaf: IResource) -> IResource:
    """
    @return: a resource tree that serves C{leaf} at URL C{path} (e.g.
        C{"/notify"}; C{"/"} serves it at the root).
    """
    segments = [s.encode("utf-8") for s in path.strip("/").split("/") if s]
    if not segments:
        return leaf
    root = Resource()
    node = root
    for segment in segments[:-1]:
        child = Resource()
        node.putChild(segment, child)
        node = child
    node.putChild(segments[-1], cast(Resource, leaf))
    return root


class EndpointsService(Service):
    """
    Listens with one factory (a L{NotificationFactory}, a C{Site}, ...) on
    several endpoint descriptions, and logs each address it listens on.
    C{stopService} fires once every port is closed.
    """

    log = Logger()

    def __init__(
        self,
        reactor: object,
        descriptions: Sequence[str],
        site: IProtocolFactory,
        minimumTLSVersion: str = "1.2",
        clientCA: Optional[str] = None,
    ) -> None:
        self.reactor = reactor
        self.descriptions = list(descriptions)
        self.site = site
        self.minimumTLSVersion = minimumTLSVersion
        self.clientCA = clientCA
        self.ports: List[IListeningPort] = []
        self.listening: Deferred[List[IListeningPort]] = Deferred()

    def startService(self) -> None:
        from .tls import listenEndpoint

        super().startService()
        waiting = []
        for description in self.descriptions:
            endpoint = listenEndpoint(
                self.reactor,
                description,
                minimumTLSVersion=self.minimumTLSVersion,
                clientCA=self.clientCA,
            )
            d = endpoint.listen(self.site)
            d.addCallback(self._listening, description)
            waiting.append(d)
        DeferredList(waiting, fireOnOneErrback=True, consumeErrors=True).addCallbacks(
            lambda _: self.listening.callback(self.ports),
            self._failed,
        )

    def _listening(self, port: IListeningPort, description: str) -> IListeningPort:
        self.ports.append(port)
        host = port.getHost()
        self.log.info(
            "listening on {description} ({address})",
            description=description,
            address=f"{getattr(host, 'host', host)}:{getattr(host, 'port', '')}",
        )
        return port

    def _failed(self, failure: object) -> None:
        from twisted.python.failure import Failure

        assert isinstance(failure, Failure)
        error = failure.value.subFailure  # type: ignore[union-attr]
        self.log.failure("cannot listen", error)
        self.listening.errback(error)
        # A listener that cannot listen is useless: stop the application.
        stop = getattr(self.reactor, "stop", None)
        if stop is not None and getattr(self.reactor, "running", False):
            stop()

    def stopService(self) -> Deferred[None]:
        super().stopService()
        ports, self.ports = self.ports, []
        d = DeferredList([succeed(port.stopListening()) for port in ports])
        return d.addCallback(lambda _: None)


class ListenerService(MultiService):
    """
    C{twistd ipp-ntfy listen}: a notification listener writing JSON lines.

    It serves with L{NotificationFactory}, the lean HTTP/1.1 front end: a
    standalone listener has no other resources to serve, so C{twisted.web}
    would only cost time per request.  C{self.factory} is the factory,
    C{self.listener} the L{NotificationListener} it answers with.
    """

    def __init__(
        self,
        endpoints: Sequence[str],
        output: IO[str],
        path: str = "/notify",
        maxBodyBytes: int = 4 * 1024 * 1024,
        requestTimeout: float = 30.0,
        idleTimeout: float = 60.0,
        minimumTLSVersion: str = "1.2",
        clientCA: Optional[str] = None,
        reactor: Optional[IReactorTime] = None,
    ) -> None:
        super().__init__()
        if reactor is None:
            from twisted.internet import reactor as _reactor

            reactor = cast(IReactorTime, _reactor)
        self.sink = JSONLinesSink(output)
        self.listener = NotificationListener(self.sink, clock=reactor)
        self.factory = NotificationFactory(
            self.listener,
            path,
            maxBodyBytes=maxBodyBytes,
            requestTimeout=requestTimeout,
            idleTimeout=idleTimeout,
            reactor=reactor,
        )
        self.endpoints = EndpointsService(
            reactor, endpoints, self.factory, minimumTLSVersion, clientCA
        )
        self.endpoints.setServiceParent(self)
