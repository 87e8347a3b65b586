"""Certificate pinning for the sync client: trust exactly one server certificate.

A town often runs its sync server with a self-signed certificate. With ``sync.pin_sha256`` set,
the TLS handshake succeeds only if the server's certificate has that SHA-256 fingerprint; the
check runs inside the handshake, before a single byte of data is sent (:mod:`a2d.tlspin`, which
the kiosk uses for the agent's local API too). Without a pin the usual verification against the
system store or ``sync.ca_file`` applies.
"""

from __future__ import annotations

from a2d import tlspin
from a2d.tlspin import PinError, PinnedContext, fingerprint, parse_pin

__all__ = ["PinError", "PinnedContext", "fingerprint", "parse_pin", "pinned_context"]


def pinned_context(pin: bytes) -> PinnedContext:
    """A TLS client context that accepts only the sync server's certificate with ``pin``."""
    return tlspin.pinned_context(pin, "sync.pin_sha256")
