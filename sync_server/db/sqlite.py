"""The embedded backend: one SQLite file in WAL mode.

All writes go through one :class:`a2d.sqlwriter.Writer` thread (group commit, ack after commit);
reads use a small pool of read-only connections, one per thread that is reading at the moment.
Other processes (the CLI while the server runs) may write too: SQLite's file lock and a busy
timeout serialise them.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import CancelledError
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from a2d.sqlwriter import Writer
from a2d.timeutil import utc_now

from . import _bundles
from . import _hourly_sqlite as hourly_sql
from . import _live as live_sql
from . import _sql as sql
from ._base import (
    BundleInfo,
    Database,
    DatabaseError,
    Device,
    DisplayRow,
    RecordRow,
    Refused,
    SigningKey,
    StoredDisplay,
    StoredHeartbeat,
    StoredRecord,
    Tx,
    Unavailable,
)
from ._hourly import Hourly, Reading, Tally, Window, fold
from ._live import LiveRow, Vote
from ._spans import late
from .schema import MIGRATIONS, MIGRATIONS_TABLE

T = TypeVar("T")


_NEXT_ARRIVAL = "SELECT COALESCE(MAX(rowid), 0) + 1 FROM records"
_ADD_SPAN = (
    "INSERT INTO record_spans (stream, first_arrival, last_arrival, min_ts, max_ts) VALUES (?, ?, ?, ?, ?)"
)
_SPANS_BEFORE = "SELECT id, first_arrival, last_arrival, max_ts FROM record_spans WHERE stream = ? AND min_ts < ? ORDER BY id"
_SYNCHRONOUS = {"full": "PRAGMA synchronous=FULL", "normal": "PRAGMA synchronous=NORMAL"}
_BUSY_TIMEOUT_S = 10.0


class _SQLiteTx:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def run(self, statement: str, params: Sequence[Any] = ()) -> int:
        return self._conn.execute(statement, tuple(params)).rowcount

    def rows(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._conn.execute(statement, tuple(params)).fetchall()


class SQLiteDatabase(Database):
    backend = "sqlite"

    def __init__(self, path: str | Path, *, create: bool = True, synchronous: str = "full") -> None:
        self.path = Path(path)
        if synchronous not in _SYNCHRONOUS:
            raise DatabaseError(f"synchronous must be one of {', '.join(_SYNCHRONOUS)}, not {synchronous!r}")
        self._synchronous = _SYNCHRONOUS[synchronous]
        if not create and not self.path.is_file():
            raise DatabaseError(f"there is no server database at {self.path}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = self._connect()
            conn.execute("PRAGMA journal_mode=WAL")
        except (OSError, sqlite3.Error) as exc:
            raise DatabaseError(f"cannot open the SQLite database {self.path}: {exc}") from exc
        self._conn = conn
        #: group commit: uploads that arrive while a transaction runs share the next one (64 at most)
        self._writer = Writer(
            conn, conn, name="a2d-sqlite-writer", group=64, what=f"the database {self.path}"
        )
        self._writer.start()
        self._idle: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._readers: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False

    def _connect(self, read_only: bool = False) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        conn.execute(self._synchronous)
        if read_only:
            conn.execute("PRAGMA query_only=ON")
        return conn

    @contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        if self._closed:
            raise Unavailable("the database is closed")
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            try:
                conn = self._connect(read_only=True)
            except sqlite3.Error as exc:
                raise Unavailable(f"SQLite: {exc}") from exc
            with self._lock:
                self._readers.append(conn)
        try:
            yield conn
        except sqlite3.OperationalError as exc:
            raise Unavailable(f"SQLite: {exc}") from exc
        finally:
            self._idle.put(conn)

    def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        with self._reader() as conn:
            return fn(conn)

    def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` on the writer thread in a transaction; its result once committed."""
        try:
            return self._writer.call(fn)
        except CancelledError:
            raise Unavailable("the database is closed") from None
        except sqlite3.OperationalError as exc:
            raise Unavailable(f"SQLite: {exc}") from exc

    def close(self) -> None:
        self._closed = True
        self._writer.close(timeout=None)  # commits what was queued; then the connection is ours again
        self._conn.close()
        with self._lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()

    def ping(self) -> None:
        if not self._writer.alive:
            raise Unavailable("the SQLite writer has stopped")
        self._read(lambda c: c.execute(sql.PING).fetchone())

    def migrate(self) -> list[str]:
        def apply(conn: sqlite3.Connection) -> list[str]:
            conn.execute(MIGRATIONS_TABLE)
            done = {v for (v,) in conn.execute(sql.APPLIED_MIGRATIONS)}
            newer = done - {m.version for m in MIGRATIONS}
            if newer:
                raise DatabaseError(
                    f"{self.path} has schema version {max(newer)}, newer than this a2d knows: upgrade a2d"
                )
            applied = []
            for m in MIGRATIONS:
                if m.version in done:
                    continue
                for statement in m.statements(self.backend):
                    conn.execute(statement)
                conn.execute(
                    sql.RECORD_MIGRATION,
                    (m.version, m.name, utc_now()),
                )
                applied.append(f"{m.version}: {m.name}")
            return applied

        return self._write(apply)

    # small tables of other parts -----------------------------------------------------------
    def query(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._read(lambda c: c.execute(statement, tuple(params)).fetchall())

    def transact(self, fn: Callable[[Tx], T]) -> T:
        def job(conn: sqlite3.Connection) -> T:
            try:
                return fn(_SQLiteTx(conn))
            except sqlite3.IntegrityError as exc:
                raise Refused(f"SQLite: {exc}") from exc

        return self._write(job)

    # devices ---------------------------------------------------------------------------------
    def add_device(
        self, name: str, candidates: Iterable[str], token_hash: str, now: str, site: str = "", role: str = ""
    ) -> str:
        def insert(conn: sqlite3.Connection) -> str:
            for device_id in candidates:
                cur = conn.execute(
                    sql.ADD_DEVICE,
                    (device_id, name, token_hash, now, now, site, role),
                )
                if cur.rowcount == 1:
                    return device_id
            raise DatabaseError(f"no free device id for {name!r}")

        return self._write(insert)

    def devices(self) -> list[Device]:
        rows = self._read(lambda c: c.execute(sql.DEVICES).fetchall())
        return [Device(*row) for row in rows]

    def revoke_device(self, device_id: str, now: str) -> bool:
        def revoke(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                sql.REVOKE_DEVICE,
                (now, device_id),
            )
            return cur.rowcount == 1

        return self._write(revoke)

    def set_device_token(self, device_id: str, token_hash: str, now: str) -> bool:
        def rotate(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                sql.SET_DEVICE_TOKEN,
                (token_hash, now, device_id),
            )
            return cur.rowcount == 1

        return self._write(rotate)

    def device_token_hash(self, device_id: str) -> str | None:
        row = self._read(lambda c: c.execute(sql.DEVICE_TOKEN_HASH, (device_id,)).fetchone())
        return None if row is None else str(row[0])

    def device_with_token(self, token_hash: str) -> str | None:
        row = self._read(lambda c: c.execute(sql.DEVICE_WITH_TOKEN, (token_hash,)).fetchone())
        return None if row is None else str(row[0])

    # admin -----------------------------------------------------------------------------------
    def set_admin_token_hash(self, token_hash: str, now: str) -> None:
        self._write(
            lambda c: c.execute(
                sql.SET_ADMIN_TOKEN,
                (token_hash, now),
            )
        )

    def admin_token_hash(self) -> str | None:
        row = self._read(lambda c: c.execute(sql.ADMIN_TOKEN_HASH).fetchone())
        return None if row is None else str(row[0])

    # records and heartbeats ------------------------------------------------------------------
    def store_records(
        self, rows: Sequence[RecordRow], readings: Sequence[Reading] = (), votes: Sequence[Vote] = ()
    ) -> None:
        """Insert the new records and add their readings to the hourly aggregates, in one job.

        Usually every record of an upload is new, so the readings are folded here, outside the
        writer, as if they all were; the writer checks that the insert added as many rows as
        there are distinct records. Only when some were held already (a retried batch) does it
        undo the insert, look up which are new, and insert again. Late records get a span
        (:mod:`._spans`) over the arrival numbers the insert handed out.
        """
        insert = (
            "INSERT INTO records (device_id, record_id, stream, ts, payload, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (device_id, record_id) DO NOTHING"
        )
        everything = fold(readings, None)
        distinct = len({(row[0], row[1]) for row in rows})
        spans = late(rows)

        def store(conn: sqlite3.Connection) -> None:
            first = conn.execute(_NEXT_ARRIVAL).fetchone()[0] if spans else 0
            insert_all(conn)
            if spans:  # one executemany in this one job: the new rows have the numbers first..last
                last = conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM records").fetchone()[0]
                if last >= first:
                    conn.executemany(
                        _ADD_SPAN, [(stream, first, last, low, high) for stream, low, high in spans]
                    )

        def insert_all(conn: sqlite3.Connection) -> None:
            if not readings and not votes:
                conn.executemany(insert, rows)
                return
            conn.execute("SAVEPOINT upload")
            before = conn.total_changes
            conn.executemany(insert, rows)
            if conn.total_changes - before == distinct:  # all new: the readings folded above count
                conn.execute("RELEASE upload")
                hourly_sql.add(conn, everything)
                live_sql.add_votes(conn.executemany, votes, None)
                return
            conn.execute("ROLLBACK TO upload")
            conn.execute("RELEASE upload")
            new = hourly_sql.not_held(conn, rows)
            conn.executemany(insert, rows)
            if new:
                hourly_sql.add(conn, fold(readings, new))
                live_sql.add_votes(conn.executemany, votes, new)

        self._refusing(store)

    def _refusing(self, job: Callable[[sqlite3.Connection], None]) -> None:
        """Run a write job; a value or constraint SQLite refuses is :class:`Refused` (the job alone
        was rolled back), not a failure of the database."""
        try:
            self._write(job)
        except (sqlite3.DataError, sqlite3.IntegrityError, UnicodeError) as exc:
            raise Refused(f"SQLite: {exc}") from exc

    def records(self, device_id: str | None = None, limit: int | None = None) -> Iterator[StoredRecord]:
        columns = "SELECT device_id, record_id, stream, ts, received_at, payload FROM records"
        with self._reader() as conn:
            if device_id is None:
                cur = conn.execute(f"{columns} ORDER BY rowid LIMIT ?", (limit or -1,))
            else:
                cur = conn.execute(
                    f"{columns} WHERE device_id = ? ORDER BY rowid LIMIT ?", (device_id, limit or -1)
                )
            try:
                for row in cur:
                    yield StoredRecord(*row)
            finally:
                cur.close()

    # the arrival number of a record is its rowid
    def _arrival_from(self, number: int) -> tuple[int, str] | None:
        row = self._read(
            lambda c: c.execute(
                "SELECT rowid, received_at FROM records WHERE rowid >= ? ORDER BY rowid LIMIT 1", (number,)
            ).fetchone()
        )
        return None if row is None else (int(row[0]), str(row[1]))

    def _last_arrival(self) -> int:
        return int(
            self._read(lambda c: c.execute("SELECT COALESCE(MAX(rowid), 0) FROM records").fetchone()[0])
        )

    def _spans_before(self, stream: str, cutoff: str) -> list[tuple[int, int, int, str]]:
        rows = self._read(lambda c: c.execute(_SPANS_BEFORE, (stream, cutoff)).fetchall())
        return [(int(a), int(b), int(c), str(d)) for a, b, c, d in rows]

    def _drop_span(self, span: int) -> None:
        self._write(lambda c: c.execute("DELETE FROM record_spans WHERE id = ?", (span,)))

    def prune_bundle_history(self, cutoff: str) -> int:
        return self._write(
            lambda c: c.execute("DELETE FROM bundle_history WHERE replaced_at < ?", (cutoff,)).rowcount
        )

    def _delete_records(self, stream: str, first: int, last: int, before: str | None = None) -> int:
        def delete(conn: sqlite3.Connection) -> int:
            cur = conn.execute(
                "DELETE FROM records WHERE rowid BETWEEN ? AND ? AND stream = ? AND (? IS NULL OR ts < ?)",
                (first, last, stream, before, before),
            )
            return cur.rowcount

        return self._write(delete)

    def store_heartbeat(
        self, device_id: str, heartbeat: str, received_at: str, keep: int, displays: Sequence[DisplayRow] = ()
    ) -> None:
        def store(conn: sqlite3.Connection) -> None:
            conn.execute(
                sql.UPSERT_LATEST_HEARTBEAT,
                (device_id, received_at, heartbeat),
            )
            if keep > 0:
                conn.execute(
                    sql.ADD_HEARTBEAT,
                    (device_id, received_at, heartbeat),
                )
                conn.execute(
                    sql.TRIM_HEARTBEATS,
                    (device_id, device_id, keep),
                )
            if displays:
                conn.executemany(sql.UPSERT_DISPLAY, displays)

        self._refusing(store)

    def displays(self) -> list[StoredDisplay]:
        rows = self._read(lambda c: c.execute(sql.DISPLAYS).fetchall())
        return [StoredDisplay._make((*row[:8], bool(row[8]), *row[9:])) for row in rows]

    def latest_heartbeats(self) -> list[StoredHeartbeat]:
        rows = self._read(lambda c: c.execute(sql.LATEST_HEARTBEATS).fetchall())
        return [StoredHeartbeat(*row) for row in rows]

    def heartbeat_history(self, device_id: str, limit: int) -> list[StoredHeartbeat]:
        rows = self._read(
            lambda c: c.execute(
                sql.HEARTBEAT_HISTORY,
                (device_id, limit),
            ).fetchall()
        )
        return [StoredHeartbeat(*row) for row in rows]

    # open data -------------------------------------------------------------------------------
    def hourly(self, window: Window, limit: int) -> list[Hourly]:
        return self._read(lambda c: hourly_sql.hourly(c, window, limit))

    def feedback_tallies(self, window: Window, limit: int) -> list[Tally]:
        return self._read(lambda c: hourly_sql.tallies(c, window, limit))

    # bundles ---------------------------------------------------------------------------------
    def assign_bundle_counter(self, kind: str) -> int:
        return int(self._write(lambda c: c.execute(sql.ASSIGN_BUNDLE_COUNTER, (kind,)).fetchone()[0]))

    def bundle_counters(self, kind: str) -> tuple[int, int]:
        row = self._read(lambda c: c.execute(sql.BUNDLE_COUNTERS, (kind,)).fetchone())
        return (0, 0) if row is None else (int(row[0]), int(row[1]))

    def publish_bundles(
        self, bundles: Sequence[tuple[BundleInfo, str]], signing_keys: Sequence[SigningKey] | None = None
    ) -> None:
        def publish(conn: sqlite3.Connection) -> None:
            for statement, params in _bundles.statements(
                bundles, signing_keys, lambda kind: self._published(conn, kind)
            ):
                conn.execute(statement, params)

        self._write(publish)

    @staticmethod
    def _published(conn: sqlite3.Connection, kind: str) -> int:
        row = conn.execute(sql.BUNDLE_COUNTERS, (kind,)).fetchone()
        return 0 if row is None else int(row[1])

    def bundle_for(self, device_id: str, kind: str) -> BundleInfo | None:
        row = self._read(
            lambda c: c.execute(sql.BUNDLE_FOR, (kind, f"device:{device_id}", device_id)).fetchone()
        )
        return None if row is None else BundleInfo(*row)

    def bundle_document(self, target: str, kind: str) -> tuple[int, str, str] | None:
        row = self._read(lambda c: c.execute(sql.BUNDLE_DOCUMENT, (target, kind)).fetchone())
        return None if row is None else (int(row[0]), str(row[1]), str(row[2]))

    def bundles(self, history: bool = False) -> list[BundleInfo]:
        query = sql.BUNDLES_WITH_HISTORY if history else sql.BUNDLES
        return [BundleInfo(*row) for row in self._read(lambda c: c.execute(query).fetchall())]

    def signing_keys(self) -> list[SigningKey]:
        return [SigningKey(*row) for row in self._read(lambda c: c.execute(sql.SIGNING_KEYS).fetchall())]

    def add_signing_key(self, key: SigningKey) -> bool:
        def add(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(sql.ADD_SIGNING_KEY, (key.key_id, key.public_key, key.added_at, key.retire_at))
            return cur.rowcount == 1

        return bool(self._write(add))

    # live questions and town-wide tallies ------------------------------------------------------
    def add_live(self, question_id: str, document: str, opens_at: str, closes_at: str, started_by: str,
                 now: str) -> None:  # fmt: skip
        def add(conn: sqlite3.Connection) -> None:
            conn.execute(live_sql.ADD, (question_id, document, opens_at, closes_at, started_by, now))

        self._refusing(add)

    def live_questions(self, open_at: str | None = None, limit: int = 1000) -> list[LiveRow]:
        if open_at is None:
            return self._read(lambda c: live_sql.rows(c.execute(live_sql.ALL, (limit,))))
        return self._read(lambda c: live_sql.rows(c.execute(live_sql.OPEN, (open_at, open_at, limit))))

    def live_question(self, question_id: str) -> LiveRow | None:
        found = self._read(lambda c: live_sql.rows(c.execute(live_sql.ONE, (question_id,))))
        return found[0] if found else None

    def close_live(self, question_id: str, now: str, closed_by: str) -> bool:
        return bool(
            self._write(lambda c: c.execute(live_sql.CLOSE, (now, closed_by, question_id, now)).rowcount == 1)
        )

    def poll_tallies(self, poll_ids: Iterable[str]) -> dict[str, dict[str, int]]:
        return self._read(lambda c: live_sql.tallies(c.execute, poll_ids))
