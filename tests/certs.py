"""
Test certificates, made at run time with C{cryptography} and written as PEM into a
temporary directory. Nothing here is ever committed: every run has fresh keys.

The set (see L{TestCertificates}):

    - C{ca}: the server-side test CA.
    - C{server}: signed by C{ca}, for C{localhost}, C{127.0.0.1} and C{::1}.
    - C{expired}: like C{server}, but its validity ended yesterday.
    - C{wrongHost}: signed by C{ca}, for C{wrong.example} only.
    - C{selfSigned}: self-signed, for C{localhost} and C{127.0.0.1}.
    - C{clientCA}: the CA an mTLS listener trusts for client certificates.
    - C{client}: a client certificate signed by C{clientCA}.
    - C{strayClient}: a client certificate signed by C{ca}, not C{clientCA}.

Keys are ECDSA P-256: quick to make, accepted by every TLS version in play.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from typing import List, Optional, Sequence, Union

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_ONE_DAY = datetime.timedelta(days=1)

SubjectName = Union[x509.DNSName, x509.IPAddress]


@dataclass(frozen=True)
class Issued:
    """
    One certificate and its key, in memory and on disk.

    @ivar certificate: the certificate.
    @ivar key: its private key.
    @ivar certPath: the PEM certificate file.
    @ivar keyPath: the PEM (PKCS#8, unencrypted) private key file.
    """

    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    certPath: str
    keyPath: str

    @property
    def pem(self) -> bytes:
        """
        The certificate as PEM.
        """
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def der(self) -> bytes:
        """
        The certificate as DER.
        """
        return self.certificate.public_bytes(serialization.Encoding.DER)


@dataclass(frozen=True)
class TestCertificates:
    """
    The whole set, see the module docstring.

    @ivar directory: where the PEM files are.
    """

    directory: str
    ca: Issued
    server: Issued
    expired: Issued
    wrongHost: Issued
    selfSigned: Issued
    clientCA: Issued
    client: Issued
    strayClient: Issued

    def path(self, name: str) -> str:
        """
        A path inside L{directory}, for files the tests write themselves.
        """
        return os.path.join(self.directory, name)


def _name(commonName: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, commonName)])


def _sans(names: Sequence[str]) -> List[SubjectName]:
    sans: List[SubjectName] = []
    for name in names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            sans.append(x509.DNSName(name))
    return sans


def _issue(
    directory: str,
    fileName: str,
    commonName: str,
    *,
    issuer: Optional[Issued] = None,
    isCA: bool = False,
    names: Sequence[str] = (),
    clientAuth: bool = False,
    notBefore: Optional[datetime.datetime] = None,
    notAfter: Optional[datetime.datetime] = None,
) -> Issued:
    """
    Make a key and a certificate for it, signed by C{issuer} (self-signed when
    C{issuer} is L{None}), and write both as PEM.
    """
    now = datetime.datetime.now(datetime.timezone.utc)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name(commonName)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.certificate.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(notBefore or now - _ONE_DAY)
        .not_valid_after(notAfter or now + 30 * _ONE_DAY)
        .add_extension(
            x509.BasicConstraints(ca=isCA, path_length=None),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
            critical=False,
        )
    )
    if isCA:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    else:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage(
                [
                    ExtendedKeyUsageOID.CLIENT_AUTH
                    if clientAuth
                    else ExtendedKeyUsageOID.SERVER_AUTH
                ]
            ),
            critical=False,
        )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    if names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(_sans(names)), critical=False
        )
    signingKey = issuer.key if issuer else key
    certificate = builder.sign(signingKey, hashes.SHA256())

    certPath = os.path.join(directory, fileName + ".pem")
    keyPath = os.path.join(directory, fileName + ".key.pem")
    with open(certPath, "wb") as f:
        f.write(certificate.public_bytes(serialization.Encoding.PEM))
    with open(
        os.open(keyPath, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb"
    ) as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return Issued(certificate, key, certPath, keyPath)


def makeCertificates(directory: str) -> TestCertificates:
    """
    Make the whole set in C{directory} (created if missing).

    @param directory: a fresh temporary directory, e.g. from C{TestCase.mktemp}.
    """
    os.makedirs(directory, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    local = ("localhost", "127.0.0.1", "::1")
    ca = _issue(directory, "ca", "ipp_ntfy test CA", isCA=True)
    clientCA = _issue(directory, "client-ca", "ipp_ntfy test client CA", isCA=True)
    return TestCertificates(
        directory=directory,
        ca=ca,
        server=_issue(directory, "server", "localhost", issuer=ca, names=local),
        expired=_issue(
            directory,
            "expired",
            "localhost",
            issuer=ca,
            names=local,
            notBefore=now - 30 * _ONE_DAY,
            notAfter=now - _ONE_DAY,
        ),
        wrongHost=_issue(
            directory, "wrong-host", "wrong.example", issuer=ca, names=["wrong.example"]
        ),
        selfSigned=_issue(
            directory, "self-signed", "localhost", names=("localhost", "127.0.0.1")
        ),
        clientCA=clientCA,
        client=_issue(
            directory, "client", "printer-1", issuer=clientCA, clientAuth=True
        ),
        strayClient=_issue(
            directory, "stray-client", "printer-2", issuer=ca, clientAuth=True
        ),
    )
