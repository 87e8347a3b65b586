"""Run a long-lived app until SIGTERM or Ctrl-C, the way each ``a2d <app> run`` does."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

log = logging.getLogger(__name__)


def run_until_signal(
    start: Callable[[], None], stop: Callable[[], None], alive: Callable[[], bool] = lambda: True
) -> None:
    """``start()``, wait for SIGTERM/SIGINT (or until ``alive()`` turns false), then ``stop()``.

    Must be called from the main thread (signal handlers are installed there).
    """
    done = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        done.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    start()
    try:
        while not done.wait(1.0):
            if not alive():
                break
    finally:
        stop()
