"""Certificate pinning: a TLS client that trusts exactly one certificate, checked in the handshake.

A town's sync server and an edge agent serving kiosks on the office network use self-signed
certificates. A client given the certificate's SHA-256 fingerprint (a *pin*) accepts the handshake
only if the peer's certificate has exactly that fingerprint; the check runs inside the handshake,
before a single byte of data (a token, a vote) is sent. Standard library only, so every app can
use it (the sync client of the edge agent, the kiosk's client of the agent's local API).
"""

from __future__ import annotations

import hashlib
import ssl


class PinError(ValueError):
    """A pin that is not a SHA-256 fingerprint."""


def parse_pin(text: str) -> bytes:
    """``"AB:CD:…"`` or ``"abcd…"`` (64 hex digits) → the 32 fingerprint bytes.

    >>> len(parse_pin("00" * 32)), parse_pin(":".join(["ab"] * 32))[:2]
    (32, b'\\xab\\xab')
    """
    hexdigits = text.replace(":", "").strip().lower()
    if len(hexdigits) != 64:
        raise PinError(f"expected 64 hex digits, got {len(hexdigits)}")
    try:
        return bytes.fromhex(hexdigits)
    except ValueError as exc:
        raise PinError("not hex") from exc


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
            setting = getattr(self.context, "setting", "the pin")
            raise ssl.SSLCertVerificationError(
                f"the server's certificate {fingerprint(der)} does not match {setting}"
            )


class PinnedContext(ssl.SSLContext):
    """A client context that accepts only the certificate with the pinned fingerprint."""

    pin: bytes
    setting: str


def pinned_context(pin: bytes, setting: str = "the pin") -> PinnedContext:
    """A TLS client context trusting only the certificate whose fingerprint is ``pin``.

    CA checks and the host name give way to the pin (it names the one certificate trusted);
    ``setting`` names the pin's setting in the error of a mismatch.
    """
    ctx = PinnedContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.pin = pin
    ctx.setting = setting
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.sslsocket_class = _PinnedSocket
    return ctx
