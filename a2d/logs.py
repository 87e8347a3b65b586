"""Logging set-up for the `a2d` command and a helper that logs a repeated failure only once."""

from __future__ import annotations

import logging
import os
import sys


def setup(level: str = "info") -> None:
    """Log to stderr with UTC-free, grep-friendly lines. ``A2D_LOG_LEVEL`` overrides ``level``."""
    level = os.environ.get("A2D_LOG_LEVEL", level).upper()
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )


class Once:
    """Remember which failures were already reported so each is logged once until it recovers.

    >>> once = Once(logging.getLogger("x"))
    >>> once.failed("broker", "connection refused")   # logged at WARNING
    >>> once.failed("broker", "connection refused")   # logged at DEBUG only
    >>> once.recovered("broker", "connected again")   # logged at INFO
    """

    def __init__(self, log: logging.Logger) -> None:
        self._log = log
        self._down: set[str] = set()

    def failed(self, what: str, message: str, *args: object) -> None:
        if what in self._down:
            self._log.debug(message, *args)
        else:
            self._down.add(what)
            self._log.warning(message, *args)

    def recovered(self, what: str, message: str, *args: object) -> None:
        if what in self._down:
            self._down.discard(what)
            self._log.info(message, *args)

    def is_down(self, what: str) -> bool:
        return what in self._down
