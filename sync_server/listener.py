"""The sync server's HTTP listener: uvicorn's h11 protocol with deadlines and a cap per client.

uvicorn closes a kept-alive connection that stays idle, but it waits for a request head, and
for a body, as long as the client likes: a laptop on the town's network that opens a few
thousand connections and sends a byte now and then would hold a file descriptor and a buffer
each for ever, and one device's slow upload would hold a request slot. Here every request must
arrive within a deadline (the head within ``head_s``, the body within ``body_s`` of the head),
and each client address may hold at most ``per_client`` connections at once; the rest are closed
at once, logged once an hour per address. uvicorn's own ``limit_concurrency`` caps the total
(it answers 503 beyond it).

A device needs one or two connections (uploads and the heartbeat thread); a console page a few.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter

from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

#: seconds a refused client address stays quiet in the log after one line about it
LOG_EVERY_S = 3600.0


class Limits:
    """Deadlines and the per-client cap one server's connections share (counted on its event loop)."""

    def __init__(self, head_s: float, body_s: float, per_client: int) -> None:
        self.head_s = head_s
        self.body_s = body_s
        self.per_client = per_client
        self.open: Counter[str] = Counter()
        self._logged: dict[str, float] = {}

    def admit(self, host: str) -> bool:
        if self.per_client > 0 and self.open[host] >= self.per_client:
            now = time.monotonic()
            if now - self._logged.get(host, -LOG_EVERY_S) >= LOG_EVERY_S:
                self._logged[host] = now
                log.warning(
                    "%s holds %d connections, the most one client may; closing its new ones"
                    " (said once an hour per address)",
                    host,
                    self.per_client,
                )
            return False
        self.open[host] += 1
        return True

    def release(self, host: str) -> None:
        self.open[host] -= 1
        if self.open[host] <= 0:
            del self.open[host]


def protocol(limits: Limits) -> type[asyncio.Protocol]:
    """An h11 protocol class for ``uvicorn.Config(http=...)`` that keeps ``limits``."""

    class GuardedH11(H11Protocol):
        _host = ""
        _admitted = False
        _deadline: asyncio.TimerHandle | None = None
        _waiting_for: str | None = None  # the h11 state the running deadline is for

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._host = self.client[0] if self.client else ""
            self._admitted = limits.admit(self._host)
            if not self._admitted:
                transport.abort()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            if self._admitted:
                self._admitted = False
                limits.release(self._host)
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            self._arm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()

        def _arm(self) -> None:
            """A deadline while a request is coming in: its head, then its body; none once it is in."""
            state = self.conn.their_state.__name__  # h11's states are sentinel classes
            if self.transport.is_closing() or state not in ("IDLE", "SEND_BODY"):
                self._disarm()
                return
            if state == "IDLE" and not self.conn.trailing_data[0]:
                self._disarm()  # between requests: uvicorn's keep-alive timeout watches that
                return
            if self._deadline is not None and self._waiting_for == state:
                return
            self._disarm()
            self._waiting_for = state
            wait = limits.head_s if state == "IDLE" else limits.body_s
            self._deadline = self.loop.call_later(wait, self._late)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None
                self._waiting_for = None

        def _late(self) -> None:
            self._deadline = None
            if not self.transport.is_closing():
                log.debug("closing a connection from %s: its request did not arrive in time", self._host)
                self.transport.abort()

    return GuardedH11
