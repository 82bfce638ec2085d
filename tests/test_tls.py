"""
Tests for L{ipp_ntfy.tls}: the listener's TLS endpoints and the delivery side's
certificate policy.

Most tests are integration tests: real TLS on 127.0.0.1, port 0, the real reactor, a
twisted.web L{Site} answering C{b"ok"} as the listener and
L{twisted.web.client.Agent} with the policy under test as the client. Certificates
are made fresh for every test by L{tests.certs}.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any, Dict, List, Optional, Type, cast

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from OpenSSL import SSL, crypto
from service_identity import VerificationError
from twisted.internet import reactor as _reactor
from twisted.internet.defer import Deferred, gatherResults, inlineCallbacks
from twisted.internet.endpoints import SSL4ServerEndpoint, TCP4ServerEndpoint
from twisted.internet.interfaces import (
    IListeningPort,
    IOpenSSLClientConnectionCreator,
    IOpenSSLServerConnectionCreator,
    IProtocol,
)
from twisted.internet.protocol import Factory, Protocol, connectionDone
from twisted.internet.ssl import CertificateOptions, TLSVersion
from twisted.internet.task import Clock
from twisted.logger import (
    ILogObserver,
    LogEvent,
    LogLevel,
    formatEvent,
    globalLogPublisher,
)
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory
from twisted.protocols.tls import TLSMemoryBIOFactory, TLSMemoryBIOProtocol
from twisted.python.failure import Failure
from twisted.test.iosim import connectedServerAndClient
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.client import (
    Agent,
    HTTPConnectionPool,
    ResponseNeverReceived,
    readBody,
)
from twisted.web.iweb import IPolicyForHTTPS
from twisted.web.resource import Resource
from twisted.web.server import Request, Site
from zope.interface import implementer
from zope.interface.verify import verifyObject

from ipp_ntfy.tls import (
    ANY_HOST,
    CertificatePinError,
    ClientTLSPolicy,
    TLSConfigError,
    certificateFingerprint,
    listenEndpoint,
    parsePin,
    parseTLSVersion,
    policyFor,
)

from .certs import Issued, TestCertificates, makeCertificates

reactor = cast(Any, _reactor)


def _escape(path: str) -> str:
    """
    Escape a file name for an endpoint description.
    """
    return os.path.abspath(path).replace("\\", "\\\\").replace(":", "\\:")


def sslDescription(issued: Issued, port: int = 0) -> str:
    """
    The C{ssl:} description of a loopback listener with C{issued}'s key and
    certificate.
    """
    return (
        f"ssl:{port}:interface=127.0.0.1:privateKey={_escape(issued.keyPath)}"
        f":certKey={_escape(issued.certPath)}"
    )


def serverContext(endpoint: object) -> SSL.Context:
    """
    The OpenSSL context an L{SSL4ServerEndpoint} from L{listenEndpoint} uses.
    """
    assert isinstance(endpoint, SSL4ServerEndpoint)
    options = endpoint._sslContextFactory
    assert isinstance(options, CertificateOptions)
    return options.getContext()


class _Ok(Resource):
    isLeaf = True

    def render_GET(self, request: Request) -> bytes:
        return b"ok"


class _TrackingFactory(WrappingFactory):
    """
    Remembers the server's connections so that a test can end them all and wait
    until they are gone (no dirty reactor).
    """

    def __init__(self, wrappedFactory: Any) -> None:
        super().__init__(wrappedFactory)
        self._gone: Dict[ProtocolWrapper, Deferred[None]] = {}

    def registerProtocol(self, p: ProtocolWrapper) -> None:
        super().registerProtocol(p)
        self._gone[p] = Deferred()

    def unregisterProtocol(self, p: ProtocolWrapper) -> None:
        super().unregisterProtocol(p)
        self._gone.pop(p).callback(None)

    def disconnectAll(self) -> Deferred[List[None]]:
        waiting = list(self._gone.values())
        for protocol in list(self._gone):
            protocol.transport.abortConnection()  # type: ignore[union-attr]
        return gatherResults(waiting)


def _legacyContext(minimum: int, maximum: int) -> SSL.Context:
    """
    A context limited to TLS versions C{minimum} to C{maximum}, without
    certificate checks.
    """
    context = SSL.Context(SSL.TLS_METHOD)
    context.set_min_proto_version(minimum)
    context.set_max_proto_version(maximum)
    # OpenSSL 3 refuses TLS 1.0 and 1.1 at the default security level.
    context.set_cipher_list(b"DEFAULT:@SECLEVEL=0")
    return context


@implementer(IPolicyForHTTPS, IOpenSSLClientConnectionCreator)
class _LimitedClient:
    """
    A client speaking TLS C{minimum} to C{maximum} and checking nothing: an old
    printer.
    """

    def __init__(self, maximum: int, minimum: int = SSL.TLS1_VERSION) -> None:
        self._context = _legacyContext(minimum, maximum)

    def creatorForNetloc(
        self, hostname: bytes, port: int
    ) -> IOpenSSLClientConnectionCreator:
        return self

    def clientConnectionForTLS(
        self, tlsProtocol: TLSMemoryBIOProtocol
    ) -> SSL.Connection:
        return SSL.Connection(self._context, None)


@implementer(IOpenSSLServerConnectionCreator)
class _LimitedServer:
    """
    A server speaking TLS C{minimum} to C{maximum}, outside L{listenEndpoint}.
    """

    def __init__(self, issued: Issued, minimum: int, maximum: int) -> None:
        self._context = _legacyContext(minimum, maximum)
        self._context.use_certificate(crypto.X509.from_cryptography(issued.certificate))
        self._context.use_privatekey(crypto.PKey.from_cryptography_key(issued.key))

    def serverConnectionForTLS(
        self, tlsProtocol: TLSMemoryBIOProtocol
    ) -> SSL.Connection:
        return SSL.Connection(self._context, None)


class IntegrationTestCase(TestCase):
    """
    Real sockets on 127.0.0.1, cleaned up after each test.
    """

    certs: TestCertificates

    def setUp(self) -> None:
        self.certs = makeCertificates(self.mktemp())

    @inlineCallbacks
    def listen(
        self,
        issued: Optional[Issued] = None,
        *,
        endpoint: Optional[Any] = None,
        minimumTLSVersion: str = "1.2",
        clientCA: Optional[str] = None,
    ) -> Any:
        """
        Start a listener answering C{b"ok"}: with L{listenEndpoint} and
        C{issued}'s certificate, or on C{endpoint}.

        @return: a L{Deferred} firing with the port number.
        """
        if endpoint is None:
            assert issued is not None
            endpoint = listenEndpoint(
                reactor,
                sslDescription(issued),
                minimumTLSVersion=minimumTLSVersion,
                clientCA=clientCA,
            )
        factory = _TrackingFactory(Site(_Ok()))
        port: IListeningPort = yield endpoint.listen(factory)
        self.addCleanup(factory.disconnectAll)
        self.addCleanup(port.stopListening)
        return port.getHost().port  # type: ignore[attr-defined]

    def get(
        self, policy: IPolicyForHTTPS, port: int, host: str = "127.0.0.1"
    ) -> Deferred[bytes]:
        """
        GET C{https://host:port/} with C{policy} and read the body.
        """
        pool = HTTPConnectionPool(reactor, persistent=True)
        # Runs before the listener's clean-ups (they were added earlier).
        self.addCleanup(pool.closeCachedConnections)
        agent = Agent(reactor, contextFactory=policy, pool=pool)
        d = agent.request(b"GET", f"https://{host}:{port}/".encode("ascii"))
        return d.addCallback(readBody)

    @inlineCallbacks
    def assertRefused(self, d: Deferred[bytes], reasonType: Type[BaseException]) -> Any:
        """
        Assert that a request failed before any response because of a
        C{reasonType}.

        @return: a L{Deferred} firing with that reason's exception.
        """
        failure = yield self.assertFailure(d, ResponseNeverReceived)
        reasons: List[Failure] = failure.reasons
        self.assertEqual(len(reasons), 1, reasons)
        self.assertTrue(reasons[0].check(reasonType), reasons[0])
        return reasons[0].value

    def assertVerifyFailed(self, error: SSL.Error) -> None:
        """
        Assert that an OpenSSL error is the client refusing the certificate.
        """
        self.assertIn("certificate verify failed", str(error))


class ServerCertificateTests(IntegrationTestCase):
    """
    The default policy: chain and host name.
    """

    @inlineCallbacks
    def test_validCertificateWithCAFile(self) -> Any:
        """
        A certificate from the CA in C{caFile}, for the IP address connected to
        (subjectAltName IP), is accepted.
        """
        port = yield self.listen(self.certs.server)
        body = yield self.get(ClientTLSPolicy(caFile=self.certs.ca.certPath), port)
        self.assertEqual(body, b"ok")

    @inlineCallbacks
    def test_validCertificateByHostName(self) -> Any:
        """
        The same certificate is accepted by DNS name (subjectAltName DNS).
        """
        port = yield self.listen(self.certs.server)
        policy = ClientTLSPolicy(caFile=self.certs.ca.certPath)
        body = yield self.get(policy, port, host="localhost")
        self.assertEqual(body, b"ok")

    @inlineCallbacks
    def test_wrongHostNameRefused(self) -> Any:
        """
        A certificate from a trusted CA that does not name the host is refused:
        service_identity's L{VerificationError}.
        """
        port = yield self.listen(self.certs.wrongHost)
        d = self.get(ClientTLSPolicy(caFile=self.certs.ca.certPath), port)
        error = yield self.assertRefused(d, VerificationError)
        self.assertIn("127.0.0.1", str(error))

    @inlineCallbacks
    def test_expiredRefused(self) -> Any:
        """
        An expired certificate from a trusted CA is refused by OpenSSL.
        """
        port = yield self.listen(self.certs.expired)
        d = self.get(ClientTLSPolicy(caFile=self.certs.ca.certPath), port)
        error = yield self.assertRefused(d, SSL.Error)
        self.assertVerifyFailed(error)

    @inlineCallbacks
    def test_selfSignedRefusedByDefault(self) -> Any:
        """
        A self-signed certificate is refused by the platform trust.
        """
        port = yield self.listen(self.certs.selfSigned)
        error = yield self.assertRefused(self.get(ClientTLSPolicy(), port), SSL.Error)
        self.assertVerifyFailed(error)

    @inlineCallbacks
    def test_otherCARefused(self) -> Any:
        """
        With C{caFile}, only its CAs are trusted: a self-signed certificate is
        refused too.
        """
        port = yield self.listen(self.certs.selfSigned)
        d = self.get(ClientTLSPolicy(caFile=self.certs.ca.certPath), port)
        error = yield self.assertRefused(d, SSL.Error)
        self.assertVerifyFailed(error)


class PinningTests(IntegrationTestCase):
    """
    Pins replace the chain and host name checks.
    """

    @inlineCallbacks
    def test_pinnedSelfSignedAccepted(self) -> Any:
        """
        A pinned self-signed certificate is accepted with no CA.
        """
        port = yield self.listen(self.certs.selfSigned)
        policy = ClientTLSPolicy(
            pins=[certificateFingerprint(self.certs.selfSigned.pem)]
        )
        body = yield self.get(policy, port)
        self.assertEqual(body, b"ok")

    @inlineCallbacks
    def test_pinnedPerHost(self) -> Any:
        """
        A pin for the host connected to applies; it is accepted.
        """
        port = yield self.listen(self.certs.selfSigned)
        fingerprint = certificateFingerprint(self.certs.selfSigned.der)
        policy = ClientTLSPolicy(pins={"127.0.0.1": [fingerprint]})
        body = yield self.get(policy, port)
        self.assertEqual(body, b"ok")

    @inlineCallbacks
    def test_pinIgnoresHostNameAndExpiry(self) -> Any:
        """
        A pinned certificate is accepted whatever host it names and whatever its
        dates: the pin alone decides.
        """
        for issued in (self.certs.wrongHost, self.certs.expired):
            port = yield self.listen(issued)
            policy = ClientTLSPolicy(pins=[certificateFingerprint(issued.pem)])
            body = yield self.get(policy, port)
            self.assertEqual(body, b"ok")

    @inlineCallbacks
    def test_pinMismatchRefused(self) -> Any:
        """
        A certificate that is valid by chain and host name is refused when the
        host is pinned to another key, with L{CertificatePinError} as the
        reason.
        """
        port = yield self.listen(self.certs.server)
        pin = certificateFingerprint(self.certs.selfSigned.pem)
        policy = ClientTLSPolicy(caFile=self.certs.ca.certPath, pins=[pin])
        error = yield self.assertRefused(self.get(policy, port), CertificatePinError)
        self.assertEqual(error.host, "127.0.0.1")
        self.assertEqual(
            error.fingerprint, certificateFingerprint(self.certs.server.pem)
        )
        self.assertEqual(error.pins, frozenset([pin]))
        self.assertIn("not pinned", str(error))

    @inlineCallbacks
    def test_pinForOtherHostIgnored(self) -> Any:
        """
        Another host's pin does not apply: the certificate is checked as usual.
        """
        port = yield self.listen(self.certs.server)
        pin = certificateFingerprint(self.certs.selfSigned.pem)
        policy = ClientTLSPolicy(
            caFile=self.certs.ca.certPath, pins={"printer.example": [pin]}
        )
        body = yield self.get(policy, port)
        self.assertEqual(body, b"ok")


class InsecureTests(IntegrationTestCase):
    """
    C{insecure=True} accepts anything, and says so.
    """

    @inlineCallbacks
    def test_insecureAcceptsSelfSignedAndWarns(self) -> Any:
        """
        A self-signed certificate is accepted; a warning is logged when the policy
        is made and when the host is first connected to.
        """
        events: List[LogEvent] = []
        observer = cast(ILogObserver, events.append)
        globalLogPublisher.addObserver(observer)
        self.addCleanup(globalLogPublisher.removeObserver, observer)
        port = yield self.listen(self.certs.selfSigned)
        body = yield self.get(ClientTLSPolicy(insecure=True), port)
        self.assertEqual(body, b"ok")
        warnings = [
            formatEvent(event)
            for event in events
            if event.get("log_level") is LogLevel.warn
            and event.get("log_namespace", "").startswith("ipp_ntfy.tls")
        ]
        self.assertEqual(len(warnings), 2, warnings)
        self.assertIn("verification is OFF", warnings[0])
        self.assertIn(f"127.0.0.1:{port}", warnings[1])


class MutualTLSTests(IntegrationTestCase):
    """
    A listener with C{clientCA} wants a client certificate from that CA.
    """

    @inlineCallbacks
    def test_clientWithoutCertificateRefused(self) -> Any:
        """
        A client with no certificate fails the handshake: the listener's alert
        arrives as an L{SSL.Error} (TLS 1.3 reports it after the client's side of
        the handshake, which is why the request was already written).
        """
        port = yield self.listen(
            self.certs.server, clientCA=self.certs.clientCA.certPath
        )
        d = self.get(ClientTLSPolicy(caFile=self.certs.ca.certPath), port)
        error = yield self.assertRefused(d, SSL.Error)
        self.assertIn("certificate required", str(error))

    @inlineCallbacks
    def test_clientCertificateAccepted(self) -> Any:
        """
        A client certificate from the client CA is accepted.
        """
        port = yield self.listen(
            self.certs.server, clientCA=self.certs.clientCA.certPath
        )
        policy = ClientTLSPolicy(
            caFile=self.certs.ca.certPath,
            clientCertificate=self.certs.client.certPath,
            clientKey=self.certs.client.keyPath,
        )
        body = yield self.get(policy, port)
        self.assertEqual(body, b"ok")

    @inlineCallbacks
    def test_clientCertificateWithPinnedServer(self) -> Any:
        """
        The client certificate is also presented to a pinned listener.
        """
        port = yield self.listen(
            self.certs.selfSigned, clientCA=self.certs.clientCA.certPath
        )
        combined = self.certs.path("client-combined.pem")
        with open(combined, "wb") as f:
            f.write(self.certs.client.pem)
            with open(self.certs.client.keyPath, "rb") as key:
                f.write(key.read())
        policy = ClientTLSPolicy(
            pins=[certificateFingerprint(self.certs.selfSigned.pem)],
            clientCertificate=combined,
        )
        body = yield self.get(policy, port)
        self.assertEqual(body, b"ok")

    @inlineCallbacks
    def test_clientCertificateFromOtherCARefused(self) -> Any:
        """
        A client certificate from another CA is refused by the listener.
        """
        port = yield self.listen(
            self.certs.server, clientCA=self.certs.clientCA.certPath
        )
        policy = ClientTLSPolicy(
            caFile=self.certs.ca.certPath,
            clientCertificate=self.certs.strayClient.certPath,
            clientKey=self.certs.strayClient.keyPath,
        )
        error = yield self.assertRefused(self.get(policy, port), SSL.Error)
        self.assertIn("unknown ca", str(error))


class MinimumVersionTests(IntegrationTestCase):
    """
    The listener's C{minimumTLSVersion}, and the client's.
    """

    @inlineCallbacks
    def test_tls11ClientRefused(self) -> Any:
        """
        A client that speaks at most TLS 1.1 is refused by a default listener,
        though it can talk to a server that allows TLS 1.1 (so the refusal is the
        listener's doing, not the client's inability).
        """
        legacy = SSL4ServerEndpoint(
            reactor,
            0,
            _LimitedServer(self.certs.server, SSL.TLS1_VERSION, SSL.TLS1_3_VERSION),
            interface="127.0.0.1",
        )
        legacyPort = yield self.listen(endpoint=legacy)
        body = yield self.get(_LimitedClient(SSL.TLS1_1_VERSION), legacyPort)
        self.assertEqual(body, b"ok")

        port = yield self.listen(self.certs.server)
        d = self.get(_LimitedClient(SSL.TLS1_1_VERSION), port)
        error = yield self.assertRefused(d, SSL.Error)
        self.assertIn("protocol version", str(error))

    @inlineCallbacks
    def test_tls12ClientRefusedByTLS13Listener(self) -> Any:
        """
        With C{minimumTLSVersion="1.3"}, a TLS 1.2 client is refused; it is
        accepted by a default listener.
        """
        port = yield self.listen(self.certs.server)
        body = yield self.get(_LimitedClient(SSL.TLS1_2_VERSION), port)
        self.assertEqual(body, b"ok")

        port = yield self.listen(self.certs.server, minimumTLSVersion="1.3")
        d = self.get(_LimitedClient(SSL.TLS1_2_VERSION), port)
        error = yield self.assertRefused(d, SSL.Error)
        self.assertIn("protocol version", str(error))

    @inlineCallbacks
    def test_clientMinimumRefusesOlderServer(self) -> Any:
        """
        A policy with C{minimumTLSVersion="1.3"} refuses a TLS 1.2 listener.
        """
        server = SSL4ServerEndpoint(
            reactor,
            0,
            _LimitedServer(self.certs.server, SSL.TLS1_2_VERSION, SSL.TLS1_2_VERSION),
            interface="127.0.0.1",
        )
        port = yield self.listen(endpoint=server)
        policy = ClientTLSPolicy(caFile=self.certs.ca.certPath, minimumTLSVersion="1.3")
        error = yield self.assertRefused(self.get(policy, port), SSL.Error)
        self.assertIn("protocol version", str(error))


class _Recorder(Protocol):
    """
    Records what it receives and why its connection ended.
    """

    def __init__(self) -> None:
        self.received = b""
        self.lost: Optional[Failure] = None

    def dataReceived(self, data: bytes) -> None:
        self.received += data

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.lost = reason


class _Greeter(Protocol):
    def connectionMade(self) -> None:
        self.transport.write(b"hello")  # type: ignore[union-attr]


class InMemoryTests(SynchronousTestCase):
    """
    The same TLS, pumped in memory with L{twisted.test.iosim}: no sockets, no
    timing.
    """

    def setUp(self) -> None:
        self.certs = makeCertificates(self.mktemp())

    def handshake(self, policy: ClientTLSPolicy, issued: Issued) -> _Recorder:
        """
        Connect a client with C{policy} to a listener with C{issued}'s
        certificate that says C{b"hello"}, and pump until nothing moves.

        @return: the client's application protocol.
        """
        clock = Clock()
        endpoint = listenEndpoint(reactor, sslDescription(issued))
        assert isinstance(endpoint, SSL4ServerEndpoint)
        serverFactory = TLSMemoryBIOFactory(
            endpoint._sslContextFactory, False, Factory.forProtocol(_Greeter), clock
        )
        recorder = _Recorder()
        clientFactory = TLSMemoryBIOFactory(
            policy.creatorForNetloc(b"127.0.0.1", 443),
            True,
            Factory.forProtocol(lambda: recorder),
            clock,
        )

        def server() -> IProtocol:
            return cast(IProtocol, serverFactory.buildProtocol(None))

        def client() -> IProtocol:
            return cast(IProtocol, clientFactory.buildProtocol(None))

        connectedServerAndClient(server, client, clock=clock)
        return recorder

    def test_pinMatch(self) -> None:
        """
        A pinned self-signed listener's greeting arrives.
        """
        pin = certificateFingerprint(self.certs.selfSigned.pem)
        recorder = self.handshake(ClientTLSPolicy(pins=[pin]), self.certs.selfSigned)
        self.assertEqual(recorder.received, b"hello")
        self.assertIsNone(recorder.lost)

    def test_pinMismatch(self) -> None:
        """
        A listener with another key is cut off during the handshake, with
        L{CertificatePinError} as the reason and nothing received.
        """
        pin = certificateFingerprint(self.certs.selfSigned.pem)
        recorder = self.handshake(ClientTLSPolicy(pins=[pin]), self.certs.server)
        self.assertEqual(recorder.received, b"")
        assert recorder.lost is not None
        self.assertTrue(recorder.lost.check(CertificatePinError), recorder.lost)


class ListenEndpointTests(SynchronousTestCase):
    """
    L{listenEndpoint}: what it builds and what it refuses.
    """

    def setUp(self) -> None:
        self.certs = makeCertificates(self.mktemp())

    def assertConfigError(
        self, option: str, *args: Any, **kwargs: Any
    ) -> TLSConfigError:
        """
        Assert that L{listenEndpoint} raises L{TLSConfigError} about C{option}.
        """
        error = self.assertRaises(
            TLSConfigError, listenEndpoint, reactor, *args, **kwargs
        )
        self.assertEqual(error.option, option, str(error))
        return error

    def test_otherDescriptionsPassThrough(self) -> None:
        """
        A C{tcp:} description is Twisted's own endpoint.
        """
        endpoint = listenEndpoint(reactor, "tcp:port=8631:interface=127.0.0.1")
        self.assertIsInstance(endpoint, TCP4ServerEndpoint)

    def test_clientCANeedsTLS(self) -> None:
        """
        Client certificates are refused for a description that is not C{ssl:}:
        ignoring them would let everyone in.
        """
        self.assertConfigError(
            "clientCA", "tcp:8631", clientCA=self.certs.clientCA.certPath
        )

    def test_minimumVersionFlags(self) -> None:
        """
        The listener's context refuses what is older than the minimum version.
        """
        default = serverContext(
            listenEndpoint(reactor, sslDescription(self.certs.server))
        )
        old = SSL.OP_NO_SSLv3 | SSL.OP_NO_TLSv1 | SSL.OP_NO_TLSv1_1
        self.assertEqual(default.set_options(0) & old, old)
        self.assertFalse(default.set_options(0) & SSL.OP_NO_TLSv1_2)
        strict = serverContext(
            listenEndpoint(
                reactor, sslDescription(self.certs.server), minimumTLSVersion="1.3"
            )
        )
        self.assertTrue(strict.set_options(0) & SSL.OP_NO_TLSv1_2)
        self.assertFalse(strict.set_options(0) & SSL.OP_NO_TLSv1_3)

    def test_clientCARequiresCertificate(self) -> None:
        """
        With C{clientCA}, the context requires a client certificate.
        """
        context = serverContext(
            listenEndpoint(
                reactor,
                sslDescription(self.certs.server),
                clientCA=self.certs.clientCA.certPath,
            )
        )
        self.assertEqual(
            context.get_verify_mode()
            & (SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT),
            SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT,
        )

    def test_keyAndCertificateInOneFile(self) -> None:
        """
        Without C{certKey}, the C{privateKey} file holds both, as in Twisted.
        """
        combined = self.certs.path("combined.pem")
        with open(combined, "wb") as f:
            with open(self.certs.server.keyPath, "rb") as key:
                f.write(key.read())
            f.write(self.certs.server.pem)
        endpoint = listenEndpoint(reactor, f"ssl:0:privateKey={_escape(combined)}")
        self.assertIsInstance(endpoint, SSL4ServerEndpoint)

    def test_chainAfterCertificate(self) -> None:
        """
        Certificates after the first in C{certKey} and those of C{extraCertChain}
        are sent as the chain.
        """
        fullChain = self.certs.path("fullchain.pem")
        with open(fullChain, "wb") as f:
            f.write(self.certs.server.pem + self.certs.ca.pem)
        endpoint = listenEndpoint(
            reactor,
            f"ssl:port=0:privateKey={_escape(self.certs.server.keyPath)}"
            f":certKey={_escape(fullChain)}"
            f":extraCertChain={_escape(self.certs.clientCA.certPath)}",
        )
        assert isinstance(endpoint, SSL4ServerEndpoint)
        self.assertEqual(len(endpoint._sslContextFactory.extraCertChain), 2)

    def test_missingKey(self) -> None:
        """
        A missing key file is named.
        """
        missing = self.certs.path("missing.pem")
        error = self.assertConfigError(
            "privateKey",
            f"ssl:0:privateKey={_escape(missing)}:certKey={_escape(self.certs.server.certPath)}",
        )
        self.assertEqual(error.path, os.path.abspath(missing))
        self.assertIn("cannot read", error.reason)

    def test_missingCertificate(self) -> None:
        """
        A missing certificate file is named.
        """
        missing = self.certs.path("missing.pem")
        error = self.assertConfigError(
            "certKey",
            f"ssl:0:privateKey={_escape(self.certs.server.keyPath)}:certKey={_escape(missing)}",
        )
        self.assertEqual(error.path, os.path.abspath(missing))

    def test_unreadableKey(self) -> None:
        """
        A key file without a key is refused.
        """
        error = self.assertConfigError(
            "privateKey",
            f"ssl:0:privateKey={_escape(self.certs.server.certPath)}"
            f":certKey={_escape(self.certs.server.certPath)}",
        )
        self.assertIn("no readable PEM private key", error.reason)

    def test_encryptedKey(self) -> None:
        """
        An encrypted key is refused with a reason saying so.
        """
        encrypted = self.certs.path("encrypted.key.pem")
        with open(encrypted, "wb") as f:
            f.write(
                self.certs.server.key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.BestAvailableEncryption(b"secret"),
                )
            )
        error = self.assertConfigError(
            "privateKey",
            f"ssl:0:privateKey={_escape(encrypted)}"
            f":certKey={_escape(self.certs.server.certPath)}",
        )
        self.assertIn("encrypted", error.reason)

    def test_keyDoesNotMatchCertificate(self) -> None:
        """
        A key that is not the certificate's is refused before any client comes.
        """
        error = self.assertConfigError(
            "certKey",
            f"ssl:0:privateKey={_escape(self.certs.selfSigned.keyPath)}"
            f":certKey={_escape(self.certs.server.certPath)}",
        )
        self.assertIn("does not match", error.reason)
        self.assertEqual(error.path, os.path.abspath(self.certs.server.certPath))

    def test_certificateFileWithoutCertificate(self) -> None:
        """
        A C{clientCA} file with no certificate in it is refused.
        """
        error = self.assertConfigError(
            "clientCA",
            sslDescription(self.certs.server),
            clientCA=self.certs.server.keyPath,
        )
        self.assertIn("no PEM certificate", error.reason)

    def test_badVersion(self) -> None:
        """
        Versions that are not versions, and versions older than 1.2, are refused.
        """
        for version in ("1.4", "banana", "", "1.1", "TLSv1"):
            error = self.assertConfigError(
                "minimumTLSVersion", "tcp:8631", minimumTLSVersion=version
            )
            self.assertEqual(error.value, version)

    def test_badParameters(self) -> None:
        """
        Unknown C{ssl:} parameters, C{sslmethod}, a missing or bad port are
        refused, naming the parameter.
        """
        key = _escape(self.certs.server.keyPath)
        cert = _escape(self.certs.server.certPath)
        self.assertConfigError(
            "colour", f"ssl:0:privateKey={key}:certKey={cert}:colour=red"
        )
        self.assertConfigError(
            "sslmethod", f"ssl:0:privateKey={key}:certKey={cert}:sslmethod=TLSv1_METHOD"
        )
        self.assertConfigError("port", f"ssl:privateKey={key}:certKey={cert}")
        self.assertConfigError("port", f"ssl:http:privateKey={key}:certKey={cert}")
        self.assertConfigError("port", f"ssl:70000:privateKey={key}:certKey={cert}")
        self.assertConfigError(
            "backlog", f"ssl:0:privateKey={key}:certKey={cert}:backlog=x"
        )

    def test_errorMessage(self) -> None:
        """
        The message names the setting, the file and the reason.
        """
        error = TLSConfigError("cannot read the file", option="caFile", path="/x.pem")
        self.assertEqual(str(error), "caFile '/x.pem': cannot read the file")
        self.assertEqual(str(TLSConfigError("bad")), "bad")


class VersionTests(SynchronousTestCase):
    """
    L{parseTLSVersion}.
    """

    def test_spellings(self) -> None:
        """
        The usual spellings of 1.2 and 1.3 are read.
        """
        for text in ("1.2", "TLSv1.2", "tls1.2", "TLSv1_2", " 1.2 "):
            self.assertIs(parseTLSVersion(text), TLSVersion.TLSv1_2)
        for text in ("1.3", "TLSv1.3", "TLSV1_3"):
            self.assertIs(parseTLSVersion(text), TLSVersion.TLSv1_3)

    def test_oldVersionsExplained(self) -> None:
        """
        Old versions are refused with their own reason.
        """
        error = self.assertRaises(TLSConfigError, parseTLSVersion, "1.0")
        self.assertIn("older than 1.2", error.reason)


class PolicyTests(SynchronousTestCase):
    """
    L{ClientTLSPolicy}, L{policyFor}, pins and fingerprints, without connecting.
    """

    def setUp(self) -> None:
        self.certs = makeCertificates(self.mktemp())

    def test_interfaces(self) -> None:
        """
        The policy is an L{IPolicyForHTTPS}; its creators are
        L{IOpenSSLClientConnectionCreator}s for verified, pinned and unverified
        hosts.
        """
        policy = ClientTLSPolicy(pins={"printer.example": ["sha256:" + "0" * 64]})
        self.assertTrue(verifyObject(IPolicyForHTTPS, policy))
        for candidate in (policy, ClientTLSPolicy(insecure=True)):
            for host in (b"printer.example", b"127.0.0.1"):
                creator = candidate.creatorForNetloc(host, 443)
                self.assertTrue(verifyObject(IOpenSSLClientConnectionCreator, creator))

    def test_fingerprintIsOfPublicKey(self) -> None:
        """
        The fingerprint is the SHA-256 of the SubjectPublicKeyInfo, the same from
        PEM bytes, PEM text, DER and a loaded certificate.
        """
        issued = self.certs.server
        spki = issued.key.public_key().public_bytes(
            serialization.Encoding.DER,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )
        expected = "sha256:" + hashlib.sha256(spki).hexdigest()
        self.assertEqual(certificateFingerprint(issued.pem), expected)
        self.assertEqual(certificateFingerprint(issued.pem.decode("ascii")), expected)
        self.assertEqual(certificateFingerprint(issued.der), expected)
        self.assertEqual(certificateFingerprint(issued.certificate), expected)

    def test_fingerprintSurvivesReissue(self) -> None:
        """
        A certificate re-issued for the same key has the same fingerprint.
        """
        # The server's certificate, signed again with a new serial number.
        builder = (
            x509.CertificateBuilder()
            .subject_name(self.certs.server.certificate.subject)
            .issuer_name(self.certs.ca.certificate.subject)
            .public_key(self.certs.server.key.public_key())
            .serial_number(2)
            .not_valid_before(self.certs.server.certificate.not_valid_before_utc)
            .not_valid_after(self.certs.server.certificate.not_valid_after_utc)
        )
        again = builder.sign(self.certs.ca.key, hashes.SHA256())
        self.assertEqual(
            certificateFingerprint(again),
            certificateFingerprint(self.certs.server.certificate),
        )

    def test_fingerprintOfNonsense(self) -> None:
        """
        Bytes that are not a certificate are a L{TLSConfigError}.
        """
        self.assertRaises(TLSConfigError, certificateFingerprint, b"nonsense")
        self.assertRaises(
            TLSConfigError, certificateFingerprint, "-----BEGIN CERTIFICATE-----\n"
        )

    def test_parsePin(self) -> None:
        """
        Pins are normalised: lower case, no colons; anything else is refused.
        """
        digest = "ab" * 32
        self.assertEqual(parsePin("sha256:" + digest.upper()), "sha256:" + digest)
        self.assertEqual(
            parsePin("sha256:" + ":".join(["AB"] * 32)), "sha256:" + digest
        )
        for bad in (
            "sha1:" + digest,
            "sha256:" + digest[:-2],
            digest,
            "sha256:zz" * 32,
        ):
            error = self.assertRaises(TLSConfigError, parsePin, bad)
            self.assertEqual((error.option, error.value), ("pins", bad))

    def test_pinsFor(self) -> None:
        """
        A host's pins are its own and those for every host; host names are
        compared without case, brackets or a final dot.
        """
        one, two, three = ("sha256:" + c * 64 for c in "123")
        policy = ClientTLSPolicy(
            pins={"Printer.Example.": [one], "[::1]": two, ANY_HOST: [three]}
        )
        self.assertEqual(policy.pinsFor("printer.example"), {one, three})
        self.assertEqual(policy.pinsFor("::1"), {two, three})
        self.assertEqual(policy.pinsFor("other.example"), {three})
        self.assertEqual(ClientTLSPolicy().pinsFor("printer.example"), frozenset())

    def test_policyFor(self) -> None:
        """
        L{policyFor} reads C{HOST=PIN} and bare pins, as a command line gives them.
        """
        one, two = ("sha256:" + c * 64 for c in "12")
        policy = policyFor(pins=[f"printer.example={one}", two, f"::1={one}"])
        self.assertEqual(policy.pinsFor("printer.example"), {one, two})
        self.assertEqual(policy.pinsFor("[::1]"), {one, two})
        self.assertEqual(policy.pinsFor("other.example"), {two})
        error = self.assertRaises(TLSConfigError, policyFor, pins=[f"={one}"])
        self.assertEqual(error.option, "pins")

    def test_insecureExcludesChecks(self) -> None:
        """
        C{insecure} cannot be combined with C{caFile} or pins: one of them would
        be silently ignored.
        """
        self.assertRaises(
            TLSConfigError,
            ClientTLSPolicy,
            insecure=True,
            caFile=self.certs.ca.certPath,
        )
        error = self.assertRaises(
            TLSConfigError, ClientTLSPolicy, insecure=True, pins=["sha256:" + "0" * 64]
        )
        self.assertEqual(error.option, "insecure")

    def test_fileErrors(self) -> None:
        """
        Missing or wrong files are refused when the policy is made.
        """
        missing = self.certs.path("missing.pem")
        error = self.assertRaises(TLSConfigError, ClientTLSPolicy, caFile=missing)
        self.assertEqual((error.option, error.path), ("caFile", missing))
        error = self.assertRaises(
            TLSConfigError,
            ClientTLSPolicy,
            clientCertificate=self.certs.client.certPath,
            clientKey=self.certs.server.keyPath,
        )
        self.assertEqual(error.option, "clientCertificate")
        self.assertIn("does not match", error.reason)
        error = self.assertRaises(
            TLSConfigError,
            ClientTLSPolicy,
            clientCertificate=self.certs.client.certPath,
        )
        self.assertEqual(error.option, "clientKey")
        error = self.assertRaises(
            TLSConfigError, ClientTLSPolicy, clientKey=self.certs.client.keyPath
        )
        self.assertEqual(error.option, "clientKey")

    def test_badVersion(self) -> None:
        """
        A bad minimum version is refused.
        """
        error = self.assertRaises(
            TLSConfigError, ClientTLSPolicy, minimumTLSVersion="1.1"
        )
        self.assertEqual(error.option, "minimumTLSVersion")
