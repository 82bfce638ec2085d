"""
TLS for both ends of an HTTP notification (DESIGN.md §3, "TLS").

Listener side: L{listenEndpoint} turns a Twisted endpoint string into a server
endpoint. C{ssl:} descriptions are built here rather than by Twisted, so that a
minimum TLS version and client-certificate authentication (mTLS) apply; every other
kind (C{tcp:}, C{unix:}, C{systemd:}, plugins) goes through
L{twisted.internet.endpoints.serverFromString} unchanged.

Delivery side: L{ClientTLSPolicy} is the L{IPolicyForHTTPS} handed to
L{twisted.web.client.Agent}. By default it does what
L{twisted.internet.ssl.optionsForClientTLS} does: the chain is verified against the
platform trust (or a CA file) and the host name or IP address against the
certificate's subjectAltName via C{service_identity}. A host may instead be pinned
(see L{certificateFingerprint}); C{insecure=True} turns verification off, and says
so in the log.

Pins are C{"sha256:<hex>"} of the DER-encoded I{SubjectPublicKeyInfo} of the
server's leaf certificate (the RFC 7469 and tahoe-lafs choice), not of the whole
certificate: a printer that re-issues its self-signed certificate with the same key
(on expiry, or after a host name change) keeps its pin. A pin decides alone: a pinned
certificate is accepted whoever signed it, whatever host name it names and whatever
its validity dates say, and a certificate that does not match is refused even when
the chain and the host name would have been fine.

Every configuration problem is a L{TLSConfigError}; a refused pin reaches the
application as L{CertificatePinError} among the reasons of the failed request.
"""

from __future__ import annotations

import hashlib
import os
import re
from typing import (
    Any,
    Callable,
    Dict,
    FrozenSet,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Set,
    Tuple,
    Union,
)

from constantly import NamedConstant  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from OpenSSL import SSL, crypto
from twisted.internet._sslverify import IOpenSSLTrustRoot
from twisted.internet.abstract import isIPAddress, isIPv6Address
from twisted.internet.endpoints import (
    SSL4ServerEndpoint,
    _parse,
    serverFromString,
)
from twisted.internet.interfaces import (
    IOpenSSLClientConnectionCreator,
    IStreamServerEndpoint,
)
from twisted.internet.ssl import (
    Certificate,
    CertificateOptions,
    DiffieHellmanParameters,
    KeyPair,
    PrivateCertificate,
    TLSVersion,
    optionsForClientTLS,
    platformTrust,
    trustRootFromCertificates,
)
from twisted.logger import Logger
from twisted.protocols.tls import TLSMemoryBIOProtocol
from twisted.python.failure import Failure
from twisted.python.filepath import FilePath
from twisted.web.iweb import IPolicyForHTTPS
from zope.interface import implementer

__all__ = [
    "ANY_HOST",
    "CertificatePinError",
    "ClientTLSPolicy",
    "TLSConfigError",
    "certificateFingerprint",
    "listenEndpoint",
    "parsePin",
    "parseTLSVersion",
    "policyFor",
]

StrPath = Union[str, "os.PathLike[str]"]
"""A file name: text or an C{os.PathLike}."""

PinSpec = Union[str, Iterable[str], Mapping[str, Union[str, Iterable[str]]]]
"""
Pins as L{ClientTLSPolicy} takes them: one pin, an iterable of pins for every host,
or a mapping from host name to its pins where the key C{"*"} means every host.
"""

_PrivateKey = Union[
    dsa.DSAPrivateKey,
    ec.EllipticCurvePrivateKey,
    ed25519.Ed25519PrivateKey,
    ed448.Ed448PrivateKey,
    rsa.RSAPrivateKey,
]
_PRIVATE_KEY_TYPES = (
    dsa.DSAPrivateKey,
    ec.EllipticCurvePrivateKey,
    ed25519.Ed25519PrivateKey,
    ed448.Ed448PrivateKey,
    rsa.RSAPrivateKey,
)

_TLS_VERSIONS: Dict[str, NamedConstant] = {
    "1.2": TLSVersion.TLSv1_2,
    "1.3": TLSVersion.TLSv1_3,
}
_OLD_TLS_VERSIONS = frozenset({"1", "1.0", "1.1", "ssl3", "sslv3", "3"})

_PIN_PATTERN = re.compile(r"sha256:([0-9a-fA-F]{2}(?::?[0-9a-fA-F]{2}){31})")

ANY_HOST = "*"
"""The key of a pin mapping whose pins apply to every host."""

# The parameters of Twisted's ssl: endpoint, in the order _parseSSL takes them
# positionally.
_SSL_PARAMETERS = (
    "port",
    "privateKey",
    "certKey",
    "sslmethod",
    "interface",
    "backlog",
    "extraCertChain",
    "dhParameters",
)


class TLSConfigError(ValueError):
    """
    A TLS setting cannot be used: a file is missing or unreadable, a key does not
    match its certificate, a version or pin is malformed, or settings contradict
    each other.

    @ivar reason: what is wrong, in words.
    @ivar option: the setting at fault (C{"privateKey"}, C{"certKey"},
        C{"clientCA"}, C{"caFile"}, C{"minimumTLSVersion"}, C{"pins"}, ...), or
        L{None}.
    @ivar path: the file at fault, or L{None}.
    @ivar value: the offending value when it is not a file (a version string, a
        pin, an endpoint description), or L{None}.
    """

    def __init__(
        self,
        reason: str,
        *,
        option: Optional[str] = None,
        path: Optional[str] = None,
        value: Optional[str] = None,
    ) -> None:
        super().__init__(reason, option, path, value)
        self.reason = reason
        self.option = option
        self.path = path
        self.value = value

    def __str__(self) -> str:
        subject = self.path if self.path is not None else self.value
        if self.option is not None and subject is not None:
            return f"{self.option} {subject!r}: {self.reason}"
        if self.option is not None:
            return f"{self.option}: {self.reason}"
        if subject is not None:
            return f"{subject!r}: {self.reason}"
        return self.reason


class CertificatePinError(Exception):
    """
    A pinned host presented a certificate whose key is not among its pins. This is
    the reason the TLS handshake was aborted; L{twisted.web.client.Agent} reports
    it inside C{ResponseNeverReceived.reasons}.

    @ivar host: the host name or address connected to.
    @ivar fingerprint: the pin of the certificate presented (see
        L{certificateFingerprint}).
    @ivar pins: the pins that would have been accepted.
    """

    def __init__(self, host: str, fingerprint: str, pins: FrozenSet[str]) -> None:
        super().__init__(host, fingerprint, pins)
        self.host = host
        self.fingerprint = fingerprint
        self.pins = pins

    def __str__(self) -> str:
        return (
            f"the TLS certificate of {self.host} has key {self.fingerprint}, "
            f"which is not pinned for it (pinned: {', '.join(sorted(self.pins))})"
        )


def parseTLSVersion(version: str) -> NamedConstant:
    """
    Read a minimum TLS version setting.

    @param version: C{"1.2"} or C{"1.3"}; C{"TLSv1.2"}, C{"tls1.3"} and
        C{"TLSv1_3"} are read the same.
    @return: the L{TLSVersion} constant.
    @raise TLSConfigError: for anything else, with a reason of its own for the
        versions older than 1.2, which are not offered.
    """
    text = version.strip().lower().replace("_", ".")
    for prefix in ("tlsv", "tls"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    if text in _TLS_VERSIONS:
        return _TLS_VERSIONS[text]
    if text in _OLD_TLS_VERSIONS:
        reason = "TLS versions older than 1.2 are not supported"
    else:
        reason = "not a TLS version; use '1.2' or '1.3'"
    raise TLSConfigError(reason, option="minimumTLSVersion", value=version)


def _spkiFingerprint(certificate: x509.Certificate) -> str:
    spki = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "sha256:" + hashlib.sha256(spki).hexdigest()


def certificateFingerprint(certificate: Union[bytes, str, x509.Certificate]) -> str:
    """
    The pin of a certificate: C{"sha256:"} and the lower-case hex SHA-256 of the
    DER-encoded SubjectPublicKeyInfo (the certificate's public key), as RFC 7469
    pins it. With OpenSSL::

        openssl x509 -in cert.pem -pubkey -noout \\
          | openssl pkey -pubin -outform der | openssl dgst -sha256

    @param certificate: the certificate as PEM (text or bytes), as DER, or loaded.
    @return: the pin, e.g. C{"sha256:9f86d0...0f00a08"}.
    @raise TLSConfigError: when the bytes are not a certificate.
    """
    if isinstance(certificate, x509.Certificate):
        return _spkiFingerprint(certificate)
    data = certificate.encode("ascii") if isinstance(certificate, str) else certificate
    try:
        if b"-----BEGIN" in data:
            loaded = x509.load_pem_x509_certificate(data)
        else:
            loaded = x509.load_der_x509_certificate(data)
    except ValueError as e:
        raise TLSConfigError(
            f"not a PEM or DER certificate ({e})", option="certificate"
        ) from e
    return _spkiFingerprint(loaded)


def parsePin(pin: str) -> str:
    """
    Check and normalise one pin.

    @param pin: C{"sha256:"} and 64 hex digits, in either case, optionally with a
        colon between bytes (as C{openssl} prints digests).
    @return: the pin as L{certificateFingerprint} writes it.
    @raise TLSConfigError: when it is not such a pin.
    """
    match = _PIN_PATTERN.fullmatch(pin.strip())
    if match is None:
        raise TLSConfigError(
            "not a pin; expected 'sha256:' and 64 hex digits (the SHA-256 of the "
            "certificate's SubjectPublicKeyInfo)",
            option="pins",
            value=pin,
        )
    return "sha256:" + match.group(1).replace(":", "").lower()


def _normalizeHost(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def _pinSet(pins: Union[str, Iterable[str]]) -> FrozenSet[str]:
    if isinstance(pins, str):
        pins = [pins]
    return frozenset(parsePin(pin) for pin in pins)


def _normalizePins(pins: PinSpec) -> Dict[str, FrozenSet[str]]:
    if isinstance(pins, Mapping):
        byHost: Dict[str, FrozenSet[str]] = {}
        for host, hostPins in pins.items():
            key = ANY_HOST if host.strip() == ANY_HOST else _normalizeHost(host)
            byHost[key] = byHost.get(key, frozenset()) | _pinSet(hostPins)
        return {host: pinned for host, pinned in byHost.items() if pinned}
    everywhere = _pinSet(pins)
    return {ANY_HOST: everywhere} if everywhere else {}


def _display(path: StrPath) -> str:
    return os.fsdecode(path)


def _readFile(path: StrPath, option: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise TLSConfigError(
            f"cannot read the file: {e.strerror or e}",
            option=option,
            path=_display(path),
        ) from e


def _loadCertificates(path: StrPath, option: str) -> List[x509.Certificate]:
    data = _readFile(path, option)
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError:
        certificates = []
    if not certificates:
        raise TLSConfigError(
            "no PEM certificate in the file", option=option, path=_display(path)
        )
    return certificates


def _loadPrivateKey(path: StrPath, option: str) -> _PrivateKey:
    data = _readFile(path, option)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError as e:
        # cryptography says "Password was not given but private key is encrypted".
        raise TLSConfigError(
            "the private key is encrypted; give an unencrypted key",
            option=option,
            path=_display(path),
        ) from e
    except (ValueError, UnsupportedAlgorithm) as e:
        raise TLSConfigError(
            "no readable PEM private key in the file",
            option=option,
            path=_display(path),
        ) from e
    if not isinstance(key, _PRIVATE_KEY_TYPES):
        raise TLSConfigError(
            f"unsupported key type {type(key).__name__}",
            option=option,
            path=_display(path),
        )
    return key


def _publicKeyBytes(key: Union[_PrivateKey, x509.Certificate]) -> bytes:
    public = key.public_key()
    return public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _loadIdentity(
    certPath: StrPath, keyPath: StrPath, certOption: str, keyOption: str
) -> Tuple[crypto.X509, crypto.PKey, List[crypto.X509]]:
    """
    Load a certificate (with any chain after it in the same file) and its key, and
    check that they belong together.

    @return: the certificate, the key, and the rest of the chain.
    """
    certificates = _loadCertificates(certPath, certOption)
    key = _loadPrivateKey(keyPath, keyOption)
    leaf = certificates[0]
    if _publicKeyBytes(leaf) != _publicKeyBytes(key):
        raise TLSConfigError(
            f"the certificate does not match the private key {_display(keyPath)!r}",
            option=certOption,
            path=_display(certPath),
        )
    return (
        crypto.X509.from_cryptography(leaf),
        crypto.PKey.from_cryptography_key(key),
        [crypto.X509.from_cryptography(c) for c in certificates[1:]],
    )


def _trustRootFromFile(path: StrPath, option: str) -> IOpenSSLTrustRoot:
    return trustRootFromCertificates(
        [
            Certificate(crypto.X509.from_cryptography(c))
            for c in _loadCertificates(path, option)
        ]
    )


def listenEndpoint(
    reactor: Any,
    description: str,
    *,
    minimumTLSVersion: str = "1.2",
    clientCA: Optional[StrPath] = None,
) -> IStreamServerEndpoint:
    """
    Make the listener's server endpoint from a Twisted endpoint string.

    An C{ssl:} description takes the parameters Twisted's takes::

        ssl:PORT[:privateKey=KEY.pem][:certKey=CERT.pem][:interface=ADDRESS]
            [:backlog=N][:extraCertChain=CHAIN.pem][:dhParameters=DH.pem]

    (C{privateKey} defaults to C{server.pem}, C{certKey} to the C{privateKey}
    file; certificates after the first in C{certKey} are sent as the chain, like
    those of C{extraCertChain}; C{sslmethod} is refused: it would defeat
    C{minimumTLSVersion}). Files are read and checked now, so a bad one is an
    error here rather than at the first connection.

    @param reactor: the reactor to listen with; it must provide what the endpoint
        type needs (C{IReactorSSL} for C{ssl:}, C{IReactorTCP} for C{tcp:}, ...).
    @param description: the endpoint string, e.g. C{"tcp:8631"},
        C{"tcp:port=8631:interface=127.0.0.1"} or
        C{"ssl:8443:privateKey=key.pem:certKey=cert.pem"}.
    @param minimumTLSVersion: the oldest TLS version an C{ssl:} endpoint accepts:
        C{"1.2"} or C{"1.3"}. Checked for every description, used by C{ssl:} ones.
    @param clientCA: a PEM file of the CA certificates that sign acceptable client
        certificates. When given, a client must present such a certificate or the
        handshake fails (mutual TLS). Only for C{ssl:} descriptions.
    @return: the endpoint; nothing listens until its C{listen} is called.
    @raise TLSConfigError: for a file that is missing or unreadable, a key that
        does not match its certificate, a bad version, an unknown or malformed
        C{ssl:} parameter, or C{clientCA} with a description that is not C{ssl:}.
    """
    version = parseTLSVersion(minimumTLSVersion)
    args, kwargs = _parse(description)
    kind = args[0].strip().lower() if args else ""
    if kind != "ssl":
        if clientCA is not None:
            raise TLSConfigError(
                "client certificates need an ssl: endpoint",
                option="clientCA",
                value=description,
            )
        endpoint: IStreamServerEndpoint = serverFromString(reactor, description)
        return endpoint
    return _sslEndpoint(reactor, description, args[1:], kwargs, version, clientCA)


def _sslParameters(
    description: str, args: Sequence[str], kwargs: Mapping[str, str]
) -> Dict[str, str]:
    if len(args) > len(_SSL_PARAMETERS):
        raise TLSConfigError(
            "too many positional parameters", option="ssl", value=description
        )
    parameters = dict(zip(_SSL_PARAMETERS, args))
    for name, value in kwargs.items():
        if name not in _SSL_PARAMETERS:
            raise TLSConfigError(
                f"unknown ssl: endpoint parameter {name!r}",
                option=name,
                value=description,
            )
        if name in parameters:
            raise TLSConfigError(
                f"ssl: endpoint parameter {name!r} given twice",
                option=name,
                value=description,
            )
        parameters[name] = value
    if "sslmethod" in parameters:
        raise TLSConfigError(
            "sslmethod is not supported; use minimumTLSVersion",
            option="sslmethod",
            value=parameters["sslmethod"],
        )
    if "port" not in parameters:
        raise TLSConfigError("no port", option="port", value=description)
    return parameters


def _integer(parameters: Mapping[str, str], name: str, default: int, top: int) -> int:
    text = parameters.get(name)
    if text is None:
        return default
    try:
        number = int(text)
    except ValueError:
        number = -1
    if not 0 <= number <= top:
        raise TLSConfigError(f"not a number from 0 to {top}", option=name, value=text)
    return number


def _sslEndpoint(
    reactor: Any,
    description: str,
    args: Sequence[str],
    kwargs: Mapping[str, str],
    version: NamedConstant,
    clientCA: Optional[StrPath],
) -> IStreamServerEndpoint:
    parameters = _sslParameters(description, args, kwargs)
    port = _integer(parameters, "port", 0, 65535)
    backlog = _integer(parameters, "backlog", 50, 2**31 - 1)
    keyPath = parameters.get("privateKey", "server.pem")
    certPath = parameters.get("certKey", keyPath)
    certificate, key, chain = _loadIdentity(certPath, keyPath, "certKey", "privateKey")
    if "extraCertChain" in parameters:
        chain += [
            crypto.X509.from_cryptography(c)
            for c in _loadCertificates(parameters["extraCertChain"], "extraCertChain")
        ]
    dhParameters = None
    if "dhParameters" in parameters:
        dhPath = parameters["dhParameters"]
        _readFile(dhPath, "dhParameters")
        dhParameters = DiffieHellmanParameters.fromFile(FilePath(dhPath))
    trustRoot = None
    if clientCA is not None:
        trustRoot = _trustRootFromFile(clientCA, "clientCA")
    options = CertificateOptions(
        privateKey=key,
        certificate=certificate,
        extraCertChain=chain or None,
        dhParameters=dhParameters,
        trustRoot=trustRoot,
        raiseMinimumTo=version,
    )
    try:
        # Build the context now: whatever OpenSSL refuses is a configuration
        # error, better reported at start-up than at the first client.
        options.getContext()
    except SSL.Error as e:
        raise TLSConfigError(
            f"OpenSSL refused the TLS settings: {e}", option="ssl", value=description
        ) from e
    endpoint: IStreamServerEndpoint = SSL4ServerEndpoint(
        reactor,
        port,
        options,
        backlog=backlog,
        interface=parameters.get("interface", ""),
    )
    return endpoint


@implementer(IOpenSSLClientConnectionCreator)
class _ClientCreator:
    """
    A client connection creator for a host that is pinned (C{pins} given) or not
    verified at all (C{pins} is L{None}); verified hosts use
    L{optionsForClientTLS} instead.

    @ivar _options: unverifying options (protocol versions, client certificate)
        shared by every connection.
    @ivar _host: the host name or address, without brackets.
    @ivar _pins: the acceptable pins, or L{None} to accept any certificate.
    """

    def __init__(
        self,
        options: CertificateOptions,
        host: str,
        pins: Optional[FrozenSet[str]],
    ) -> None:
        self._options = options
        self._host = host
        self._pins = pins

    def clientConnectionForTLS(
        self, tlsProtocol: TLSMemoryBIOProtocol
    ) -> SSL.Connection:
        """
        Make the connection: SNI for host names, and the pin check when pinned.

        @param tlsProtocol: the TLS protocol the connection is for.
        @return: the configured connection.
        """
        connection = self._options.clientConnectionForTLS(tlsProtocol)
        # As Twisted does: literal IP addresses are not sent as server names.
        if not (isIPAddress(self._host) or isIPv6Address(self._host)):
            connection.set_tlsext_host_name(self._host.encode("ascii"))
        if self._pins is not None:
            connection.set_verify(
                SSL.VERIFY_PEER, _pinVerifier(tlsProtocol, self._host, self._pins)
            )
        return connection


def _pinVerifier(
    tlsProtocol: TLSMemoryBIOProtocol, host: str, pins: FrozenSet[str]
) -> Callable[[SSL.Connection, crypto.X509, int, int, int], bool]:
    """
    An OpenSSL verify callback that accepts exactly the leaf certificates whose key
    is pinned.

    The chain is not looked at (depth > 0 always passes, whatever OpenSSL thought
    of it): a pin stands in for the CA. On a mismatch the handshake is aborted with
    L{CertificatePinError} as the reason the connection was lost.
    """
    protocol: Optional[TLSMemoryBIOProtocol] = tlsProtocol

    def verify(
        connection: SSL.Connection, cert: crypto.X509, err: int, depth: int, ok: int
    ) -> bool:
        nonlocal protocol
        if depth != 0:
            return True
        fingerprint = _spkiFingerprint(cert.to_cryptography())
        if fingerprint in pins:
            return True
        if protocol is not None:
            protocol.failVerification(
                Failure(CertificatePinError(host, fingerprint, pins))
            )
            # The connection is done for; drop the reference cycle.
            protocol = None
        return False

    return verify


@implementer(IPolicyForHTTPS)
class ClientTLSPolicy:
    """
    How L{twisted.web.client.Agent} checks the listeners it delivers to.

    For each host: when it is pinned (its own pins or pins for every host), the
    leaf certificate's key must be pinned and nothing else is checked; otherwise
    the chain must lead to the platform trust roots (or to C{caFile}'s) and the
    certificate must name the host (DNS name, or IP address for a literal address)
    in its subjectAltName; with C{insecure}, nothing is checked.

    Files are read when the policy is made.

    @ivar insecure: whether certificates are not checked at all.
    """

    log = Logger()

    def __init__(
        self,
        caFile: Optional[StrPath] = None,
        pins: PinSpec = (),
        clientCertificate: Optional[StrPath] = None,
        clientKey: Optional[StrPath] = None,
        insecure: bool = False,
        minimumTLSVersion: str = "1.2",
    ) -> None:
        """
        @param caFile: a PEM file of the CA certificates to trust instead of the
            platform's.
        @param pins: pins (see L{certificateFingerprint}): an iterable of pins
            accepted for every host, or a mapping of host name or address to its
            pins, where the key C{"*"} stands for every host. A host's pins are
            its own plus those for every host.
        @param clientCertificate: a PEM file with the client certificate to
            present when a listener asks for one (mTLS), optionally followed by
            its chain, and by its key when C{clientKey} is not given.
        @param clientKey: the PEM file of the client certificate's private key.
        @param insecure: check no certificate at all. Logged as a warning when
            the policy is made, and for each host the first time.
        @param minimumTLSVersion: the oldest TLS version to speak, C{"1.2"} or
            C{"1.3"}.
        @raise TLSConfigError: for files that are missing or unreadable, a key
            that does not match, a malformed pin or version, C{insecure} together
            with C{caFile} or pins, or C{clientKey} without C{clientCertificate}.
        """
        self._minimumTLSVersion = parseTLSVersion(minimumTLSVersion)
        self._pins = _normalizePins(pins)
        if insecure and (caFile is not None or self._pins):
            raise TLSConfigError(
                "insecure turns verification off; it cannot be combined with "
                "caFile or pins",
                option="insecure",
            )
        if clientKey is not None and clientCertificate is None:
            raise TLSConfigError(
                "a client key needs a client certificate",
                option="clientKey",
                path=_display(clientKey),
            )
        self.insecure = insecure
        self._trustRoot: IOpenSSLTrustRoot = (
            platformTrust() if caFile is None else _trustRootFromFile(caFile, "caFile")
        )
        self._clientCertificate: Optional[PrivateCertificate] = None
        self._clientChain: List[crypto.X509] = []
        certificate: Optional[crypto.X509] = None
        key: Optional[crypto.PKey] = None
        if clientCertificate is not None:
            certificate, key, self._clientChain = _loadIdentity(
                clientCertificate,
                clientCertificate if clientKey is None else clientKey,
                "clientCertificate",
                "clientKey",
            )
            self._clientCertificate = PrivateCertificate.fromCertificateAndKeyPair(
                Certificate(certificate), KeyPair(key)
            )
        # For pinned and unverified hosts; verification is per connection.
        self._unverifiedOptions = CertificateOptions(
            privateKey=key,
            certificate=certificate,
            extraCertChain=self._clientChain or None,
            raiseMinimumTo=self._minimumTLSVersion,
        )
        self._warnedHosts: Set[str] = set()
        if insecure:
            self.log.warn(
                "TLS certificate verification is OFF (insecure): deliveries can be "
                "read and altered by anyone on the path"
            )

    def pinsFor(self, host: str) -> FrozenSet[str]:
        """
        The pins a host must match.

        @param host: a host name or address, as in a URL (brackets allowed).
        @return: its own pins and those for every host; empty when it is not
            pinned.
        """
        return self._pins.get(_normalizeHost(host), frozenset()) | self._pins.get(
            ANY_HOST, frozenset()
        )

    def creatorForNetloc(
        self, hostname: bytes, port: int
    ) -> IOpenSSLClientConnectionCreator:
        """
        The connection creator for one listener.

        @param hostname: its host name or IP address, as in the URL.
        @param port: its port.
        @return: the creator that checks it as the class docstring says.
        """
        host = hostname.decode("ascii").strip("[]")
        if self.insecure:
            if host not in self._warnedHosts:
                self._warnedHosts.add(host)
                self.log.warn(
                    "not verifying the TLS certificate of {host}:{port} (insecure)",
                    host=host,
                    port=port,
                )
            return _ClientCreator(self._unverifiedOptions, host, None)
        pins = self.pinsFor(host)
        if pins:
            return _ClientCreator(self._unverifiedOptions, host, pins)
        extra: Dict[str, Any] = {"raiseMinimumTo": self._minimumTLSVersion}
        if self._clientChain:
            extra["extraCertChain"] = list(self._clientChain)
        return optionsForClientTLS(
            host,
            trustRoot=self._trustRoot,
            clientCertificate=self._clientCertificate,
            extraCertificateOptions=extra,
        )


def policyFor(
    *,
    caFile: Optional[StrPath] = None,
    pins: Sequence[str] = (),
    clientCertificate: Optional[StrPath] = None,
    clientKey: Optional[StrPath] = None,
    insecure: bool = False,
    minimumTLSVersion: str = "1.2",
) -> ClientTLSPolicy:
    """
    Build a L{ClientTLSPolicy} from command-line style values (repeatable
    C{--pin}, C{--ca-file}, ...).

    @param pins: each C{"sha256:<hex>"} for every host, or C{"HOST=sha256:<hex>"}
        for one host (C{HOST} a name or an IP address, IPv6 with or without
        brackets).
    @return: the policy; the other parameters are those of L{ClientTLSPolicy}.
    @raise TLSConfigError: as L{ClientTLSPolicy} does, and for a pin with an empty
        host.
    """
    byHost: Dict[str, List[str]] = {}
    for pin in pins:
        host, separator, value = pin.rpartition("=")
        if separator and not host.strip():
            raise TLSConfigError("a pin with an empty host", option="pins", value=pin)
        byHost.setdefault(host.strip() if separator else ANY_HOST, []).append(value)
    return ClientTLSPolicy(
        caFile=caFile,
        pins=byHost,
        clientCertificate=clientCertificate,
        clientKey=clientKey,
        insecure=insecure,
        minimumTLSVersion=minimumTLSVersion,
    )
