"""When the agent may write: the full-disk state, owned by the ingest writer thread.

"Full" means a write failed (no space: SQLite's ``SQLITE_FULL``, ``OSError`` ``ENOSPC``; or any
other database error) or the data disk has less than ``store.min_free_mb`` free. While full the
agent takes nothing in and deletes nothing because of it::

    ok ──(free < min_free, or a write fails)──> full
    full ──(every recheck_s: free >= resume_bytes, and the next write works)──> ok

The state changes are logged once each. Nothing here touches the database: the writer asks
:meth:`DiskGuard.may_write` before it writes and reports the outcome with :meth:`failed` or
:meth:`worked`.
"""

from __future__ import annotations

import errno
import logging
import sqlite3
import time
from collections.abc import Callable

from a2d import timeutil

log = logging.getLogger(__name__)

MB = 1 << 20


class DiskFullError(sqlite3.OperationalError):
    """Raised for a write refused while the disk is full (a ``sqlite3.Error``, so callers that
    answer a database error with "try again later" do so for this too)."""


def is_no_space(exc: BaseException) -> bool:
    """Whether ``exc`` says the disk (or the database's size limit) is full."""
    if isinstance(exc, OSError):
        return exc.errno == errno.ENOSPC
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        return code == sqlite3.SQLITE_FULL or "database or disk is full" in str(exc)
    return False


class DiskGuard:
    """The full-disk state machine; ``free_bytes()`` measures the data disk (``statvfs``)."""

    def __init__(
        self,
        min_free_bytes: int,
        free_bytes: Callable[[], int],
        *,
        recheck_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], str] = timeutil.utc_now,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.min_free_bytes = min_free_bytes
        #: while full, writing resumes only with this much free, so that one batch does not flip
        #: the state back and forth
        self.resume_bytes = min_free_bytes + max(min_free_bytes // 4, MB) if min_free_bytes > 0 else 0
        self._free_bytes = free_bytes
        self.recheck_s = recheck_s
        self.clock = clock
        self.wall_clock = wall_clock
        self.on_change = on_change
        self.since: str | None = None
        self.reason = ""
        self._next_try = 0.0

    @property
    def full(self) -> bool:
        return self.since is not None

    def state(self) -> dict[str, str] | None:
        """``{"since", "reason"}`` while full, else ``None`` (for the status)."""
        return None if self.since is None else {"since": self.since, "reason": self.reason}

    def free(self) -> int:
        try:
            return self._free_bytes()
        except OSError:
            return 1 << 62  # cannot tell: let the write itself say

    def may_write(self) -> bool:
        """Before a write that takes data in: ``False`` while full, except once every ``recheck_s``
        when there is room again (the caller then tries, and reports the outcome)."""
        if self.since is None:
            if self.min_free_bytes <= 0:
                return True
            free = self.free()
            if free >= self.min_free_bytes:
                return True
            self._enter(
                f"{free // MB} MB free on the data disk, below store.min_free_mb ({self.min_free_bytes // MB})"
            )
            return False
        now = self.clock()
        if now < self._next_try:
            return False
        self._next_try = now + self.recheck_s
        return self.free() >= self.resume_bytes

    def check(self) -> None:
        """Look at the free space without writing (the heartbeat does, so a quiet agent notices too)."""
        if self.since is None:
            self.may_write()

    def failed(self, exc: BaseException) -> None:
        """A write failed: full (if not already), and the next try only after ``recheck_s``."""
        self._next_try = self.clock() + self.recheck_s
        if is_no_space(exc):
            reason = f"no space left for the database ({exc})"
        else:
            reason = f"the database cannot be written ({type(exc).__name__}: {exc})"
        if self.since is None:
            self._enter(reason)
        elif reason != self.reason:
            log.debug("still full: %s", reason)
            self.reason = reason
            self.on_change()

    def worked(self) -> None:
        """A write went through: back to normal if it was full."""
        if self.since is None:
            return
        log.info(
            "the database takes writes again (%d MB free; full since %s): taking data in again",
            self.free() // MB, self.since,
        )  # fmt: skip
        self.since, self.reason = None, ""
        self.on_change()

    def refuse(self) -> None:
        """Raise :class:`DiskFullError` while full (for writes that are refused rather than held)."""
        self.check()
        if self.since is not None:
            raise DiskFullError(f"the disk is full since {self.since} ({self.reason}); try again later")

    def _enter(self, reason: str) -> None:
        self.since, self.reason = self.wall_clock(), reason
        self._next_try = self.clock() + self.recheck_s
        log.warning(
            "disk full: %s. Taking nothing in and acknowledging nothing until there is room again "
            "(checked every %g s); nothing stored is deleted because of it",
            reason, self.recheck_s,
        )  # fmt: skip
        self.on_change()
