"""The edge agent's SQLite store: WAL, recorded migrations, one writer, any number of readers.

Only the ingest writer thread calls the ``write_*`` methods (it owns the write connection);
the CLI and the local API read through :func:`open_reader`.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from a2d import sqlmigrations, timeutil
from a2d.errors import KnownError
from a2d.sqlmigrations import Migration

log = logging.getLogger(__name__)

MIGRATIONS: list[tuple[str, Migration]] = []


def migration(fn: Migration) -> Migration:
    """Register a schema migration; they run once each, in the order they are defined."""
    MIGRATIONS.append((fn.__name__, fn))
    return fn


def run_script(db: sqlite3.Connection, script: str) -> None:
    """Run ``;``-separated DDL inside the caller's transaction (``executescript`` would commit)."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


@migration
def m001_initial(db: sqlite3.Connection) -> None:
    run_script(
        db,
        """
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            source TEXT NOT NULL,
            kind TEXT NOT NULL,
            stream TEXT NOT NULL,
            dev_eui TEXT,
            device_name TEXT,
            application TEXT,
            received_at TEXT NOT NULL,
            stored_at TEXT NOT NULL,
            f_cnt INTEGER,
            f_port INTEGER,
            codec TEXT,
            decoded TEXT,
            decode_errors TEXT NOT NULL DEFAULT '[]',
            measurements TEXT NOT NULL DEFAULT '[]',
            raw BLOB,
            meta TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX events_received_at ON events (received_at);
        CREATE TABLE quarantine (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            topic TEXT NOT NULL,
            reason TEXT NOT NULL,
            size INTEGER NOT NULL,
            raw BLOB NOT NULL,
            received_at TEXT NOT NULL
        );
        CREATE INDEX quarantine_received_at ON quarantine (received_at);
        CREATE TABLE sources (
            name TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            broker TEXT NOT NULL,
            topic TEXT NOT NULL,
            qos INTEGER NOT NULL,
            connected INTEGER NOT NULL DEFAULT 0,
            changed_at TEXT,
            last_error TEXT,
            last_message_at TEXT,
            received INTEGER NOT NULL DEFAULT 0,
            stored INTEGER NOT NULL DEFAULT 0,
            duplicates INTEGER NOT NULL DEFAULT 0,
            quarantined INTEGER NOT NULL DEFAULT 0,
            ignored INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE devices (
            dev_eui TEXT PRIMARY KEY,
            name TEXT,
            last_seen TEXT,
            last_f_cnt INTEGER,
            battery REAL,
            margin INTEGER,
            external_power INTEGER,
            joined_at TEXT
        );
        CREATE TABLE agent (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            device_id TEXT NOT NULL,
            pid INTEGER NOT NULL,
            version TEXT NOT NULL,
            started_at TEXT NOT NULL,
            heartbeat_at TEXT NOT NULL
        );
        """,
    )


@migration
def m002_outbox(db: sqlite3.Connection) -> None:
    """Store-and-forward: a cursor per stream, and the records the server refused."""
    run_script(
        db,
        """
        CREATE INDEX events_stream_id ON events (stream, id);
        CREATE TABLE sync_streams (
            stream TEXT PRIMARY KEY,
            cursor INTEGER NOT NULL DEFAULT 0,
            sent INTEGER NOT NULL DEFAULT 0,
            last_success_at TEXT,
            last_error TEXT,
            last_error_at TEXT
        );
        CREATE TABLE sync_refused (
            event_id INTEGER PRIMARY KEY,
            stream TEXT NOT NULL,
            reason TEXT NOT NULL,
            at TEXT NOT NULL
        );
        """,
    )


@migration
def m003_bundles(db: sqlite3.Connection) -> None:
    """What the device applied of the server's signed bundles, and what it refused."""
    db.execute(
        "CREATE TABLE bundles_state (kind TEXT PRIMARY KEY, version TEXT, sha256 TEXT, applied_at TEXT,"
        " last_error TEXT, last_error_at TEXT)"
    )


@migration
def m004_thinning(db: sqlite3.Connection) -> None:
    """Count what the full-disk policy removed from each stream's outbox."""
    db.execute("ALTER TABLE sync_streams ADD COLUMN thinned INTEGER NOT NULL DEFAULT 0")


@migration
def m005_help_requests(db: sqlite3.Connection) -> None:
    """Help requests from kiosks (local API): which kiosk, topic, when; no citizen data."""
    run_script(
        db,
        """
        CREATE TABLE help_requests (
            id TEXT PRIMARY KEY,
            kiosk_id TEXT NOT NULL,
            topic TEXT NOT NULL DEFAULT '',
            at TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'closed')),
            closed_at TEXT
        );
        CREATE INDEX help_requests_state_at ON help_requests (state, at)
        """,
    )


@migration
def m006_forecasts(db: sqlite3.Connection) -> None:
    """The forecast runner's latest forecast per series: one row about the run, one per hour."""
    run_script(
        db,
        """
        CREATE TABLE forecast_runs (
            series TEXT PRIMARY KEY,
            location TEXT NOT NULL DEFAULT '',
            tz TEXT NOT NULL,
            generated_at TEXT NOT NULL,
            origin TEXT NOT NULL,
            model_version TEXT NOT NULL,
            model_type TEXT NOT NULL DEFAULT '',
            trained_at TEXT NOT NULL DEFAULT '',
            busy_threshold REAL,
            nowcast TEXT NOT NULL DEFAULT '{}',
            transparency TEXT NOT NULL DEFAULT '{}'
        );
        CREATE TABLE forecast_hours (
            series TEXT NOT NULL,
            hour INTEGER NOT NULL,
            p10 REAL NOT NULL,
            p50 REAL NOT NULL,
            p90 REAL NOT NULL,
            observed REAL,
            PRIMARY KEY (series, hour)
        )
        """,
    )


@migration
def m007_bundle_counters(db: sqlite3.Connection) -> None:
    """The counter of each kind's applied bundle: a bundle with a lower one is a replay."""
    db.execute("ALTER TABLE bundles_state ADD COLUMN counter INTEGER")


#: The full-disk policy: streams thinned first come first; feedback votes are never thinned.
THINNING_ORDER: tuple[tuple[str, str], ...] = (
    ("network", ""),
    ("health", ""),
    ("uplink", " AND measurements NOT LIKE '%\"button_press\"%'"),
)

#: retention streams that are tables of their own, not events: stream -> (table, time column)
RETAINED_TABLES: dict[str, tuple[str, str]] = {
    "quarantine": ("quarantine", "received_at"),
    "help": ("help_requests", "at"),
}

EVENT_COLUMNS = (
    "key", "source", "kind", "stream", "dev_eui", "device_name", "application", "received_at", "stored_at",
    "f_cnt", "f_port", "codec", "decoded", "decode_errors", "measurements", "raw", "meta",
)  # fmt: skip
_INSERT_EVENT = (
    "INSERT INTO events (key, source, kind, stream, dev_eui, device_name, application, received_at,"
    " stored_at, f_cnt, f_port, codec, decoded, decode_errors, measurements, raw, meta)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING"
)
_INSERT_QUARANTINE = (
    "INSERT INTO quarantine (source, topic, reason, size, raw, received_at) VALUES (?, ?, ?, ?, ?, ?)"
)


class StoreError(KnownError):
    """The database cannot be opened or migrated; the message says why."""


def _connect(path: Path | str, *, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        uri = f"file:{Path(path).resolve()}?mode=ro"
        db = sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=30)
    else:
        db = sqlite3.connect(path, check_same_thread=False, timeout=30, isolation_level=None)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA busy_timeout = 30000")
    return db


def migrate(db: sqlite3.Connection) -> list[str]:
    """Apply the migrations this database has not seen; return their names."""
    return sqlmigrations.apply(db, MIGRATIONS, "edge database")


class Store:
    """The write side of the edge database. Construct it, then hand it to the single writer thread.

    ``Store(":memory:")`` works for tests.
    """

    def __init__(self, path: Path | str, synchronous: str = "full") -> None:
        self.path = path
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = _connect(path)
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute(f"PRAGMA synchronous = {'FULL' if synchronous == 'full' else 'NORMAL'}")
            # checkpoint the WAL every 32 MiB rather than every 4 MiB: fewer fsyncs on SD cards
            self.db.execute("PRAGMA wal_autocheckpoint = 8192")
            self.db.execute("PRAGMA foreign_keys = ON")
            migrate(self.db)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the database {path}: {exc}") from None

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def atomic(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed on success, rolled back on any exception."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def insert_events(self, db: sqlite3.Connection, rows: Sequence[Sequence[Any]]) -> int:
        """Insert event rows (columns as :data:`EVENT_COLUMNS`); returns how many were new."""
        if not rows:
            return 0
        before = db.total_changes
        db.executemany(_INSERT_EVENT, rows)
        return db.total_changes - before

    def insert_quarantine(self, db: sqlite3.Connection, rows: Iterable[Sequence[Any]]) -> None:
        db.executemany(_INSERT_QUARANTINE, rows)

    def saw_device(
        self, db: sqlite3.Connection, dev_eui: str, name: str | None, at: str | None, f_cnt: int | None,
        health: dict[str, Any],
    ) -> None:  # fmt: skip
        """Record that a device was heard, and what it said about its health (battery, margin, join)."""
        external = health.get("external_power_source")
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
                dev_eui, name, at, f_cnt, health.get("battery_level"), health.get("margin"),
                None if external is None else int(bool(external)), at if health.get("joined") else None,
            ),
        )  # fmt: skip

    def count_source(
        self, db: sqlite3.Connection, name: str, received: int, stored: int, duplicates: int, quarantined: int,
        ignored: int, at: str,
    ) -> None:  # fmt: skip
        db.execute(
            "UPDATE sources SET received = received + ?, stored = stored + ?, duplicates = duplicates + ?,"
            " quarantined = quarantined + ?, ignored = ignored + ?, last_message_at = ? WHERE name = ?",
            (received, stored, duplicates, quarantined, ignored, at, name),
        )

    def register_source(self, name: str, kind: str, broker: str, topic: str, qos: int, at: str) -> None:
        with self.atomic() as db:
            db.execute(
                "INSERT INTO sources (name, kind, broker, topic, qos, connected, changed_at)"
                " VALUES (?, ?, ?, ?, ?, 0, ?)"
                " ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, broker = excluded.broker,"
                " topic = excluded.topic, qos = excluded.qos, connected = 0, changed_at = excluded.changed_at",
                (name, kind, broker, topic, qos, at),
            )

    def set_connected(self, name: str, connected: bool, error: str | None, at: str) -> None:
        with self.atomic() as db:
            db.execute(
                "UPDATE sources SET connected = ?, changed_at = ?, last_error = COALESCE(?, last_error) WHERE name = ?",
                (int(connected), at, error, name),
            )

    def record_agent(self, device_id: str, pid: int, version: str, at: str) -> None:
        with self.atomic() as db:
            db.execute(
                "INSERT INTO agent (id, device_id, pid, version, started_at, heartbeat_at) VALUES (1, ?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET device_id = excluded.device_id, pid = excluded.pid,"
                " version = excluded.version, started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at",
                (device_id, pid, version, at, at),
            )

    def heartbeat(self, at: str) -> None:
        with self.atomic() as db:
            db.execute("UPDATE agent SET heartbeat_at = ? WHERE id = 1", (at,))

    def prune(
        self, retention_days: dict[str, int], now: str | None = None, keep_unsynced: bool = False
    ) -> int:
        """Delete rows older than their stream's retention; returns the count.

        The streams are those of the events (uplink, health, network, button, feedback) and the
        tables in :data:`RETAINED_TABLES` (quarantined input, help requests). With
        ``keep_unsynced`` an event the sync server has not acknowledged yet is kept however old.
        """
        now_dt = timeutil.parse(now) if now else timeutil.parse(timeutil.utc_now())
        removed = 0
        with self.atomic() as db:
            for stream, days in retention_days.items():
                if days <= 0:
                    continue
                cutoff = timeutil.iso(now_dt - timedelta(days=days))
                if stream in RETAINED_TABLES:
                    table, column = RETAINED_TABLES[stream]
                    cur = db.execute(f"DELETE FROM {table} WHERE {column} < ?", (cutoff,))  # noqa: S608
                else:
                    cur = db.execute(
                        "DELETE FROM events WHERE received_at < ? AND stream = ?"
                        " AND (? = 0 OR id <= COALESCE((SELECT cursor FROM sync_streams s WHERE s.stream = events.stream), 0))",
                        (cutoff, stream, int(keep_unsynced)),
                    )
                removed += cur.rowcount
        return removed

    def thin(self, max_pending: int, free_bytes: int, min_free_bytes: int, at: str) -> dict[str, int]:
        """Keep the outbox within ``max_pending`` events and the disk above ``min_free_bytes``.

        Pending events (not yet acknowledged by the sync server; all events when sync is off)
        are removed oldest first: network events, then health events, then uplinks that are
        not button presses. Feedback votes (uplinks with a ``button_press`` measurement) are
        never removed. Returns how many were removed per stream.
        """
        pending = "id > COALESCE((SELECT cursor FROM sync_streams s WHERE s.stream = events.stream), 0)"
        total = self.db.execute(f"SELECT COUNT(*) FROM events WHERE {pending}").fetchone()[0]  # noqa: S608
        excess = total - max_pending
        if free_bytes < min_free_bytes:
            excess = max(excess, total // 10)  # make room: a tenth of the outbox at a time
        removed: dict[str, int] = {}
        if excess <= 0:
            return removed
        with self.atomic() as db:
            for stream, condition in THINNING_ORDER:
                if excess <= 0:
                    break
                cur = db.execute(
                    f"DELETE FROM events WHERE id IN (SELECT id FROM events WHERE stream = ? AND {pending}"  # noqa: S608
                    f"{condition} ORDER BY id LIMIT ?)",
                    (stream, excess),
                )
                if cur.rowcount:
                    removed[stream] = cur.rowcount
                    excess -= cur.rowcount
                    db.execute(
                        "INSERT INTO sync_streams (stream, thinned, last_error, last_error_at) VALUES (?, ?, ?, ?)"
                        " ON CONFLICT (stream) DO UPDATE SET thinned = thinned + excluded.thinned,"
                        " last_error = excluded.last_error, last_error_at = excluded.last_error_at",
                        (
                            stream,
                            cur.rowcount,
                            f"outbox full: removed {cur.rowcount} oldest unsent events",
                            at,
                        ),
                    )
        return removed


def open_reader(path: Path | str) -> sqlite3.Connection:
    """A read-only connection for the CLI and the local API (``StoreError`` if there is no database)."""
    if not Path(path).exists():
        raise StoreError(f"no database at {path}: has the agent run with this config yet?")
    try:
        return _connect(path, readonly=True)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open the database {path}: {exc}") from None
