"""Whether a host stays on this machine: the one place where plain HTTP is allowed (the sync client,
the kiosk's client of its agent, the agent's local API, the admin's provisioning commands)."""

from __future__ import annotations

import ipaddress


def is_loopback(host: str | None) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ::1); a name that might resolve elsewhere
    is not.

    >>> is_loopback("127.0.0.2"), is_loopback("::1"), is_loopback("localhost"), is_loopback("a2d.local")
    (True, True, True, False)
    """
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
