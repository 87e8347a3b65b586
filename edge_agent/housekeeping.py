"""Housekeeping of the edge database: retention, the size caps, giving deleted space back.

Every ``store.check_s`` the ingest loop starts a pass and then runs it one step per turn. Each step
is one short transaction (at most :attr:`Housekeeper.STEP_ROWS` rows or
:attr:`Housekeeper.VACUUM_PAGES` pages), so between steps the writer thread goes back to the MQTT
sockets and the local API. A pass:

1. **retention**: rows older than their stream's days go, whether the sync server has them or not
   (the retention is what citizens are promised; an outbox that could not sync for longer loses
   those events, and that is logged);
2. **thinning**, only when the outbox holds more than ``store.max_pending_events`` unsent events or
   the database's content exceeds ``store.max_db_mb`` (never because of free disk space that
   something else took): the oldest events in :data:`edge_agent.store.THINNING_ORDER` (network,
   health, uplinks that are not button presses; votes and button presses never), for the size cap
   those the server already holds first, down to 90 % of the cap. One line when an episode starts,
   one with what was removed when it ends;
3. **giving space back**: ``incremental_vacuum`` returns the free pages to the file system and a
   checkpoint lets the file shrink.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta

from a2d import timeutil
from a2d.logs import Once

from .store import THINNING_ORDER, Store

log = logging.getLogger(__name__)
MB = 1 << 20


@dataclass(frozen=True)
class Limits:
    retention_days: Mapping[str, int]
    max_pending: int = 5_000_000
    max_db_bytes: int = 0  # 0: no size cap


class Housekeeper:
    """Runs passes over one :class:`Store` on its writer thread: ``start()``, then ``step()`` until ``False``."""

    STEP_ROWS = 1000
    VACUUM_PAGES = 256
    TARGET = 0.9  # thinning for the size cap stops at this share of it
    UNSENT_QUIET_S = 86400.0  # a new warning about expired unsent events after a day without any

    def __init__(
        self,
        store: Store,
        limits: Limits,
        clock: Callable[[], str] = timeutil.utc_now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.limits = limits
        self.clock = clock
        self.monotonic = monotonic
        self._pass: Iterator[None] | None = None
        self._episode: Counter[str] | None = None
        self._unsent_expired_at: float | None = None
        self._once = Once(log)

    @property
    def busy(self) -> bool:
        return self._pass is not None

    def start(self) -> None:
        """Begin a pass (unless one is running)."""
        if self._pass is None:
            self._pass = self._run()

    def step(self) -> bool:
        """Run one step of the current pass; ``True`` while more steps follow."""
        if self._pass is None:
            return False
        try:
            next(self._pass)
        except StopIteration:
            self._pass = None
            self._once.recovered("pass", "database housekeeping works again")
            return False
        except sqlite3.Error as exc:
            self._pass = None
            self._once.failed("pass", "database housekeeping failed (%s); trying again at the next pass", exc)
            return False
        return True

    def run_pass(self) -> None:
        """One whole pass at once (tests, tools)."""
        self.start()
        while self.step():
            pass

    # -- the pass --------------------------------------------------------------------------------------
    def _run(self) -> Iterator[None]:
        started = self.monotonic()
        yield from self._retention()
        yield from self._thinning()
        yield from self._give_back()
        log.debug("housekeeping pass done in %.2f s", self.monotonic() - started)

    def _retention(self) -> Iterator[None]:
        now = timeutil.parse(self.clock())
        removed: Counter[str] = Counter()
        unsent: Counter[str] = Counter()
        for stream, days in self.limits.retention_days.items():
            if days <= 0:
                continue
            cutoff = timeutil.iso(now - timedelta(days=days))
            while True:
                n, never_sent = self.store.expire(stream, cutoff, self.STEP_ROWS)
                removed[stream] += n
                unsent[stream] += never_sent
                if n:
                    yield
                if n < self.STEP_ROWS:
                    break
        if +removed:
            log.info("retention removed %s", ", ".join(f"{n} {s}" for s, n in sorted((+removed).items())))
        if +unsent:
            quiet = self._unsent_expired_at is not None and (
                self.monotonic() - self._unsent_expired_at < self.UNSENT_QUIET_S
            )
            (log.debug if quiet else log.warning)(
                "retention removed %d events that never reached the sync server (%s): the outbox could not"
                " sync for longer than their retention",
                sum(unsent.values()), ", ".join(f"{n} {s}" for s, n in sorted((+unsent).items())),
            )  # fmt: skip
            self._unsent_expired_at = self.monotonic()

    def _over(self) -> tuple[int, int, int]:
        """``(unsent over max_pending, bytes over max_db, used bytes)``."""
        used = self.store.used_bytes()
        over_bytes = used - self.limits.max_db_bytes if self.limits.max_db_bytes > 0 else 0
        return self.store.count_unsent() - self.limits.max_pending, over_bytes, used

    def _thinning(self) -> Iterator[None]:
        over_count, over_bytes, used = self._over()
        if over_count <= 0 and over_bytes <= 0:
            self._end_episode()
            return
        if self._episode is None:
            self._episode = Counter()
            log.warning(
                "the database is over its cap (%d MB used, store.max_db_mb %d; %d events unsent,"
                " store.max_pending_events %d): removing the oldest events, those the sync server holds"
                " first; network, then health events, then uplinks that are not button presses;"
                " votes and button presses are kept",
                used // MB, self.limits.max_db_bytes // MB, over_count + self.limits.max_pending,
                self.limits.max_pending,
            )  # fmt: skip
        episode = self._episode
        before = sum(episode.values())
        # the outbox over max_pending: its oldest unsent events, in the order
        left = over_count
        for stream, condition in THINNING_ORDER:
            while left > 0:
                n = self.store.thin(stream, condition, sent=False, limit=min(self.STEP_ROWS, left))
                episode[f"{stream} (unsent)"] += n
                left -= n
                if not n:
                    break
                yield
        # the database over max_db: sent events first, then unsent; down to TARGET of the cap
        if over_bytes > 0:
            target = int(self.limits.max_db_bytes * self.TARGET)
            budget = math.ceil((used - target) / max(used // max(self.store.count_events(), 1), 1))
            for sent in (True, False):
                for stream, condition in THINNING_ORDER:
                    while budget > 0 and self.store.used_bytes() > target:
                        n = self.store.thin(stream, condition, sent=sent, limit=min(self.STEP_ROWS, budget))
                        episode[f"{stream} ({'sent' if sent else 'unsent'})"] += n
                        budget -= n
                        if not n:
                            break
                        yield
        over_count, over_bytes, used = self._over()
        if over_count <= 0 and over_bytes <= 0:
            self._end_episode()
        elif sum(episode.values()) == before:
            self._once.failed(
                "stuck",
                "the database is still over its cap (%d MB used, %d events unsent) but holds nothing the"
                " thinning order may remove (votes and button presses are kept)",
                used // MB, over_count + self.limits.max_pending,
            )  # fmt: skip

    def _end_episode(self) -> None:
        self._once.recovered("stuck", "the database is within its caps again")
        if self._episode is None:
            return
        removed = ", ".join(f"{n} {what}" for what, n in sorted((+self._episode).items())) or "nothing"
        log.warning(
            "thinning done: removed the oldest %s events; the database now uses %d MB",
            removed, self.store.used_bytes() // MB,
        )  # fmt: skip
        self._episode = None

    def _give_back(self) -> Iterator[None]:
        while self.store.vacuum(self.VACUUM_PAGES):
            yield
        self.store.checkpoint()
