"""Who may ask the local API what: the Host check, the kiosk token, the rate limit, JSON only.

Someone on the office LAN with a laptop, or a web page a Lotse opens in a browser on the office
network, must get nothing out of the API and put nothing in:

- **Host.** A browser sends the name it resolved in ``Host``; a page that rebinds its own DNS
  name to the agent's address (DNS rebinding) therefore arrives with a foreign name and is
  answered 421. Allowed: loopback names and addresses, the machine's host name (also with
  ``.local``), the zeroconf advert's host name, the address the connection came in on, and
  ``api.allowed_hosts``.
- **Token.** Every route but ``GET /v1/healthz`` needs ``Authorization: Bearer <token>`` of a
  paired kiosk (:mod:`.kiosks`); 401 with ``WWW-Authenticate: Bearer`` otherwise. A browser never
  adds that header to a cross-site request on its own.
- **Rate.** Each kiosk may make :data:`BURST` requests at once and :data:`RATE_PER_S` a second
  after that (a token bucket), far more than a kiosk needs (a citizen taps a vote every few
  seconds at most, and the kiosk's background reads come every 30 s), but a stolen token cannot
  keep the agent's one writer busy: the surplus gets 429 with ``Retry-After``.
- **JSON.** A POST must say ``Content-Type: application/json`` (415 otherwise): an HTML form
  cannot send that across sites.
"""

from __future__ import annotations

import ipaddress
import math
import socket
import threading
import time
from collections.abc import Callable, Iterable
from email.message import Message

from .http import HttpError
from .kiosks import Registry

#: requests a kiosk may make at once, and per second after that
BURST = 30
RATE_PER_S = 5.0
_BEARER = {"WWW-Authenticate": 'Bearer realm="a2d-edge"'}
_INVALID = {"WWW-Authenticate": 'Bearer realm="a2d-edge", error="invalid_token"'}


def host_name(header: str) -> str:
    """The name or address of a ``Host`` header, without port, brackets, case and final dot.

    >>> host_name("[::1]:8780"), host_name("Edge-1.local.:443"), host_name("192.168.1.20")
    ('::1', 'edge-1.local', '192.168.1.20')
    """
    h = header.strip().lower()
    if h.startswith("["):
        return h[1 : h.find("]")] if "]" in h else h
    name, _, port = h.rpartition(":")
    if name and port.isdigit():
        h = name
    return h.rstrip(".")


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        a = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(a, ipaddress.IPv6Address) and a.ipv4_mapped is not None:
        return a.ipv4_mapped
    return a


class HostCheck:
    """``allows(host_header, local_address)``: the DNS-rebinding defence described above."""

    def __init__(self, names: Iterable[str]) -> None:
        hostname = socket.gethostname().lower()
        own = ["localhost", hostname, f"{hostname}.local", *names]
        self.names = {host_name(n) for n in own if n.strip()}

    def allows(self, header: str | None, local: str) -> bool:
        if not header:
            return False
        host = host_name(header)
        if host in self.names:
            return True
        address = _address(host)
        if address is None:
            return False
        return address.is_loopback or address == _address(local)


class RateLimit:
    """A token bucket per key: ``wait(key)`` is 0 when the request may go, else seconds to wait."""

    def __init__(
        self, burst: int | None = None, rate_per_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        self.burst = BURST if burst is None else burst
        self.rate = RATE_PER_S if rate_per_s is None else rate_per_s
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def wait(self, key: str) -> float:
        now = self.clock()
        with self._lock:
            tokens, then = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - then) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate


class Guard:
    """The checks of the module docstring, in the order the server applies them."""

    def __init__(self, hosts: HostCheck, kiosks: Registry, rate: RateLimit | None = None) -> None:
        self.hosts = hosts
        self.kiosks = kiosks
        self.rate = rate or RateLimit()

    def check_host(self, headers: Message, local: str) -> None:
        host = headers.get("Host")
        if not host:
            raise HttpError(400, "a Host header is required")
        if not self.hosts.allows(host, local):
            raise HttpError(421, f"this edge agent does not answer for the host {host_name(host)[:100]!r}")

    def kiosk(self, headers: Message) -> str:
        """The kiosk id of the request's token (``HttpError`` 401 or 429)."""
        scheme, _, token = (headers.get("Authorization") or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HttpError(401, "pair this kiosk with the agent (a2d edge kiosk add) and send its token",
                            _BEARER)  # fmt: skip
        kiosk_id = self.kiosks.kiosk_id(token.strip())
        if kiosk_id is None:
            raise HttpError(401, "this token is not (or no longer) paired with this agent", _INVALID)
        wait = self.rate.wait(kiosk_id)
        if wait > 0:
            raise HttpError(429, "too many requests from this kiosk; try again later",
                            {"Retry-After": str(max(1, math.ceil(wait)))})  # fmt: skip
        return kiosk_id

    @staticmethod
    def check_json(method: str, headers: Message) -> None:
        if method != "POST":
            return
        kind = (headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        if kind != "application/json":
            raise HttpError(415, "send the body as application/json")
