"""Lotsen mode: a PIN unlocks the staff view beside a kiosk, for a limited time.

The PIN has 6 to 12 digits and is kept only as a salted scrypt hash (:func:`hash_pin`,
``a2d kiosk hash-pin``). Hashes made for the old 4-digit minimum (scheme ``scrypt``) are refused at
start: nobody can tell from a hash how long its PIN is, so the new ones say so in their scheme
(``scrypt-pin6``). An unlocked session ends by itself after thirty minutes. Every session start
and end (and every lockout) is appended to a local log as one JSON line with the time, the event
and a short reason, never anything a citizen typed or chose.

Wrong PINs lock the pad, longer each time::

    5 wrong tries   -> locked  5 min      (lockout_s)
    5 more wrong    -> locked 15 min      (x 3)
    5 more wrong    -> locked 60 min      (x 4)
    5 more wrong    -> locked  4 h, then 16 h, then 24 h each time (x 4, at most 24 h)

The escalation lasts until the right PIN is entered, or a day passes without a wrong try. Why: a
kiosk stands in public and anyone may try PINs. A 6-digit PIN has a million values; with these
locks a stranger gets about 30 tries the first day and 5 a day after that, so a year of trying
finds the PIN with a chance below 0.2 %. A Lotse who mistypes five times waits five minutes, as
before. The count and the lock are kept in the kiosk's cache folder (``lotsen-lock.json``, written
atomically, times as wall-clock seconds), so switching the kiosk off and on resets nothing; a
clock that jumps cannot make a lock longer than it was.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
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

SCHEME = "scrypt-pin6"
#: the scheme of hashes made when 4 digits were enough: refused
OLD_SCHEME = "scrypt"
_N, _R, _P = 2**14, 8, 1  # 16 MiB of memory, about 50 ms on a Pi-class CPU
_PIN = re.compile(r"^[0-9]{6,12}$")
#: the longest lock (see the module docstring), and the quiet time after which the escalation ends
MAX_LOCKOUT_S = 24 * 3600.0
ESCALATION_RESET_S = 24 * 3600.0
STATE_FILE = "lotsen-lock.json"
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
    """``scrypt-pin6$N$r$p$<salt>$<hash>`` (base64) for a PIN of 6 to 12 digits, with a fresh salt."""
    if not _PIN.match(pin):
        raise PinError("a Lotsen PIN must be 6 to 12 digits")
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
        if len(parts) == 6 and parts[0] == OLD_SCHEME:
            raise PinError(
                "kiosk.pin_hash was made when a Lotsen PIN could have 4 digits; a PIN now has at least 6:"
                " make a new hash with `a2d kiosk hash-pin`"
            )
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


def check_pin_hash(pin_hash: str) -> None:
    """``PinError`` unless ``pin_hash`` is a hash :func:`hash_pin` makes (no PIN is tried)."""
    _Hash.parse(pin_hash)


def lockout_for(level: int, first_s: float) -> float:
    """How long the pad stays locked at the ``level``-th lock of an escalation (0 = the first).

    >>> [lockout_for(k, 300) / 60 for k in range(6)]
    [5.0, 15.0, 60.0, 240.0, 960.0, 1440.0]
    """
    factor = 1 if level == 0 else 3 * 4 ** (level - 1)
    return float(min(MAX_LOCKOUT_S, first_s * factor))


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
    """The PIN pad and the session state of Lotsen mode. ``clock`` is monotonic seconds;
    ``state_path`` keeps the wrong tries and the lock across restarts (``wall_clock`` seconds)."""

    def __init__(
        self,
        pin_hash: str,
        *,
        max_tries: int = 5,
        lockout_s: float = 300,
        session_s: float = 1800,
        clock: Callable[[], float] = time.monotonic,
        log_path: Path | None = None,
        state_path: Path | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._hash = _Hash.parse(pin_hash)
        self._pin_hash = pin_hash
        self.max_tries = max_tries
        self.lockout_s = lockout_s
        self.session_s = session_s
        self._clock = clock
        self._wall = wall_clock
        self.log_path = log_path
        self.state_path = state_path
        self._lock = threading.Lock()
        self._failures = 0
        self._level = 0  # locks so far in this escalation
        self._locked_until: float | None = None
        self._last_wrong: float | None = None  # the last wrong try, or the end of the lock it caused
        self._started: float | None = None
        self._state_error = False
        self._load()

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
            if self._last_wrong is not None and now - self._last_wrong >= ESCALATION_RESET_S:
                self._level, self._failures = 0, 0  # a quiet day ends the escalation
            if verify_pin(pin, self._pin_hash):
                if self._failures or self._level:
                    self._failures, self._level, self._last_wrong = 0, 0, None
                    self._save()
                if self._started is None:
                    self._write("start", "pin")
                self._started = now
                return UnlockResult("ok", self.max_tries, 0.0)
            self._failures += 1
            self._last_wrong = now
            if self._failures >= self.max_tries:
                locked_for = lockout_for(self._level, self.lockout_s)
                self._failures = 0
                self._level += 1
                self._locked_until = now + locked_for
                self._last_wrong = self._locked_until  # the quiet day is counted from the lock's end
                self._save()
                self._write("lockout", "wrong-pins")
                log.warning("Lotsen PIN pad locked for %g s after %d wrong tries", locked_for, self.max_tries)
                return UnlockResult("locked", 0, locked_for)
            self._save()
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

    # --- the lock across restarts --------------------------------------------------------------

    def _load(self) -> None:
        if self.state_path is None or not self.state_path.exists():
            return
        try:
            doc = json.loads(self.state_path.read_text(encoding="utf-8"))
            failures, level = int(doc["failures"]), int(doc["level"])
            until, wrong = (
                None if doc.get(k) is None else float(doc[k]) for k in ("locked_until", "last_wrong")
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # a damaged file must not give a stranger fresh tries: one wrong try locks the pad
            log.error(
                "the Lotsen lock state %s is unreadable (%s); one wrong PIN locks the pad",
                self.state_path,
                exc,
            )
            failures, level, until, wrong = self.max_tries - 1, 0, None, self._wall()
        now, wall = self._clock(), self._wall()
        self._failures, self._level = max(0, min(failures, self.max_tries - 1)), max(0, level)
        if wrong is not None:
            self._last_wrong = now + min(wrong - wall, MAX_LOCKOUT_S)
        if until is not None and self._level:
            # never longer than the lock itself was, whatever the clock did while the kiosk was off
            left = min(until - wall, lockout_for(self._level - 1, self.lockout_s))
            if left > 0:
                self._locked_until = now + left

    def _save(self) -> None:
        if self.state_path is None:
            return
        now, wall = self._clock(), self._wall()
        doc = {
            "failures": self._failures,
            "level": self._level,
            "locked_until": None if self._locked_until is None else wall + self._locked_until - now,
            "last_wrong": None if self._last_wrong is None else wall + self._last_wrong - now,
        }
        tmp = self.state_path.with_name(f".{self.state_path.name}.{os.getpid()}.tmp")
        try:
            self.state_path.parent.mkdir(parents=True, exist_ok=True)
            with tmp.open("w", encoding="utf-8") as fh:
                fh.write(json.dumps(doc))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.state_path)
            self._state_error = False
        except OSError as exc:
            if not self._state_error:
                log.error("cannot keep the Lotsen lock state in %s: %s", self.state_path, exc.strerror)
            self._state_error = True

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
