"""The ingest writer: the one thread that owns the SQLite write connection.

MQTT callbacks hand each message over as an :class:`Inbound`. The writer takes what is queued
(up to ``batch_max``), parses and decodes it, commits it in one transaction, and only then
acknowledges each QoS 1 message to the broker. A ``kill -9`` before the commit means the broker
still holds the messages and redelivers them; the idempotency key stores a redelivery once.
"""

from __future__ import annotations

import logging
import os
import queue
import sqlite3
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from a2d import __version__, timeutil
from a2d.logs import Once

from .config import Device
from .decode import to_row
from .parsers import BadMessage, parse
from .store import BatchCounts, Store

log = logging.getLogger(__name__)


class Acker(Protocol):
    def ack(self, mid: int, qos: int) -> Any: ...


class Inbound(NamedTuple):
    """One message as it arrived; ``acker.ack(mid, qos)`` is called after it is committed."""

    source: str
    kind: str
    topic: str
    payload: bytes
    mid: int = 0
    qos: int = 0
    acker: Acker | None = None


@dataclass
class SourceState:
    name: str
    kind: str
    broker: str
    topic: str
    qos: int


class _RateLimitedLog:
    """One log line per bad message, but at most ``per_minute`` of them; then a summary."""

    def __init__(self, per_minute: int = 20) -> None:
        self.per_minute = per_minute
        self.window = 0.0
        self.count = 0
        self.suppressed = 0

    def warn(self, msg: str, *args: object) -> None:
        now = time.monotonic()
        if now - self.window >= 60:
            if self.suppressed:
                log.warning("%d more bad messages were quarantined without a log line", self.suppressed)
            self.window, self.count, self.suppressed = now, 0, 0
        self.count += 1
        if self.count <= self.per_minute:
            log.warning(msg, *args)
        else:
            self.suppressed += 1


class Ingest:
    """Owns the writer thread. ``submit`` is safe to call from any thread (MQTT callbacks)."""

    HEARTBEAT_SECONDS = 5.0
    PRUNE_SECONDS = 3600.0

    def __init__(
        self,
        store: Store,
        devices: Mapping[str, Device],
        *,
        device_id: str = "edge",
        batch_max: int = 1000,
        max_message_bytes: int = 262144,
        retention_days: dict[str, int] | None = None,
        clock: Callable[[], str] = timeutil.utc_now,
    ) -> None:
        self.store = store
        self.devices = devices
        self.device_id = device_id
        self.batch_max = batch_max
        self.max_message_bytes = max_message_bytes
        self.retention_days = retention_days or {}
        self.clock = clock
        self._queue: queue.SimpleQueue[Inbound | Callable[[], None] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._bad = _RateLimitedLog()
        self._once = Once(log)
        self.committed = 0  # messages committed so far (stored + duplicates + quarantined + ignored)
        self._committed_cond = threading.Condition()

    # -- any thread -------------------------------------------------------------------------
    def submit(self, msg: Inbound) -> None:
        self._queue.put(msg)

    def call(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the writer thread (for other writes: source state, housekeeping)."""
        self._queue.put(fn)

    def start(self) -> None:
        self._write_agent_row()
        self._thread = threading.Thread(target=self._run, name="a2d-writer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30) -> None:
        """Commit what is queued, then end the writer thread."""
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join(timeout)
        self._thread = None

    def wait_committed(self, n: int, timeout: float) -> bool:
        """Block until ``n`` messages have been committed (tests and benchmarks)."""
        with self._committed_cond:
            return self._committed_cond.wait_for(lambda: self.committed >= n, timeout)

    # -- source state (called through ``call`` from MQTT callbacks) ----------------------------
    def register_source(self, s: SourceState) -> None:
        with self.store.atomic() as db:
            db.execute(
                "INSERT INTO sources (name, kind, broker, topic, qos, connected, changed_at)"
                " VALUES (?, ?, ?, ?, ?, 0, ?)"
                " ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, broker = excluded.broker,"
                " topic = excluded.topic, qos = excluded.qos, connected = 0, changed_at = excluded.changed_at",
                (s.name, s.kind, s.broker, s.topic, s.qos, self.clock()),
            )

    def set_connected(self, name: str, connected: bool, error: str | None = None) -> None:
        def write() -> None:
            with self.store.atomic() as db:
                db.execute(
                    "UPDATE sources SET connected = ?, changed_at = ?, last_error = COALESCE(?, last_error)"
                    " WHERE name = ?",
                    (int(connected), self.clock(), error, name),
                )

        self.call(write)

    # -- the writer thread --------------------------------------------------------------------
    def _run(self) -> None:
        next_beat = time.monotonic() + self.HEARTBEAT_SECONDS
        next_prune = time.monotonic()
        stopping = False
        while not stopping:
            timeout = max(0.0, min(next_beat, next_prune) - time.monotonic())
            try:
                first = self._queue.get(timeout=timeout)
            except queue.Empty:
                first = ...
            batch: list[Inbound] = []
            calls: list[Callable[[], None]] = []
            item: Any = first
            while True:
                if item is None:
                    stopping = True
                elif isinstance(item, Inbound):
                    batch.append(item)
                elif item is not ...:
                    calls.append(item)
                if stopping or len(batch) >= self.batch_max:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                self._commit(batch)
            for fn in calls:
                self._guarded(fn)
            now = time.monotonic()
            if now >= next_beat:
                self._guarded(self._heartbeat)
                next_beat = now + self.HEARTBEAT_SECONDS
            if now >= next_prune:
                self._guarded(self._prune)
                next_prune = now + self.PRUNE_SECONDS

    def _guarded(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception:
            log.exception("writer task %s failed", getattr(fn, "__name__", fn))

    def _commit(self, batch: list[Inbound]) -> None:
        stored_at = self.clock()
        rows: list[tuple[Any, ...]] = []
        quarantine: list[tuple[Any, ...]] = []
        per_source: dict[str, BatchCounts] = defaultdict(BatchCounts)
        received: dict[str, int] = defaultdict(int)
        ignored: dict[str, int] = defaultdict(int)
        health: dict[str, tuple[Any, ...]] = {}
        for msg in batch:
            received[msg.source] += 1
            try:
                if len(msg.payload) > self.max_message_bytes:
                    raise BadMessage(f"message of {len(msg.payload)} bytes exceeds the {self.max_message_bytes}-byte limit")
                ev = parse(msg.kind, msg.topic, msg.payload)
                if ev is None:
                    ignored[msg.source] += 1
                    continue
                row = to_row(ev, self.devices, stored_at)
            except BadMessage as exc:
                self._quarantine(msg, str(exc), stored_at, quarantine, per_source)
                continue
            except Exception as exc:  # noqa: BLE001 - a parser bug must not stop ingest
                log.exception("unexpected error on %s", msg.topic)
                self._quarantine(msg, f"internal error: {type(exc).__name__}: {exc}", stored_at, quarantine, per_source)
                continue
            rows.append((msg.source, row))
            if ev.dev_eui:
                health[ev.dev_eui] = (ev.dev_eui, row[5], row[7], ev.f_cnt if ev.kind == "up" else None, ev.health)
        self._write_with_retry(rows, quarantine, per_source, received, ignored, health, stored_at)
        for msg in batch:
            if msg.acker is not None and msg.qos > 0:
                msg.acker.ack(msg.mid, msg.qos)
        with self._committed_cond:
            self.committed += len(batch)
            self._committed_cond.notify_all()

    def _write_with_retry(self, *args: Any) -> None:
        """Commit the batch; on a database error keep it (unacknowledged) and retry with back-off."""
        delay = 0.5
        while True:
            try:
                self._write(*args)
            except sqlite3.Error as exc:
                self._once.failed("db", "cannot write to the database (%s); retrying, nothing is acknowledged", exc)
                time.sleep(delay)
                delay = min(delay * 2, 30)
                continue
            self._once.recovered("db", "database writes work again")
            return

    def _write(
        self,
        rows: list[tuple[str, tuple[Any, ...]]],
        quarantine: list[tuple[Any, ...]],
        per_source: dict[str, BatchCounts],
        received: dict[str, int],
        ignored: dict[str, int],
        health: dict[str, tuple[Any, ...]],
        stored_at: str,
    ) -> None:
        by_source: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        for source, row in rows:
            by_source[source].append(row)
        with self.store.atomic() as db:
            for source, source_rows in by_source.items():
                new = self.store.insert_events(db, source_rows)
                per_source[source].stored += new
                per_source[source].duplicates += len(source_rows) - new
            self.store.insert_quarantine(db, quarantine)
            self._update_devices(db, health.values())
            for name, n in received.items():
                c = per_source[name]
                db.execute(
                    "UPDATE sources SET received = received + ?, stored = stored + ?, duplicates = duplicates + ?,"
                    " quarantined = quarantined + ?, ignored = ignored + ?, last_message_at = ? WHERE name = ?",
                    (n, c.stored, c.duplicates, c.quarantined, ignored[name], stored_at, name),
                )

    def _quarantine(
        self, msg: Inbound, reason: str, at: str, rows: list[tuple[Any, ...]], per_source: dict[str, BatchCounts]
    ) -> None:
        self._bad.warn("quarantined a message on %s: %s", msg.topic[:120], reason)
        keep = msg.payload[: max(self.max_message_bytes, 65536)]
        rows.append((msg.source, msg.topic, reason, len(msg.payload), keep, at))
        per_source[msg.source].quarantined += 1

    @staticmethod
    def _update_devices(db: Any, items: Any) -> None:
        for dev_eui, name, seen, f_cnt, health in items:
            h = health or {}
            db.execute(
                "INSERT INTO devices (dev_eui, name, last_seen, last_f_cnt, battery, margin, external_power, joined_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dev_eui) DO UPDATE SET"
                " name = COALESCE(excluded.name, name),"
                " last_seen = MAX(COALESCE(last_seen, ''), excluded.last_seen),"
                " last_f_cnt = COALESCE(excluded.last_f_cnt, last_f_cnt),"
                " battery = COALESCE(excluded.battery, battery),"
                " margin = COALESCE(excluded.margin, margin),"
                " external_power = COALESCE(excluded.external_power, external_power),"
                " joined_at = COALESCE(excluded.joined_at, joined_at)",
                (
                    dev_eui, name, seen, f_cnt, h.get("battery_level"), h.get("margin"),
                    None if "external_power_source" not in h else int(bool(h["external_power_source"])),
                    seen if h.get("joined") else None,
                ),
            )  # fmt: skip

    def _write_agent_row(self) -> None:
        now = self.clock()
        with self.store.atomic() as db:
            db.execute(
                "INSERT INTO agent (id, device_id, pid, version, started_at, heartbeat_at) VALUES (1, ?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET device_id = excluded.device_id, pid = excluded.pid,"
                " version = excluded.version, started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at",
                (self.device_id, os.getpid(), __version__, now, now),
            )

    def _heartbeat(self) -> None:
        with self.store.atomic() as db:
            db.execute("UPDATE agent SET heartbeat_at = ? WHERE id = 1", (self.clock(),))

    def _prune(self) -> None:
        if self.retention_days:
            removed = self.store.prune(self.retention_days, self.clock())
            if removed:
                log.info("retention removed %d old rows", removed)
