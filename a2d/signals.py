"""Run a long-lived app until SIGTERM or Ctrl-C, the way each ``a2d <app> run`` does."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

from .sdnotify import Watchdog

log = logging.getLogger(__name__)


def run_until_signal(
    start: Callable[[], None],
    stop: Callable[[], None],
    alive: Callable[[], bool] = lambda: True,
    healthy: Callable[[], bool] | None = None,
) -> None:
    """``start()``, wait for SIGTERM/SIGINT (or until ``alive()`` turns false), then ``stop()``.

    Under systemd it says ``READY=1`` once ``start()`` returned and feeds the watchdog every turn
    while ``healthy()`` (default: ``alive()``) holds, so a service whose work hangs is restarted.
    Must be called from the main thread (signal handlers are installed there).
    """
    watchdog = Watchdog()
    well = alive if healthy is None else healthy
    done = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        done.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    start()
    watchdog.ready()
    try:
        while not done.wait(1.0):
            if not alive():
                break
            if well():
                watchdog.kick()
    finally:
        watchdog.stopping()
        stop()
