"""Lotsen mode: a PIN unlocks the staff view beside a kiosk, for a limited time.

The PIN is kept only as a salted scrypt hash (:func:`hash_pin`, ``a2d kiosk hash-pin``). Five
wrong tries lock the PIN pad for five minutes; an unlocked session ends by itself after thirty
minutes. Every session start and end (and every lockout) is appended to a local log as one JSON
line with the time, the event and a short reason, never anything a citizen typed or chose.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from a2d.errors import KnownError
from a2d.timeutil import utc_now

log = logging.getLogger(__name__)

SCHEME = "scrypt"
_N, _R, _P = 2**14, 8, 1  # 16 MiB of memory, about 50 ms on a Pi-class CPU
_PIN = re.compile(r"^[0-9]{4,12}$")
OUTCOMES = ("ok", "wrong", "locked")
#: Reasons the log records; anything else is logged as ``other``, so no free text reaches the log.
REASONS = ("pin", "lotse", "manual", "logout", "timeout", "idle", "wipe", "reset", "exit", "wrong-pins")


class PinError(KnownError, ValueError):
    """A PIN that cannot be used, or a pin_hash that was not made by :func:`hash_pin`."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _derive(pin: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(pin.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024, dklen=32)


def hash_pin(pin: str) -> str:
    """``scrypt$N$r$p$<salt>$<hash>`` (base64) for a PIN of 4 to 12 digits, with a fresh salt."""
    if not _PIN.match(pin):
        raise PinError("a Lotsen PIN must be 4 to 12 digits")
    salt = secrets.token_bytes(16)
    return f"{SCHEME}${_N}${_R}${_P}${_b64(salt)}${_b64(_derive(pin, salt, _N, _R, _P))}"


@dataclass(frozen=True)
class _Hash:
    n: int
    r: int
    p: int
    salt: bytes
    digest: bytes

    @classmethod
    def parse(cls, text: str) -> _Hash:
        parts = text.split("$")
        try:
            if len(parts) != 6 or parts[0] != SCHEME:
                raise ValueError
            n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
            salt, digest = (
                base64.b64decode(parts[4], validate=True),
                base64.b64decode(parts[5], validate=True),
            )
            if n < 2 or n & (n - 1) or not 1 <= r <= 64 or not 1 <= p <= 16 or len(digest) != 32 or not salt:
                raise ValueError
        except (ValueError, binascii.Error):
            raise PinError("kiosk.pin_hash is not a PIN hash made by `a2d kiosk hash-pin`") from None
        return cls(n, r, p, salt, digest)


def verify_pin(pin: str, pin_hash: str) -> bool:
    """True when ``pin`` matches ``pin_hash`` (constant-time comparison)."""
    h = _Hash.parse(pin_hash)
    if not _PIN.match(pin):
        return False
    return hmac.compare_digest(_derive(pin, h.salt, h.n, h.r, h.p), h.digest)


@dataclass(frozen=True)
class UnlockResult:
    """``outcome`` is ``ok``, ``wrong`` (``tries_left`` more) or ``locked`` (for ``locked_for_s``)."""

    outcome: str
    tries_left: int
    locked_for_s: float


class LotsenLock:
    """The PIN pad and the session state of Lotsen mode. ``clock`` is monotonic seconds."""

    def __init__(
        self,
        pin_hash: str,
        *,
        max_tries: int = 5,
        lockout_s: float = 300,
        session_s: float = 1800,
        clock: Callable[[], float] = time.monotonic,
        log_path: Path | None = None,
    ) -> None:
        self._hash = _Hash.parse(pin_hash)
        self._pin_hash = pin_hash
        self.max_tries = max_tries
        self.lockout_s = lockout_s
        self.session_s = session_s
        self._clock = clock
        self.log_path = log_path
        self._lock = threading.Lock()
        self._failures = 0
        self._locked_until: float | None = None
        self._started: float | None = None

    # --- state ---------------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        """True while a Lotsen session is unlocked (an expired one is ended first)."""
        self.check()
        return self._started is not None

    @property
    def remaining_s(self) -> float:
        """Seconds left in the current session (0 when none is active)."""
        self.check()
        started = self._started
        return 0.0 if started is None else max(0.0, started + self.session_s - self._clock())

    @property
    def locked_for_s(self) -> float:
        """Seconds until the PIN pad accepts tries again (0 when it is not locked)."""
        until = self._locked_until
        return 0.0 if until is None else max(0.0, until - self._clock())

    @property
    def tries_left(self) -> int:
        return 0 if self.locked_for_s > 0 else self.max_tries - self._failures

    # --- actions -------------------------------------------------------------------------------

    def unlock(self, pin: str) -> UnlockResult:
        """Try a PIN. While locked out no PIN is checked at all."""
        self.check()
        with self._lock:
            now = self._clock()
            if self._locked_until is not None:
                if now < self._locked_until:
                    return UnlockResult("locked", 0, self._locked_until - now)
                self._locked_until = None
                self._failures = 0
            if verify_pin(pin, self._pin_hash):
                self._failures = 0
                if self._started is None:
                    self._write("start", "pin")
                self._started = now
                return UnlockResult("ok", self.max_tries, 0.0)
            self._failures += 1
            if self._failures >= self.max_tries:
                self._failures = 0
                self._locked_until = now + self.lockout_s
                self._write("lockout", "wrong-pins")
                log.warning(
                    "Lotsen PIN pad locked for %g s after %d wrong tries", self.lockout_s, self.max_tries
                )
                return UnlockResult("locked", 0, float(self.lockout_s))
            return UnlockResult("wrong", self.max_tries - self._failures, 0.0)

    def end(self, reason: str) -> None:
        """End the session; no-op when none is active.

        ``reason`` is one of :data:`REASONS` (``lotse``: the Lotse ended it, ``idle``/``wipe``: the
        session wipe, ``exit``: the app stops); any other text is logged as ``other``.
        """
        with self._lock:
            if self._started is not None:
                self._started = None
                self._write("end", reason)

    def check(self) -> None:
        """End a session that has run for ``session_s``."""
        started = self._started
        if started is not None and self._clock() - started >= self.session_s:
            self.end("timeout")

    # --- the local log -------------------------------------------------------------------------

    def _write(self, event: str, reason: str) -> None:
        clean = reason if reason in REASONS else "other"
        log.info("Lotsen session %s (%s)", event, clean)
        if self.log_path is None:
            return
        line = json.dumps({"at": utc_now(), "event": event, "reason": clean}) + "\n"
        try:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("a", encoding="utf-8") as fh:
                fh.write(line)
        except OSError as exc:
            log.error("cannot write the Lotsen log %s: %s", self.log_path, exc.strerror)
