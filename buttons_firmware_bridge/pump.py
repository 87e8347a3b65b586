"""Move spooled events to the broker in spool order; delete each only after its PUBACK.

One thread reads the spool (its own connection), hands events to the MQTT link while fewer than
``inflight`` are unacknowledged, and turns PUBACKs into deletes on the writer thread. An event the
broker could not deliver (no subscriber) rewinds the pump: once everything in flight is
answered it waits a little and publishes again from the oldest event still spooled, so order is
kept. A redelivered event carries the same id and is stored once by the edge agent.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from . import spool as spool_db
from .spool import Spool

log = logging.getLogger(__name__)


class Link(Protocol):
    connected: bool

    def publish(self, topic: str, payload: bytes) -> int | None: ...


class Pump:
    RETRY_MIN_S = 0.5
    RETRY_MAX_S = 5.0
    STALL_S = 30.0  # connected, yet no PUBACK for this long: publish again

    def __init__(
        self,
        db_path: Path | str,
        submit: Callable[[Callable[[Spool], Any]], Future[Any]],
        inflight: int = 100,
    ) -> None:
        self.db_path = db_path
        self.submit = submit
        self.inflight_max = inflight
        self.link: Link | None = None
        self.published = 0  # PUBACKs with delivery, since start
        self._acks: queue.SimpleQueue[tuple[int, bool]] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._inflight: dict[int, int] = {}
        self._handed = 0
        self._deleting: set[int] = set()
        self._deletes: list[tuple[Future[Any], list[int]]] = []
        self._rewind = False
        self._retry_at = 0.0
        self._retry_s = self.RETRY_MIN_S
        self._progress_at = 0.0

    # any thread ----------------------------------------------------------------------------------
    def wake(self) -> None:
        self._wake.set()

    def on_ack(self, mid: int, delivered: bool) -> None:
        """The broker answered message ``mid`` (called on paho's thread: only queue it)."""
        self._acks.put((mid, delivered))
        self._wake.set()

    def on_state(self, up: bool) -> None:
        self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="a2d-bridge-pump", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None

    # the pump's thread ---------------------------------------------------------------------------
    def _run(self) -> None:
        db = spool_db.connect(self.db_path)
        try:
            while not self._stopping.is_set():
                self._wake.wait(1.0)
                self._wake.clear()
                self._settle()
                try:
                    self._hand_out(db)
                except sqlite3.Error as exc:
                    log.warning("cannot read the spool: %s", exc)
                    self._stopping.wait(1.0)
        finally:
            db.close()

    def _settle(self) -> None:
        """Turn queued PUBACKs into deletes; forget deletes that are committed."""
        done: list[int] = []
        while True:
            try:
                mid, delivered = self._acks.get_nowait()
            except queue.Empty:
                break
            self._progress_at = time.monotonic()
            row = self._inflight.pop(mid, None)
            if row is None:
                continue
            if delivered:
                done.append(row)
            elif not self._rewind:
                self._rewind = True
                self._retry_at = time.monotonic() + self._retry_s
                self._retry_s = min(self._retry_s * 2, self.RETRY_MAX_S)
        if done:
            self.published += len(done)
            self._retry_s = self.RETRY_MIN_S
            self._deleting.update(done)
            self._deletes.append((self.submit(partial(Spool.delete, ids=done)), done))
        kept = []
        for fut, ids in self._deletes:
            if fut.done():
                self._deleting.difference_update(ids)
                if fut.cancelled() or fut.exception() is not None:
                    self._rewind = True  # not deleted: it will be sent again, the edge stores it once
            else:
                kept.append((fut, ids))
        self._deletes = kept

    def _hand_out(self, db: sqlite3.Connection) -> None:
        link = self.link
        if link is None or not link.connected:
            return
        if self._inflight and time.monotonic() - self._progress_at > self.STALL_S:
            log.warning(
                "no PUBACK for %d event(s) in %.0f s; sending them again", len(self._inflight), self.STALL_S
            )
            self._inflight.clear()
            self._rewind = True
        if self._rewind:
            if self._inflight:
                return
            wait = self._retry_at - time.monotonic()
            if wait > 0:
                self._stopping.wait(min(wait, 1.0))
                self._wake.set()
                return
            self._rewind = False
            self._handed = 0
        room = self.inflight_max - len(self._inflight)
        while room > 0:
            batch = spool_db.read_pending(db, self._handed, room)
            if not batch:
                return
            for r in batch:
                if r.id not in self._deleting:
                    mid = link.publish(r.topic, r.payload)
                    if mid is None:
                        self._wake.set()
                        return
                    if not self._inflight:
                        self._progress_at = time.monotonic()
                    self._inflight[mid] = r.id
                self._handed = r.id
            room = self.inflight_max - len(self._inflight)
