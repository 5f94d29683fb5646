"""Certificates and keys for a loopback cluster.

One CA signs the apiserver's serving certificate and the node agent's kubelet endpoint, so
that clients (kubectl, kopf, in-pod clients reading ``ca.crt``) verify TLS instead of
skipping it, and the apiserver verifies the node agent when it proxies ``kubectl logs``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

SERVICE_IP = "10.96.0.1"  # first address of --service-cluster-ip-range: the `kubernetes` Service


@dataclass(frozen=True)
class Pki:
    ca_cert: Path
    ca_key: Path
    apiserver_cert: Path
    apiserver_key: Path
    kubelet_cert: Path
    kubelet_key: Path
    sa_key: Path
    sa_pub: Path
    token: str


def _write_key(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    path.chmod(0o600)


def _sign(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate | None,
    issuer_key: ec.EllipticCurvePrivateKey,
    sans: list[x509.GeneralName],
    is_ca: bool,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        # Key identifiers: Python 3.13 verifies strictly (VERIFY_X509_STRICT) and refuses a certificate without an
        # authority key identifier ("Missing Authority Key Identifier"), so 3.13 clients need them.
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    )
    if is_ca:
        builder = builder.add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False).add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _serving_cert(
    folder: Path, stem: str, ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, dns: list[str], ips: list[str]
) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    sans += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    cert = _sign(stem, key, ca, ca_key, sans, is_ca=False)
    cert_path, key_path = folder / f"{stem}.crt", folder / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(key, key_path)
    return cert_path, key_path


def create_pki(folder: Path) -> Pki:
    """Write a fresh CA, serving certificates, the service-account key pair and an admin token."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _sign("localkube-ca", ca_key, None, ca_key, [], is_ca=True)
    (folder / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    _write_key(ca_key, folder / "ca.key")
    api_cert, api_key = _serving_cert(
        folder,
        "apiserver",
        ca,
        ca_key,
        [
            "localhost",
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local",
        ],
        ["127.0.0.1", SERVICE_IP],
    )
    kubelet_cert, kubelet_key = _serving_cert(folder, "kubelet", ca, ca_key, ["localhost"], ["127.0.0.1"])
    # Service-account tokens are signed with RSA, which every client library verifies.
    sa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write_key(sa, folder / "sa.key")
    (folder / "sa.pub").write_bytes(
        sa.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return Pki(
        ca_cert=folder / "ca.crt",
        ca_key=folder / "ca.key",
        apiserver_cert=api_cert,
        apiserver_key=api_key,
        kubelet_cert=kubelet_cert,
        kubelet_key=kubelet_key,
        sa_key=folder / "sa.key",
        sa_pub=folder / "sa.pub",
        token=secrets.token_hex(24),
    )
