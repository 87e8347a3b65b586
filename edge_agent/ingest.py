"""The ingest writer: parse, decode and commit messages; acknowledge them only after the commit.

It is driven by one thread (the :class:`edge_agent.loop.IngestLoop`), which also owns the MQTT
sockets and therefore the SQLite write connection: ``add`` takes a message as it arrives,
``flush`` commits everything added since the last flush in one transaction and then sends the
PUBACK for each QoS 1 message. A ``kill -9`` before the commit means the broker still holds the
messages and redelivers them; the idempotency key stores a redelivery once.
"""

from __future__ import annotations

import logging
import os
import sqlite3
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
    def ack(self, mid: int, qos: int, conn: int) -> Any: ...


class Inbound(NamedTuple):
    """One message as it arrived; ``acker.ack(mid, qos, conn)`` is called after it is committed."""

    source: str
    kind: str
    topic: str
    payload: bytes
    mid: int = 0
    qos: int = 0
    acker: Acker | None = None
    conn: int = 0


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
    """Collects parsed rows until :meth:`flush`. Not thread-safe: one thread drives it."""

    def __init__(
        self,
        store: Store,
        devices: Mapping[str, Device],
        *,
        device_id: str = "edge",
        max_message_bytes: int = 262144,
        retention_days: dict[str, int] | None = None,
        clock: Callable[[], str] = timeutil.utc_now,
    ) -> None:
        self.store = store
        self.devices = devices
        self.device_id = device_id
        self.max_message_bytes = max_message_bytes
        self.retention_days = retention_days or {}
        self.clock = clock
        self._bad = _RateLimitedLog()
        self._once = Once(log)
        self._pending: list[Inbound] = []
        self._rows: list[tuple[str, list[Any]]] = []
        self._quarantine_rows: list[tuple[Any, ...]] = []
        self._counts: dict[str, BatchCounts] = defaultdict(BatchCounts)
        self._received: dict[str, int] = defaultdict(int)
        self._ignored: dict[str, int] = defaultdict(int)
        self._health: dict[str, tuple[Any, ...]] = {}
        self.committed = 0  # messages committed so far, of every outcome

    @property
    def pending(self) -> int:
        return len(self._pending)

    def start(self) -> None:
        """Record this agent process (pid, version, start time) for ``a2d edge status``."""
        self._write_agent_row()

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
        with self.store.atomic() as db:
            db.execute(
                "UPDATE sources SET connected = ?, changed_at = ?, last_error = COALESCE(?, last_error) WHERE name = ?",
                (int(connected), self.clock(), error, name),
            )

    # -- messages ---------------------------------------------------------------------------
    def add(self, msg: Inbound) -> None:
        """Parse and decode one message now; it is committed (and acknowledged) by :meth:`flush`."""
        self._pending.append(msg)
        self._received[msg.source] += 1
        try:
            if len(msg.payload) > self.max_message_bytes:
                raise BadMessage(
                    f"message of {len(msg.payload)} bytes exceeds the {self.max_message_bytes}-byte limit"
                )
            ev = parse(msg.kind, msg.topic, msg.payload)
            if ev is None:
                self._ignored[msg.source] += 1
                return
            row = to_row(ev, self.devices)
        except BadMessage as exc:
            self._quarantine(msg, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - a parser bug must not stop ingest
            log.exception("unexpected error on %s", msg.topic[:120])
            self._quarantine(msg, f"internal error: {type(exc).__name__}: {exc}")
            return
        self._rows.append((msg.source, row))
        if ev.dev_eui:
            health = ev.health
            earlier = self._health.get(ev.dev_eui)
            if earlier is not None and earlier[4]:  # keep what earlier events in this batch told
                health = {**earlier[4], **(health or {})}
            f_cnt = ev.f_cnt if ev.kind == "up" else (earlier[3] if earlier else None)
            self._health[ev.dev_eui] = (ev.dev_eui, row[5], row[7], f_cnt, health)

    def flush(self) -> int:
        """Commit everything added since the last flush, then acknowledge it. Returns the count."""
        batch = self._pending
        if not batch:
            return 0
        now = self.clock()
        for _, row in self._rows:
            row[8] = now
            if row[7] is None:
                row[7] = now
        for dev_eui, h in self._health.items():
            if h[2] is None:
                self._health[dev_eui] = (*h[:2], now, *h[3:])
        self._write_with_retry(
            self._rows, self._quarantine_rows, self._counts, self._received, self._ignored, self._health, now
        )
        for msg in batch:
            if msg.acker is not None and msg.qos > 0:
                msg.acker.ack(msg.mid, msg.qos, msg.conn)
        self._pending = []
        self._rows = []
        self._quarantine_rows = []
        self._counts = defaultdict(BatchCounts)
        self._received = defaultdict(int)
        self._ignored = defaultdict(int)
        self._health = {}
        self.committed += len(batch)
        return len(batch)

    def _write_with_retry(self, *args: Any) -> None:
        """Commit the batch; on a database error keep it (unacknowledged) and retry with back-off."""
        delay = 0.5
        while True:
            try:
                self._write(*args)
            except sqlite3.Error as exc:
                self._once.failed(
                    "db", "cannot write to the database (%s); retrying, nothing is acknowledged", exc
                )
                time.sleep(delay)
                delay = min(delay * 2, 30)
                continue
            self._once.recovered("db", "database writes work again")
            return

    def _write(
        self,
        rows: list[tuple[str, list[Any]]],
        quarantine: list[tuple[Any, ...]],
        per_source: dict[str, BatchCounts],
        received: dict[str, int],
        ignored: dict[str, int],
        health: dict[str, tuple[Any, ...]],
        stored_at: str,
    ) -> None:
        by_source: dict[str, list[list[Any]]] = defaultdict(list)
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

    def _quarantine(self, msg: Inbound, reason: str) -> None:
        self._bad.warn("quarantined a message on %s: %s", msg.topic[:120], reason)
        keep = msg.payload[: max(self.max_message_bytes, 65536)]
        self._quarantine_rows.append((msg.source, msg.topic, reason, len(msg.payload), keep, self.clock()))
        self._counts[msg.source].quarantined += 1

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

    def heartbeat(self) -> None:
        with self.store.atomic() as db:
            db.execute("UPDATE agent SET heartbeat_at = ? WHERE id = 1", (self.clock(),))

    def prune(self) -> None:
        if self.retention_days:
            removed = self.store.prune(self.retention_days, self.clock())
            if removed:
                log.info("retention removed %d old rows", removed)
