"""Five wrong claim codes lock the claim for ten minutes, and a restart does not reset that.

SPAKE2 gives an attacker one guess at the six-digit code per conversation (:mod:`.spake2`); this
file bounds the conversations: after :data:`MAX_FAILURES` wrong codes the device refuses every
claim for :data:`LOCK_S` seconds. Without it, someone on the LAN could try all million codes in a
few days; with it, five tries in ten minutes make that about 2,000 years on average.

The count lives in a small JSON file (``{"failures": n, "locked_until": epoch seconds}``) written
atomically before the wrong code is answered, so killing the responder between a guess and its
answer does not give the guess back. The lock is measured on the wall clock (a restart must not
reset it, and a monotonic clock restarts with the machine); a clock set far back cannot make the
lock last longer than :data:`LOCK_S` from now. A right code clears the count. A file that cannot be
read counts as locked rather than as no failures: losing it must not open the door.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

#: wrong codes before the claim locks
MAX_FAILURES = 5
#: how long it stays locked, in seconds
LOCK_S = 600.0


@dataclass(frozen=True)
class Verdict:
    """What :meth:`Lockout.check` says: whether a claim may be tried now, and the figures behind it."""

    allowed: bool
    tries_left: int
    locked_for_s: float


class Lockout:
    """The failure count of the claim, persisted in ``path``. ``clock`` is ``time.time`` but in tests."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._clock = clock

    def _read(self) -> tuple[int, float]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return int(data["failures"]), float(data["locked_until"])
        except FileNotFoundError:
            return 0, 0.0
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("claim lock file %s is unreadable (%s): locked for %.0f s", self.path, exc, LOCK_S)
            return MAX_FAILURES, self._clock() + LOCK_S

    def _write(self, failures: int, locked_until: float) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(
            json.dumps({"failures": failures, "locked_until": locked_until}) + "\n", encoding="utf-8"
        )
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def check(self) -> Verdict:
        """Whether a claim may be tried now."""
        failures, until = self._read()
        now = self._clock()
        until = min(until, now + LOCK_S)  # a clock set back does not stretch the lock
        if until > now:
            return Verdict(False, 0, until - now)
        if failures >= MAX_FAILURES:  # the lock ran out: five fresh tries
            failures = 0
        return Verdict(True, MAX_FAILURES - failures, 0.0)

    def failed(self) -> Verdict:
        """Count a wrong code (durably); the fifth locks the claim."""
        failures, until = self._read()
        now = self._clock()
        if until <= now and failures >= MAX_FAILURES:
            failures = 0
        failures += 1
        if failures >= MAX_FAILURES:
            until = now + LOCK_S
            log.warning("%d wrong claim codes: the claim is locked for %.0f s", failures, LOCK_S)
        self._write(failures, until)
        return self.check()

    def succeeded(self) -> None:
        """The right code: the count starts again."""
        self._write(0, 0.0)
