"""The local API's own TLS certificate, for an agent that serves kiosks beyond loopback.

On the office network the API speaks HTTPS only. Its certificate is self-signed and made once,
the first time it is needed (``a2d edge run`` or ``a2d edge kiosk add``): an ECDSA P-256 key in
``api-key.pem`` (mode 0600) and ``api-cert.pem`` in ``device.data_dir``, naming the host name,
``<hostname>.local``, the advert's host name and the addresses the API listens on. Kiosks do not
trust it through a CA but through its pin (:func:`pin`, the SHA-256 fingerprint of the certificate,
printed by ``a2d edge kiosk add``), so it is kept as long as the files exist: a new certificate
means pairing the kiosks again (delete both files to make one).
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import ssl
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from a2d.errors import KnownError
from a2d.tlspin import fingerprint

from .kiosks import write_private

log = logging.getLogger(__name__)

CERT_FILE = "api-cert.pem"
KEY_FILE = "api-key.pem"
#: a pinned certificate is trusted for its key, not its dates; it outlives the device
VALID_DAYS = 20 * 365


class TlsError(KnownError):
    """The certificate files cannot be made or read."""


def cert_names(host: str, advert_host: str) -> tuple[list[str], list[str]]:
    """(DNS names, IP addresses) the certificate names."""
    hostname = socket.gethostname().lower()
    names = [n for n in dict.fromkeys([hostname, f"{hostname}.local", advert_host, "localhost"]) if n]
    addresses = ["127.0.0.1", "::1"]
    with contextlib.suppress(ValueError):
        if not ipaddress.ip_address(host).is_unspecified:
            addresses.append(host)
    return names, list(dict.fromkeys(addresses))


def certificate(data_dir: Path, host: str, device_id: str) -> Path:
    """The certificate of an agent with ``api.host`` and ``device.id``, made if there is none yet."""
    from .advert import instance_name

    names, addresses = cert_names(host, f"{instance_name(device_id)}.local")
    return ensure_certificate(data_dir, names, addresses)


def ensure_certificate(data_dir: Path, dns_names: Iterable[str], addresses: Iterable[str]) -> Path:
    """The certificate file in ``data_dir``, made (with its key) when there is none yet."""
    cert_path, key_path = Path(data_dir) / CERT_FILE, Path(data_dir) / KEY_FILE
    if cert_path.exists() and key_path.exists():
        return cert_path
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    names = list(dns_names)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0] if names else "a2d-edge")])
    now = datetime.now(UTC)
    san = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    try:
        Path(data_dir).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TlsError(f"cannot make {data_dir} for the local API's certificate: {exc.strerror}") from exc
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    write_private(key_path, key_pem)
    write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    log.info("made the local API's TLS certificate %s (pin %s)", cert_path, pin(cert_path))
    return cert_path


def pin(cert_path: Path) -> str:
    """The certificate's SHA-256 fingerprint as kiosks pin it (``AB:CD:…``)."""
    try:
        der = ssl.PEM_cert_to_DER_cert(cert_path.read_text(encoding="ascii"))
    except (OSError, ValueError) as exc:
        raise TlsError(f"cannot read the local API's certificate {cert_path}: {exc}") from exc
    return fingerprint(der)


def server_context(cert_path: Path) -> ssl.SSLContext:
    """A TLS server context with the certificate and its key (TLS 1.2 at least)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(cert_path, cert_path.with_name(KEY_FILE))
    except (OSError, ssl.SSLError) as exc:
        raise TlsError(
            f"cannot use the local API's certificate {cert_path}: {exc}; delete {CERT_FILE} and {KEY_FILE}"
            " to make a new one (and pair the kiosks again)"
        ) from exc
    return ctx
