"""The ingest writer: parse, decode and commit messages; acknowledge them only after the commit.

It is driven by one thread (the :class:`edge_agent.loop.IngestLoop`), which also owns the MQTT
sockets and therefore the SQLite write connection: ``add`` takes a message as it arrives,
``flush`` commits everything added since the last flush in one transaction and then sends the
PUBACK for each QoS 1 message. A ``kill -9`` before the commit means the broker still holds the
messages and redelivers them; the idempotency key stores a redelivery once.

While the disk is full (:mod:`edge_agent.diskfull`) nothing is written and nothing acknowledged:
the batch is held in memory, unacknowledged, and written once there is room again. The loop keeps
reading (so the MQTT keep-alive goes on); beyond ``hold_max`` held messages a QoS 1 message is left
unacknowledged with the broker, which sends it again when the source reconnects after the disk
has room, and a QoS 0 message is lost (it could not be kept safe anyway).
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

from .buttonvotes import ButtonVotes, store_rows
from .config import Device
from .decode import to_row
from .diskfull import DiskGuard, is_no_space
from .eventrow import EventRow
from .parsers import BadMessage, parse
from .statefile import StateFile
from .store import Store

log = logging.getLogger(__name__)


class Acker(Protocol):
    def ack(self, mid: int, qos: int, conn: int) -> Any: ...

    def redeliver(self) -> Any:
        """Have the broker send again the QoS 1 messages left unacknowledged (by reconnecting)."""


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
    """What ``a2d edge status`` shows of a source: its name, parser kind, where it reads, QoS."""

    name: str
    kind: str
    broker: str
    topic: str
    qos: int


class Source(Acker, Protocol):
    """A port the ingest loop reads messages from, driven on the loop's thread.

    :class:`edge_agent.mqtt.MqttSource` is the real one (a broker subscription);
    :class:`edge_agent.fakesource.FakeSource` feeds given or simulated messages without a broker.
    The app's ``cli.py`` builds them and hands them to the agent.

    The loop attaches each source to the ingest once (``attach``); then, every turn, it calls
    ``connect_if_due``, selects on ``fileno`` (and on it for writing while ``wants_write``), calls
    ``read``/``write`` when the socket is ready, ``send_acks`` after each commit and ``tick`` once
    a turn; ``close`` at the end. ``read`` hands each message to the sink as an :class:`Inbound`
    whose ``acker`` is the source: ``ack`` queues its acknowledgement once it is committed,
    ``send_acks`` sends the queue.
    """

    @property
    def state(self) -> SourceState: ...

    def attach(
        self, sink: Callable[[Inbound], None], on_state: Callable[[str, bool, str | None], None]
    ) -> None:
        """Where messages go (``sink``) and where link changes are reported (name, up, why not)."""

    def fileno(self) -> int | None: ...

    def wants_write(self) -> bool: ...

    def connect_if_due(self) -> None: ...

    def read(self, limit: int) -> int:
        """Hand at most ``limit`` waiting messages to the sink; return how many."""

    def write(self) -> None: ...

    def send_acks(self) -> None: ...

    def tick(self) -> None: ...

    def close(self) -> None: ...


class Attachable:
    """What a :class:`Source` keeps of the loop's ``attach``: the sink its messages go to, and the
    callback for its link changes. A source not attached yet refuses to hand on a message."""

    def __init__(self) -> None:
        self.sink: Callable[[Inbound], None] = self._unattached
        self.on_state: Callable[[str, bool, str | None], None] = _no_state

    @property
    def attached(self) -> bool:
        return self.sink != self._unattached

    def attach(
        self, sink: Callable[[Inbound], None], on_state: Callable[[str, bool, str | None], None]
    ) -> None:
        """Hand arriving messages to ``sink``; report the link's changes to ``on_state``."""
        self.sink = sink
        self.on_state = on_state

    def _unattached(self, msg: Inbound) -> None:
        raise RuntimeError(f"this {type(self).__name__} is not attached to an ingest loop")


def _no_state(name: str, up: bool, why: str | None) -> None:
    """Where the link changes of a source go before it is attached: nowhere."""


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
    rows: dict[str, list[EventRow]] = field(default_factory=lambda: defaultdict(list))
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
        min_free_bytes: int = 0,
        full_check_s: float = 5.0,
        hold_max: int = 1000,
        free_bytes: Callable[[], int] | None = None,
        state_file: StateFile | None = None,
        clock: Callable[[], str] = timeutil.utc_now,
        buttons: ButtonVotes | None = None,
    ) -> None:
        self.store = store
        #: mapped feedback buttons: their presses become votes in the same commit
        self.buttons = buttons
        self.devices = devices
        self.device_id = device_id
        self.max_message_bytes = max_message_bytes
        self.hold_max = hold_max
        self.clock = clock
        self.state_file = state_file
        self.guard = DiskGuard(
            min_free_bytes, free_bytes or self._free_bytes, recheck_s=full_check_s, wall_clock=clock,
            on_change=self._state_changed,
        )  # fmt: skip
        self._bad = _RateLimitedLog()
        self._once = Once(log)
        self._batch = _Batch()
        self._redeliver: set[Acker] = set()
        self._lost_qos0 = 0
        self.committed = 0  # messages committed so far, of every outcome

    @property
    def pending(self) -> int:
        return len(self._batch.messages)

    @property
    def full(self) -> bool:
        """The disk is full: messages are held, unacknowledged (see :mod:`edge_agent.diskfull`)."""
        return self.guard.full

    def _free_bytes(self) -> int:
        if self.store.path == ":memory:":
            return 1 << 62
        return shutil.disk_usage(Path(self.store.path).parent).free

    def start(self) -> None:
        """Record this agent process (pid, version, start time) for ``a2d edge status``."""
        if self.state_file is not None:
            self.state_file.open()
        now = self.clock()
        self._try(lambda: self.store.record_agent(self.device_id, os.getpid(), __version__, now))
        self._write_state()

    def register_source(self, s: SourceState) -> None:
        self._try(lambda: self.store.register_source(s.name, s.kind, s.broker, s.topic, s.qos, self.clock()))

    def set_connected(self, name: str, connected: bool, error: str | None = None) -> None:
        self._try(lambda: self.store.set_connected(name, connected, error, self.clock()))

    def heartbeat(self) -> None:
        """Every few seconds: look at the free space, note that the agent lives (database and state file)."""
        self.guard.check()
        self._try(lambda: self.store.heartbeat(self.clock()))
        self._write_state()

    def tick(self) -> None:
        """Each turn of the loop: while full with nothing held, try a write when it is time."""
        if self.guard.full and not self._batch.messages and self.guard.may_write():
            self._try(self.store.probe, probe=True)

    def refuse_if_full(self) -> None:
        """Raise :class:`~edge_agent.diskfull.DiskFullError` while full (the local API's writes)."""
        self.guard.refuse()

    def write_failed(self, exc: BaseException) -> None:
        """Another writer on this thread (sync client, local API) hit a full disk."""
        if is_no_space(exc):
            self.guard.failed(exc)

    def _try(self, write: Callable[[], object], probe: bool = False) -> bool:
        """A small status write: skipped while full (unless it is the probe), never raises."""
        if self.guard.full and not probe:
            return False
        try:
            write()
        except sqlite3.Error as exc:
            self.guard.failed(exc)
            return False
        self.guard.worked()
        return True

    def _state_changed(self) -> None:
        if not self.guard.full:
            self.store.keep_reserve()
        self._write_state()

    def _write_state(self) -> None:
        if self.state_file is not None:
            self.state_file.write(
                {"pid": os.getpid(), "heartbeat_at": self.clock(), "full": self.guard.state()}
            )

    # -- messages ---------------------------------------------------------------------------
    def add(self, msg: Inbound) -> None:
        """Parse and decode one message now; it is committed (and acknowledged) by :meth:`flush`."""
        batch = self._batch
        if self.guard.full and len(batch.messages) >= self.hold_max:
            self._leave(msg)
            return
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
                batch.devices[ev.dev_eui] = seen = _Seen(row.device_name, row.received_at, None, {})
            seen.name, seen.at = row.device_name, row.received_at
            if ev.kind == "up":
                seen.f_cnt = ev.f_cnt
            if ev.health:
                seen.health.update(ev.health)

    def flush(self) -> int:
        """Commit everything added since the last flush, then acknowledge it. Returns the count.

        While the disk is full this commits nothing and returns 0: the batch stays, unacknowledged.
        """
        batch = self._batch
        if not batch.messages or not self.guard.may_write():
            return 0
        now = self.clock()
        for rows in batch.rows.values():
            for row in rows:
                row.stored_at = now
                if row.received_at is None:  # the network server sent no time
                    row.received_at = now
        for seen in batch.devices.values():
            seen.at = seen.at or now
        try:
            self._write(batch, now)
        except sqlite3.Error as exc:  # held: the broker keeps what is not acknowledged
            self.guard.failed(exc)
            return 0
        self._batch = _Batch()
        self.guard.worked()
        for msg in batch.messages:
            if msg.acker is not None and msg.qos > 0:
                msg.acker.ack(msg.mid, msg.qos, msg.conn)
        self.committed += len(batch.messages)
        if self._redeliver or self._lost_qos0:
            self._once.recovered(
                "hold",
                "stored the held messages; the broker sends again the QoS 1 messages left with it, %d QoS 0"
                " messages were lost",
                self._lost_qos0,
            )
            for acker in self._redeliver:
                acker.redeliver()
            self._redeliver.clear()
            self._lost_qos0 = 0
        return len(batch.messages)

    def _leave(self, msg: Inbound) -> None:
        """Full, and ``hold_max`` messages held already: leave a QoS 1 message with the broker."""
        self._once.failed(
            "hold",
            "holding %d messages while the disk is full; further QoS 1 messages stay with the broker,"
            " QoS 0 messages are lost",
            len(self._batch.messages),
        )
        if msg.qos > 0 and msg.acker is not None:
            self._redeliver.add(msg.acker)
        else:
            self._lost_qos0 += 1

    def _write(self, batch: _Batch, now: str) -> None:
        with self.store.atomic() as db:
            new = {source: store_rows(db, rows, self.buttons) for source, rows in batch.rows.items()}
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
