"""Tell systemd how a service is doing: ``READY=1`` once it serves, ``WATCHDOG=1`` while it is well.

systemd passes a unit with ``Type=notify`` the address of a datagram socket in ``NOTIFY_SOCKET``
(a path, or ``@name`` for the abstract namespace) and, with ``WatchdogSec=``, the interval in
``WATCHDOG_USEC`` (and the process meant in ``WATCHDOG_PID``). The protocol is one datagram of
``KEY=value`` lines (sd_notify(3)). Outside systemd the variable is unset and every call here does
nothing, so the apps call it unconditionally.

:class:`Watchdog` is what a main loop holds: ``ready()`` once, ``kick()`` every turn; it sends
``WATCHDOG=1`` at most every half interval, so a loop turning many times a second costs nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)


def _address(environ: Mapping[str, str]) -> str | None:
    path = environ.get("NOTIFY_SOCKET", "")
    if not path or not (path.startswith("/") or path.startswith("@")):
        return None
    return "\0" + path[1:] if path.startswith("@") else path


def notify(state: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send ``state`` (e.g. ``"READY=1"``) to systemd; ``False`` when there is no one to tell.

    A socket that cannot be reached is logged at debug level only: the service goes on, and
    systemd, if it waits for us, notices by itself.
    """
    address = _address(os.environ if environ is None else environ)
    if address is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError as exc:
        log.debug("cannot notify systemd at %s: %s", address.lstrip("\0"), exc)
        return False
    return True


def watchdog_interval(environ: Mapping[str, str] | None = None) -> float | None:
    """Seconds between the pings systemd expects (``WATCHDOG_USEC``), ``None`` when none are.

    ``WATCHDOG_PID`` naming another process (a child that inherited the environment) means none.
    """
    env = os.environ if environ is None else environ
    pid = env.get("WATCHDOG_PID", "")
    if pid and pid != str(os.getpid()):
        return None
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec / 1e6 if usec > 0 else None


class Watchdog:
    """``ready()`` once the service serves; ``kick()`` from its main loop, as often as it likes."""

    def __init__(
        self, environ: Mapping[str, str] | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._environ = dict(os.environ if environ is None else environ)
        interval = watchdog_interval(self._environ)
        #: seconds between two WATCHDOG=1; None when systemd asked for none
        self.every = None if interval is None else interval / 2
        self._clock = clock
        self._next = 0.0

    def ready(self, status: str = "") -> None:
        notify("READY=1" + (f"\nSTATUS={status}" if status else ""), self._environ)
        self.kick()

    def kick(self) -> None:
        if self.every is None:
            return
        now = self._clock()
        if now >= self._next:
            notify("WATCHDOG=1", self._environ)
            self._next = now + self.every

    def stopping(self) -> None:
        notify("STOPPING=1", self._environ)
