"""The edge agent's SQLite store: WAL, recorded migrations, one writer, any number of readers.

Only the thread that owns the write connection, the ingest loop (:mod:`edge_agent.loop`), calls
:class:`Store`'s methods; other threads hand it their writes as jobs (:meth:`~edge_agent.loop.IngestLoop.call`).
The CLI and the local API read through :func:`open_reader`.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from a2d import sqlmigrations, timeutil
from a2d.errors import KnownError
from a2d.sqlmigrations import Migration

from . import eventrow, livestore
from .eventrow import EventRow

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


@migration
def m008_housekeeping_indexes(db: sqlite3.Connection) -> None:
    """Each stream's events by time, so that retention finds what expired without reading the rest;
    each kiosk's votes in order, for the per-kiosk cap on unsent votes (``store.max_feedback_per_kiosk``)."""
    db.execute("CREATE INDEX events_stream_received ON events (stream, received_at)")
    db.execute(
        "CREATE INDEX events_kiosk_votes ON events (device_name, id) WHERE source = 'kiosk' AND stream = 'feedback'"
    )


@migration
def m009_write_probe(db: sqlite3.Connection) -> None:
    """A scratch table: while the disk is full, the agent tries a write here to learn if it can write again."""
    db.execute("CREATE TABLE write_probe (id INTEGER PRIMARY KEY, filler BLOB)")


@migration
def m010_counted(db: sqlite3.Connection) -> None:
    """Whether an event's button presses count (``counted``, 1 for every event so far): a feedback
    button's press inside its cooldown makes a vote that is kept but not counted (see
    :mod:`edge_agent.buttonvotes`); and each button's votes by time, for that cooldown."""
    db.execute("ALTER TABLE events ADD COLUMN counted INTEGER NOT NULL DEFAULT 1")
    db.execute(
        "CREATE INDEX events_button_votes ON events (device_name, received_at)"
        " WHERE source = 'button' AND stream = 'feedback'"
    )


@migration
def m011_live_questions(db: sqlite3.Connection) -> None:
    """Live questions and town-wide totals from the server's live stream (:mod:`edge_agent.livestore`)."""
    livestore.create(db)


@migration
def m012_kiosk_displays(db: sqlite3.Connection) -> None:
    """What each kiosk's screen showed last (``POST /v1/display``): one row per kiosk, replaced by
    its next report; forwarded with the heartbeat. A hash of the picture, never the picture."""
    db.execute(
        "CREATE TABLE kiosk_displays (kiosk_id TEXT PRIMARY KEY, page TEXT NOT NULL, frames INTEGER NOT NULL,"
        " hash TEXT NOT NULL, changed_at TEXT NOT NULL, mode TEXT NOT NULL, wall INTEGER NOT NULL,"
        " at TEXT NOT NULL, reported_at TEXT NOT NULL)"
    )


#: The size caps' thinning order: streams thinned first come first. Feedback votes (the
#: ``feedback`` stream, and uplinks with a ``button_press`` measurement) and the buttons bridge's
#: ``button`` stream are never thinned.
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

#: retained tables whose stream also has events in the outbox (help requests' open and close
#: records): those go by the same days, in the same step
EVENT_STREAMS_TOO = frozenset({"help"})

_INSERT_QUARANTINE = (
    "INSERT INTO quarantine (source, topic, reason, size, raw, received_at) VALUES (?, ?, ?, ?, ?, ?)"
)
#: an event the sync server has not acknowledged (every event while sync is off)
_UNSENT = "id > COALESCE((SELECT cursor FROM sync_streams s WHERE s.stream = events.stream), 0)"
_SENT = "id <= COALESCE((SELECT cursor FROM sync_streams s WHERE s.stream = events.stream), 0)"
#: A kiosk may hold at most ``{cap}`` unsent votes here; beyond, its new votes are refused (the local
#: API answers 503 and the kiosk keeps the vote in its own outbox and sends it again). A vote that is
#: stored already is let through, so a resend still gets its normal answer. A TEMP trigger: it
#: belongs to the writer connection and carries the configured cap.
_FEEDBACK_CAP = """
CREATE TEMP TRIGGER feedback_cap BEFORE INSERT ON main.events
WHEN NEW.source = 'kiosk' AND NEW.stream = 'feedback'
 AND NOT EXISTS (SELECT 1 FROM main.events WHERE key = NEW.key)
 AND (SELECT COUNT(*) FROM (SELECT 1 FROM main.events WHERE source = 'kiosk' AND stream = 'feedback'
      AND device_name IS NEW.device_name
      AND id > COALESCE((SELECT cursor FROM main.sync_streams WHERE stream = 'feedback'), 0) LIMIT {cap})) >= {cap}
BEGIN
 SELECT RAISE(ABORT, 'store.max_feedback_per_kiosk: this kiosk has {cap} unsent votes here; try again later');
END
"""
#: SQLite's pragma value for incremental auto-vacuum
_INCREMENTAL = 2


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

    ``Store(":memory:")`` works for tests. ``max_feedback_per_kiosk`` caps each kiosk's unsent
    votes (0: no cap).
    """

    #: the write-ahead log is cut back to this size after a checkpoint (it can grow far beyond
    #: its checkpoint size during one large delete, and would otherwise keep that size)
    WAL_LIMIT_BYTES = 64 << 20
    RESERVE_BYTES = 1 << 20
    db: sqlite3.Connection

    def __init__(
        self, path: Path | str, synchronous: str = "full", *, max_feedback_per_kiosk: int = 10_000
    ) -> None:
        self.path = path
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._open(synchronous, max_feedback_per_kiosk)
        except sqlite3.Error as exc:
            if not self._use_reserve():
                raise StoreError(f"cannot open the database {path}: {exc}") from exc
            log.warning("cannot open the database (%s): the disk is full; freed its reserve to open it", exc)
            try:
                self._open(synchronous, max_feedback_per_kiosk)
            except sqlite3.Error as again:
                raise StoreError(f"cannot open the database {path}: {again}") from again
        self.keep_reserve()

    def _open(self, synchronous: str, max_feedback_per_kiosk: int) -> None:
        if hasattr(self, "db"):  # a first try that failed
            self.db.close()
        self.db = _connect(self.path)
        fresh = self._pages() == 0
        if fresh:  # before the first table: a new database needs no VACUUM to switch
            self.db.execute("PRAGMA auto_vacuum = INCREMENTAL")
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute(f"PRAGMA synchronous = {'FULL' if synchronous == 'full' else 'NORMAL'}")
        # checkpoint the WAL every 32 MiB rather than every 4 MiB: fewer fsyncs on SD cards
        self.db.execute("PRAGMA wal_autocheckpoint = 8192")
        self.db.execute(f"PRAGMA journal_size_limit = {self.WAL_LIMIT_BYTES}")
        self.db.execute("PRAGMA foreign_keys = ON")
        migrate(self.db)
        if not fresh:
            self._switch_to_incremental_vacuum()
        # the TEMP trigger below (and any temp table) in memory, not in a file on a full disk
        self.db.execute("PRAGMA temp_store = MEMORY")
        if max_feedback_per_kiosk > 0:
            self.db.execute(_FEEDBACK_CAP.format(cap=int(max_feedback_per_kiosk)))

    @property
    def reserve_path(self) -> Path | None:
        """A file of :attr:`RESERVE_BYTES` next to the database: freed when the database cannot be
        opened on a full disk (opening needs room for its ``-shm`` and ``-wal`` files)."""
        return None if self.path == ":memory:" else Path(f"{self.path}.reserve")

    def keep_reserve(self) -> None:
        """Make the reserve file if it is missing (at start, and when the disk has room again)."""
        reserve = self.reserve_path
        if reserve is None or (reserve.exists() and reserve.stat().st_size >= self.RESERVE_BYTES):
            return
        try:
            with reserve.open("wb") as f:
                f.write(bytes(self.RESERVE_BYTES))
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:
            log.debug("cannot make the reserve file %s: %s", reserve, exc)
            reserve.unlink(missing_ok=True)

    def _use_reserve(self) -> bool:
        reserve = self.reserve_path
        if reserve is None or not reserve.exists():
            return False
        reserve.unlink()
        return True

    def _pages(self) -> int:
        return int(self.db.execute("PRAGMA page_count").fetchone()[0])

    def _switch_to_incremental_vacuum(self) -> None:
        """A database made before incremental auto-vacuum needs one ``VACUUM`` to switch.

        VACUUM rewrites the whole file: it needs about twice the database's size free (a copy,
        then the copy again through the write-ahead log) and takes about 10 s per GB on an SSD,
        minutes per GB on an SD card. Without that much room it is left for a later start.
        """
        if self.db.execute("PRAGMA auto_vacuum").fetchone()[0] == _INCREMENTAL or self.path == ":memory:":
            return
        size = self._pages() * int(self.db.execute("PRAGMA page_size").fetchone()[0])
        free = shutil.disk_usage(Path(self.path).parent).free
        if free < 2 * size + (64 << 20):
            log.warning(
                "the database %s (%d MB) cannot give deleted space back to the disk yet: switching it to"
                " incremental auto-vacuum needs one VACUUM with about %d MB free, and there are %d MB;"
                " trying again at the next start",
                self.path, size >> 20, (2 * size >> 20) + 64, free >> 20,
            )  # fmt: skip
            return
        log.info("switching the database %s (%d MB) to incremental auto-vacuum: one VACUUM, please wait",
                 self.path, size >> 20)  # fmt: skip
        started = time.monotonic()
        self.db.execute("PRAGMA auto_vacuum = INCREMENTAL")
        self.db.execute("VACUUM")
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        log.info("the database now gives deleted space back (VACUUM took %.1f s)", time.monotonic() - started)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def atomic(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed on success, rolled back on any exception."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            if self.db.in_transaction:  # SQLite may have rolled back already (a full disk does)
                self.db.execute("ROLLBACK")
            raise
        try:
            self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise

    def insert_events(self, db: sqlite3.Connection, rows: Sequence[EventRow]) -> int:
        """Insert event rows; returns how many were new (a key stored already is not stored again)."""
        return eventrow.insert(db, rows)

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

    def probe(self) -> None:
        """A write that needs new pages (and leaves nothing behind): raises while the disk is full."""
        with self.atomic() as db:
            db.execute("INSERT INTO write_probe (filler) VALUES (zeroblob(16384))")
            db.execute("DELETE FROM write_probe")

    # -- housekeeping: bounded steps for edge_agent.housekeeping ---------------------------------------
    def used_bytes(self) -> int:
        """What the database's content takes (its pages less the free ones)."""
        pages, free, size = (
            self.db.execute(f"PRAGMA {p}").fetchone()[0]
            for p in ("page_count", "freelist_count", "page_size")
        )
        return int((pages - free) * size)

    def count_events(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    def count_unsent(self) -> int:
        """Events the sync server has not acknowledged (each stream's count above its cursor, read
        from the ``(stream, id)`` index alone)."""
        cursors = dict(self.db.execute("SELECT stream, cursor FROM sync_streams").fetchall())
        return sum(
            int(self.db.execute(
                "SELECT COUNT(*) FROM events WHERE stream = ? AND id > ?", (stream, cursors.get(stream, 0))
            ).fetchone()[0])
            for stream in self.streams()
        )  # fmt: skip

    def streams(self) -> list[str]:
        """The streams that have events: one index seek each (``SELECT DISTINCT`` would read the index)."""
        found: list[str] = []
        while True:
            row = self.db.execute(
                "SELECT MIN(stream) FROM events WHERE stream > ?", (found[-1] if found else "",)
            )
            stream = row.fetchone()[0]
            if stream is None:
                return found
            found.append(stream)

    def expire(self, stream: str, cutoff: str, limit: int) -> tuple[int, int]:
        """Delete up to ``limit`` rows of ``stream`` received before ``cutoff``, sent or not.

        Returns ``(removed, of them never sent)``.
        """
        with self.atomic() as db:
            if stream in RETAINED_TABLES:
                table, column = RETAINED_TABLES[stream]
                cur = db.execute(
                    f"DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM {table} WHERE {column} < ? LIMIT ?)",  # noqa: S608
                    (cutoff, limit),
                )
                if stream not in EVENT_STREAMS_TOO:
                    return cur.rowcount, 0
                gone = db.execute(
                    "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE stream = ? AND received_at < ?"
                    " LIMIT ?)",
                    (stream, cutoff, limit),
                ).rowcount
                return max(cur.rowcount, gone), 0
            sent = db.execute(
                "SELECT COALESCE((SELECT cursor FROM sync_streams WHERE stream = ?), 0)", (stream,)
            ).fetchone()[0]
            ids = [
                r[0]
                for r in db.execute(
                    "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE stream = ? AND received_at < ?"
                    " LIMIT ?) RETURNING id",
                    (stream, cutoff, limit),
                )
            ]
        return len(ids), sum(1 for i in ids if i > sent)

    def thin(self, stream: str, condition: str, *, sent: bool, limit: int) -> int:
        """Delete the oldest ``limit`` events of ``stream`` (a :data:`THINNING_ORDER` entry), only
        those the server has acknowledged (``sent``) or only the others; returns the count."""
        with self.atomic() as db:
            cur = db.execute(
                f"DELETE FROM events WHERE id IN (SELECT id FROM events WHERE stream = ? AND {_SENT if sent else _UNSENT}"  # noqa: S608
                f"{condition} ORDER BY id LIMIT ?)",
                (stream, limit),
            )
            if cur.rowcount and not sent:
                db.execute(
                    "INSERT INTO sync_streams (stream, thinned) VALUES (?, ?)"
                    " ON CONFLICT (stream) DO UPDATE SET thinned = thinned + excluded.thinned",
                    (stream, cur.rowcount),
                )
        return cur.rowcount

    def vacuum(self, pages: int) -> int:
        """Give up to ``pages`` free pages back to the file system; returns how many free pages are left.

        (Each ``incremental_vacuum`` statement frees one page per step and Python's driver steps it
        once, hence one statement per page, in one transaction.)
        """
        free = int(self.db.execute("PRAGMA freelist_count").fetchone()[0])
        if not free or self.db.execute("PRAGMA auto_vacuum").fetchone()[0] != _INCREMENTAL:
            return 0
        with self.atomic() as db:
            for _ in range(min(pages, free)):
                db.execute("PRAGMA incremental_vacuum(1)")
        return int(self.db.execute("PRAGMA freelist_count").fetchone()[0])

    def checkpoint(self) -> None:
        """Copy the WAL into the database file now, without waiting for readers: this is where the
        file actually shrinks after :meth:`vacuum`."""
        self.db.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def prune(self, retention_days: dict[str, int], now: str | None = None) -> int:
        """Delete every row older than its stream's retention, sent or not; returns the count.

        The streams are those of the events (uplink, health, network, button, feedback) and the
        tables in :data:`RETAINED_TABLES` (quarantined input, help requests and their ``help`` events). The agent does this
        in small steps (:class:`edge_agent.housekeeping.Housekeeper`); this is all of it at once.
        """
        now_dt = timeutil.parse(now) if now else timeutil.parse(timeutil.utc_now())
        removed = 0
        for stream, days in retention_days.items():
            if days <= 0:
                continue
            cutoff = timeutil.iso(now_dt - timedelta(days=days))
            while True:
                n, _ = self.expire(stream, cutoff, 10_000)
                removed += n
                if n < 10_000:
                    break
        return removed


def open_reader(path: Path | str) -> sqlite3.Connection:
    """A read-only connection for the CLI and the local API (``StoreError`` if there is no database)."""
    if not Path(path).exists():
        raise StoreError(f"no database at {path}: has the agent run with this config yet?")
    try:
        db = _connect(path, readonly=True)
        db.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()  # errors show here, not mid-command
    except sqlite3.Error as exc:
        hint = ""
        if shutil.disk_usage(Path(path).parent).free < 1 << 20:
            hint = (
                " (the disk is full, and nothing holds the database open: start the agent or free some space)"
            )
        raise StoreError(f"cannot open the database {path}: {exc}{hint}") from exc
    return db
