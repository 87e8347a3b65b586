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
import shutil
import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from a2d import __version__, timeutil
from a2d.logs import Once

from .config import Device
from .decode import to_row
from .parsers import BadMessage, parse
from .store import Store

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


@dataclass
class _Seen:
    """What a batch tells about one device: its name, when it was last heard, its health."""

    name: str | None
    at: str | None
    f_cnt: int | None
    health: dict[str, Any]


@dataclass
class _Batch:
    """Everything read since the last commit; replaced as a whole after each commit."""

    messages: list[Inbound] = field(default_factory=list)
    rows: dict[str, list[list[Any]]] = field(default_factory=lambda: defaultdict(list))
    quarantine: list[tuple[Any, ...]] = field(default_factory=list)
    received: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    quarantined: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    ignored: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    devices: dict[str, _Seen] = field(default_factory=dict)


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
        keep_unsynced: bool = False,
        max_pending: int = 5_000_000,
        min_free_bytes: int = 256 << 20,
        clock: Callable[[], str] = timeutil.utc_now,
    ) -> None:
        self.store = store
        self.devices = devices
        self.device_id = device_id
        self.max_message_bytes = max_message_bytes
        self.retention_days = retention_days or {}
        self.keep_unsynced = keep_unsynced
        self.max_pending = max_pending
        self.min_free_bytes = min_free_bytes
        self.clock = clock
        self._bad = _RateLimitedLog()
        self._once = Once(log)
        self._batch = _Batch()
        self.committed = 0  # messages committed so far, of every outcome

    @property
    def pending(self) -> int:
        return len(self._batch.messages)

    def start(self) -> None:
        """Record this agent process (pid, version, start time) for ``a2d edge status``."""
        self.store.record_agent(self.device_id, os.getpid(), __version__, self.clock())

    def register_source(self, s: SourceState) -> None:
        self.store.register_source(s.name, s.kind, s.broker, s.topic, s.qos, self.clock())

    def set_connected(self, name: str, connected: bool, error: str | None = None) -> None:
        self.store.set_connected(name, connected, error, self.clock())

    def heartbeat(self) -> None:
        self.store.heartbeat(self.clock())

    def prune(self) -> None:
        """Retention per stream, then the full-disk policy (see :meth:`Store.thin`)."""
        if self.retention_days:
            removed = self.store.prune(self.retention_days, self.clock(), self.keep_unsynced)
            if removed:
                log.info("retention removed %d old rows", removed)
        free = (
            shutil.disk_usage(Path(self.store.path).parent).free if self.store.path != ":memory:" else 1 << 62
        )
        thinned = self.store.thin(self.max_pending, free, self.min_free_bytes, self.clock())
        if thinned:
            log.warning("outbox full (%d MB free): removed the oldest unsent events %s; feedback votes are kept",
                        free >> 20, thinned)  # fmt: skip

    # -- messages ---------------------------------------------------------------------------
    def add(self, msg: Inbound) -> None:
        """Parse and decode one message now; it is committed (and acknowledged) by :meth:`flush`."""
        batch = self._batch
        batch.messages.append(msg)
        batch.received[msg.source] += 1
        try:
            if len(msg.payload) > self.max_message_bytes:
                raise BadMessage(
                    f"message of {len(msg.payload)} bytes exceeds the {self.max_message_bytes}-byte limit"
                )
            ev = parse(msg.kind, msg.topic, msg.payload)
            if ev is None:
                batch.ignored[msg.source] += 1
                return
            row = to_row(ev, self.devices)
        except BadMessage as exc:
            self._quarantine(msg, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - a parser bug must not stop ingest
            log.exception("unexpected error on %s", msg.topic[:120])
            self._quarantine(msg, f"internal error: {type(exc).__name__}: {exc}")
            return
        batch.rows[msg.source].append(row)
        if ev.dev_eui:
            seen = batch.devices.get(ev.dev_eui)
            if seen is None:
                batch.devices[ev.dev_eui] = seen = _Seen(row[5], row[7], None, {})
            seen.name, seen.at = row[5], row[7]
            if ev.kind == "up":
                seen.f_cnt = ev.f_cnt
            if ev.health:
                seen.health.update(ev.health)

    def flush(self) -> int:
        """Commit everything added since the last flush, then acknowledge it. Returns the count."""
        batch, self._batch = self._batch, _Batch()
        if not batch.messages:
            return 0
        now = self.clock()
        for rows in batch.rows.values():
            for row in rows:
                row[8] = now  # stored_at
                if row[7] is None:  # received_at, when the network server sent no time
                    row[7] = now
        for seen in batch.devices.values():
            seen.at = seen.at or now
        self._write_with_retry(batch, now)
        for msg in batch.messages:
            if msg.acker is not None and msg.qos > 0:
                msg.acker.ack(msg.mid, msg.qos, msg.conn)
        self.committed += len(batch.messages)
        return len(batch.messages)

    def _write_with_retry(self, batch: _Batch, now: str) -> None:
        """Commit the batch; on a database error keep it (unacknowledged) and retry with back-off.

        This blocks the loop on purpose: nothing can be acknowledged while the database cannot
        be written, and the broker keeps what is not acknowledged.
        """
        delay = 0.5
        while True:
            try:
                self._write(batch, now)
            except sqlite3.Error as exc:
                self._once.failed(
                    "db", "cannot write to the database (%s); retrying, nothing is acknowledged", exc
                )
                time.sleep(delay)
                delay = min(delay * 2, 30)
                continue
            self._once.recovered("db", "database writes work again")
            return

    def _write(self, batch: _Batch, now: str) -> None:
        with self.store.atomic() as db:
            new = {source: self.store.insert_events(db, rows) for source, rows in batch.rows.items()}
            self.store.insert_quarantine(db, batch.quarantine)
            for dev_eui, seen in batch.devices.items():
                self.store.saw_device(db, dev_eui, seen.name, seen.at, seen.f_cnt, seen.health)
            for name, received in batch.received.items():
                stored = new.get(name, 0)
                duplicates = len(batch.rows.get(name, ())) - stored
                self.store.count_source(
                    db, name, received, stored, duplicates, batch.quarantined[name], batch.ignored[name], now
                )

    def _quarantine(self, msg: Inbound, reason: str) -> None:
        self._bad.warn("quarantined a message on %s: %s", msg.topic[:120], reason)
        keep = msg.payload[: max(self.max_message_bytes, 65536)]
        self._batch.quarantine.append((msg.source, msg.topic, reason, len(msg.payload), keep, self.clock()))
        self._batch.quarantined[msg.source] += 1
