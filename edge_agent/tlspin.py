"""Certificate pinning for the sync client: trust exactly one server certificate.

A town often runs its sync server with a self-signed certificate. With ``sync.pin_sha256`` set,
the TLS handshake succeeds only if the server's certificate has that SHA-256 fingerprint; the
check runs inside the handshake, before a single byte of data is sent. Without a pin the usual
verification against the system store or ``sync.ca_file`` applies.
"""

from __future__ import annotations

import hashlib
import ssl


class PinError(ValueError):
    """``sync.pin_sha256`` is not a SHA-256 fingerprint."""


def parse_pin(text: str) -> bytes:
    """``"AB:CD:…"`` or ``"abcd…"`` (64 hex digits) → the 32 fingerprint bytes."""
    hexdigits = text.replace(":", "").strip().lower()
    if len(hexdigits) != 64:
        raise PinError(f"expected 64 hex digits, got {len(hexdigits)}")
    try:
        return bytes.fromhex(hexdigits)
    except ValueError:
        raise PinError("not hex") from None


def fingerprint(der: bytes) -> str:
    """The SHA-256 fingerprint of a DER certificate as colon-separated hex, as openssl prints it."""
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


class _PinnedSocket(ssl.SSLSocket):
    def do_handshake(self, block: bool = False) -> None:
        super().do_handshake(block)
        der = self.getpeercert(binary_form=True) or b""
        want = getattr(self.context, "pin", b"")
        if hashlib.sha256(der).digest() != want:
            self.close()
            raise ssl.SSLCertVerificationError(
                f"the server's certificate {fingerprint(der)} does not match sync.pin_sha256"
            )


class PinnedContext(ssl.SSLContext):
    """A client context that accepts only the certificate with the pinned fingerprint."""

    pin: bytes


def pinned_context(pin: bytes) -> PinnedContext:
    """A TLS client context for :class:`PinnedContext` with ``pin`` (CA checks give way to the pin)."""
    ctx = PinnedContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.pin = pin
    ctx.check_hostname = False  # the pin names the one certificate we trust
    ctx.verify_mode = ssl.CERT_NONE
    ctx.sslsocket_class = _PinnedSocket
    return ctx
