"""The PostgreSQL backend: psycopg 3 with a connection pool, for towns that outgrow one machine.

Several server processes may share one database: nothing lives in process memory, migrations
take an advisory lock, and concurrent uploads of the same records meet at the primary key
(``ON CONFLICT DO NOTHING``). Uploads of one device take a per-device advisory lock first, so two
overlapping batches (a retry racing its original) wait for each other instead of deadlocking.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from a2d.timeutil import utc_now

from . import _bundles
from . import _hourly_postgres as hourly_sql
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
from ._sql import pg
from .schema import MIGRATIONS, MIGRATIONS_TABLE

#: pg_advisory_xact_lock key that serialises migrations across processes ("a2d-mig" in ASCII)
_MIGRATION_LOCK = 0x6132642D6D6967
#: first half of the two-key pg_advisory_xact_lock taken per device while its records are inserted
_DEVICE_LOCK_CLASS = 0x61326472
#: pg_advisory_xact_lock key that serialises publishing bundles ("a2d-bun" in ASCII)
_BUNDLE_LOCK = 0x6132642D62756E

_CONNECT_TIMEOUT_S = 10
_INSERT_RECORDS = (
    "INSERT INTO records (device_id, record_id, stream, ts, payload, received_at)"
    " SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[])"
    " ON CONFLICT (device_id, record_id) DO NOTHING"
)
T = TypeVar("T")
_PASSWORD = re.compile(r"(//[^:/@]*):[^@/]*@")


def redact(url: str) -> str:
    """The URL without its password, fit for messages."""
    return _PASSWORD.sub(r"\1:***@", url)


class _PostgresTx:
    def __init__(self, conn: psycopg.Connection) -> None:
        self._conn = conn

    def run(self, statement: str, params: Sequence[Any] = ()) -> int:
        return self._conn.execute(pg(statement), tuple(params)).rowcount

    def rows(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._conn.execute(pg(statement), tuple(params)).fetchall()


class PostgresDatabase(Database):
    backend = "postgresql"

    def __init__(self, url: str, *, pool_size: int = 8) -> None:
        self.url = redact(url)
        try:  # one plain connection first: its error names the cause (the pool's would not)
            psycopg.connect(url, connect_timeout=_CONNECT_TIMEOUT_S).close()
        except psycopg.Error as exc:
            raise DatabaseError(f"cannot connect to {self.url}: {str(exc).strip()}") from exc
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max(1, pool_size),
            kwargs={"connect_timeout": _CONNECT_TIMEOUT_S},
            name="a2d-postgres",
            timeout=30,
            open=False,
        )
        try:
            self._pool.open(wait=True, timeout=_CONNECT_TIMEOUT_S)
        except PoolTimeout as exc:
            self._pool.close()
            raise DatabaseError(f"cannot connect to {self.url}: {exc}") from exc

    @contextmanager
    def _refusing(self) -> Iterator[psycopg.Connection]:
        """A connection as :meth:`_conn`, for a write whose data PostgreSQL may refuse (a NUL in
        text, an untranslatable character, a constraint): that is :class:`Refused`, rolled back."""
        try:
            with self._conn() as conn:
                yield conn
        except (psycopg.DataError, psycopg.IntegrityError) as exc:
            raise Refused(f"PostgreSQL: {str(exc).strip()}") from exc

    @contextmanager
    def _conn(self) -> Iterator[psycopg.Connection]:
        """A pooled connection inside a transaction that commits when the block ends without error."""
        try:
            with self._pool.connection() as conn:
                yield conn
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise Unavailable(f"PostgreSQL: {str(exc).strip()}") from exc

    def close(self) -> None:
        self._pool.close()

    def ping(self) -> None:
        with self._conn() as conn:
            conn.execute(pg(sql.PING))

    def migrate(self) -> list[str]:
        applied = []
        with self._conn() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            conn.execute(MIGRATIONS_TABLE)
            done = {v for (v,) in conn.execute(pg(sql.APPLIED_MIGRATIONS))}
            newer = done - {m.version for m in MIGRATIONS}
            if newer:
                raise DatabaseError(
                    f"{self.url} has schema version {max(newer)}, newer than this a2d knows: upgrade a2d"
                )
            for m in MIGRATIONS:
                if m.version in done:
                    continue
                for statement in m.statements(self.backend):
                    conn.execute(statement)
                conn.execute(
                    pg(sql.RECORD_MIGRATION),
                    (m.version, m.name, utc_now()),
                )
                applied.append(f"{m.version}: {m.name}")
        return applied

    # small tables of other parts -----------------------------------------------------------
    def query(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._conn() as conn:
            return conn.execute(pg(statement), tuple(params)).fetchall()

    def transact(self, fn: Callable[[Tx], T]) -> T:
        with self._refusing() as conn:
            return fn(_PostgresTx(conn))

    # devices ---------------------------------------------------------------------------------
    def add_device(
        self, name: str, candidates: Iterable[str], token_hash: str, now: str, site: str = "", role: str = ""
    ) -> str:
        with self._conn() as conn:
            for device_id in candidates:
                cur = conn.execute(
                    pg(sql.ADD_DEVICE),
                    (device_id, name, token_hash, now, now, site, role),
                )
                if cur.rowcount == 1:
                    return device_id
        raise DatabaseError(f"no free device id for {name!r}")

    def devices(self) -> list[Device]:
        with self._conn() as conn:
            rows = conn.execute(pg(sql.DEVICES)).fetchall()
        return [Device(*row) for row in rows]

    def revoke_device(self, device_id: str, now: str) -> bool:
        with self._conn() as conn:
            cur = conn.execute(
                pg(sql.REVOKE_DEVICE),
                (now, device_id),
            )
            return cur.rowcount == 1

    def set_device_token(self, device_id: str, token_hash: str, now: str) -> bool:
        with self._conn() as conn:
            cur = conn.execute(
                pg(sql.SET_DEVICE_TOKEN),
                (token_hash, now, device_id),
            )
            return cur.rowcount == 1

    def device_token_hash(self, device_id: str) -> str | None:
        with self._conn() as conn:
            row = conn.execute(pg(sql.DEVICE_TOKEN_HASH), (device_id,)).fetchone()
        return None if row is None else str(row[0])

    def device_with_token(self, token_hash: str) -> str | None:
        with self._conn() as conn:
            row = conn.execute(pg(sql.DEVICE_WITH_TOKEN), (token_hash,)).fetchone()
        return None if row is None else str(row[0])

    # admin -----------------------------------------------------------------------------------
    def set_admin_token_hash(self, token_hash: str, now: str) -> None:
        with self._conn() as conn:
            conn.execute(
                pg(sql.SET_ADMIN_TOKEN),
                (token_hash, now),
            )

    def admin_token_hash(self) -> str | None:
        with self._conn() as conn:
            row = conn.execute(pg(sql.ADMIN_TOKEN_HASH)).fetchone()
        return None if row is None else str(row[0])

    # records and heartbeats ------------------------------------------------------------------
    def store_records(
        self, rows: Sequence[RecordRow], readings: Sequence[Reading] = (), votes: Sequence[Vote] = ()
    ) -> None:
        """Insert the new records, add their readings to the hourly aggregates, and note a span of
        the late ones (:mod:`._spans`) over the arrival numbers they got, in one transaction."""
        columns = [list(c) for c in zip(*rows, strict=True)] if rows else [[]] * 6
        spans = late(rows)
        with self._refusing() as conn:
            for device_id in sorted(set(columns[0])):
                conn.execute(
                    "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (_DEVICE_LOCK_CLASS, device_id)
                )
            if not readings and not spans and not votes:
                conn.execute(_INSERT_RECORDS, columns)
                return
            new = conn.execute(_INSERT_RECORDS + " RETURNING device_id, record_id, seq", columns).fetchall()
            if readings:
                hourly_sql.add(conn, fold(readings, {(d, r) for d, r, _ in new}))
            if votes:
                with conn.cursor() as cur:
                    live_sql.add_votes(
                        lambda s, p: cur.executemany(pg(s), p), votes, {(d, r) for d, r, _ in new}
                    )
            if spans and new:
                # other uploads may take numbers in between: the range is the span, the delete looks at ts
                first, last = min(n[2] for n in new), max(n[2] for n in new)
                with conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO record_spans (stream, first_arrival, last_arrival, min_ts, max_ts)"
                        " VALUES (%s, %s, %s, %s, %s)",
                        [(stream, first, last, low, high) for stream, low, high in spans],
                    )

    def records(self, device_id: str | None = None, limit: int | None = None) -> Iterator[StoredRecord]:
        with self._conn() as conn, conn.cursor(name="a2d_records") as cur:
            cur.itersize = 2000
            if device_id is None:
                cur.execute(
                    "SELECT device_id, record_id, stream, ts, received_at, payload FROM records"
                    " ORDER BY seq LIMIT %s",
                    (limit,),
                )
            else:
                cur.execute(
                    "SELECT device_id, record_id, stream, ts, received_at, payload FROM records"
                    " WHERE device_id = %s ORDER BY seq LIMIT %s",
                    (device_id, limit),
                )
            for row in cur:
                yield StoredRecord(*row)

    # the arrival number of a record is its identity column seq
    def _arrival_from(self, number: int) -> tuple[int, str] | None:
        with self._conn() as conn:
            row = conn.execute(
                "SELECT seq, received_at FROM records WHERE seq >= %s ORDER BY seq LIMIT 1", (number,)
            ).fetchone()
        return None if row is None else (int(row[0]), str(row[1]))

    def _last_arrival(self) -> int:
        with self._conn() as conn:
            row = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM records").fetchone()
        return int(row[0]) if row else 0

    def _spans_before(self, stream: str, cutoff: str) -> list[tuple[int, int, int, str]]:
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT id, first_arrival, last_arrival, max_ts FROM record_spans"
                " WHERE stream = %s AND min_ts < %s ORDER BY id",
                (stream, cutoff),
            ).fetchall()
        return [(int(a), int(b), int(c), str(d)) for a, b, c, d in rows]

    def _drop_span(self, span: int) -> None:
        with self._conn() as conn:
            conn.execute("DELETE FROM record_spans WHERE id = %s", (span,))

    def prune_bundle_history(self, cutoff: str) -> int:
        with self._conn() as conn:
            return conn.execute("DELETE FROM bundle_history WHERE replaced_at < %s", (cutoff,)).rowcount

    def _delete_records(self, stream: str, first: int, last: int, before: str | None = None) -> int:
        with self._conn() as conn:
            cur = conn.execute(
                "DELETE FROM records WHERE seq BETWEEN %s AND %s AND stream = %s"
                " AND (%s::text IS NULL OR ts < %s)",
                (first, last, stream, before, before),
            )
            return cur.rowcount

    def store_heartbeat(
        self, device_id: str, heartbeat: str, received_at: str, keep: int, displays: Sequence[DisplayRow] = ()
    ) -> None:
        with self._refusing() as conn:
            conn.execute(
                pg(sql.UPSERT_LATEST_HEARTBEAT),
                (device_id, received_at, heartbeat),
            )
            if keep > 0:
                conn.execute(
                    pg(sql.ADD_HEARTBEAT),
                    (device_id, received_at, heartbeat),
                )
                conn.execute(
                    pg(sql.TRIM_HEARTBEATS),
                    (device_id, device_id, keep),
                )
            if displays:
                with conn.cursor() as cur:
                    cur.executemany(pg(sql.UPSERT_DISPLAY), displays)

    def displays(self) -> list[StoredDisplay]:
        with self._conn() as conn:
            rows = conn.execute(pg(sql.DISPLAYS)).fetchall()
        return [StoredDisplay._make((*row[:8], bool(row[8]), *row[9:])) for row in rows]

    def latest_heartbeats(self) -> list[StoredHeartbeat]:
        with self._conn() as conn:
            rows = conn.execute(pg(sql.LATEST_HEARTBEATS)).fetchall()
        return [StoredHeartbeat(*row) for row in rows]

    def heartbeat_history(self, device_id: str, limit: int) -> list[StoredHeartbeat]:
        with self._conn() as conn:
            rows = conn.execute(
                pg(sql.HEARTBEAT_HISTORY),
                (device_id, limit),
            ).fetchall()
        return [StoredHeartbeat(*row) for row in rows]

    # open data -------------------------------------------------------------------------------
    def hourly(self, window: Window, limit: int) -> list[Hourly]:
        with self._conn() as conn:
            return hourly_sql.hourly(conn, window, limit)

    def feedback_tallies(self, window: Window, limit: int) -> list[Tally]:
        with self._conn() as conn:
            return hourly_sql.tallies(conn, window, limit)

    # bundles ---------------------------------------------------------------------------------
    def assign_bundle_counter(self, kind: str) -> int:
        with self._conn() as conn:
            row = conn.execute(pg(sql.ASSIGN_BUNDLE_COUNTER), (kind,)).fetchone()
        assert row is not None  # RETURNING of an upsert always gives the row
        return int(row[0])

    def bundle_counters(self, kind: str) -> tuple[int, int]:
        with self._conn() as conn:
            row = conn.execute(pg(sql.BUNDLE_COUNTERS), (kind,)).fetchone()
        return (0, 0) if row is None else (int(row[0]), int(row[1]))

    def publish_bundles(
        self, bundles: Sequence[tuple[BundleInfo, str]], signing_keys: Sequence[SigningKey] | None = None
    ) -> None:
        with self._conn() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_BUNDLE_LOCK,))

            def published(kind: str) -> int:
                row = conn.execute(pg(sql.BUNDLE_COUNTERS), (kind,)).fetchone()
                return 0 if row is None else int(row[1])

            for statement, params in _bundles.statements(bundles, signing_keys, published):
                conn.execute(pg(statement), params)

    def bundle_for(self, device_id: str, kind: str) -> BundleInfo | None:
        with self._conn() as conn:
            row = conn.execute(pg(sql.BUNDLE_FOR), (kind, f"device:{device_id}", device_id)).fetchone()
        return None if row is None else BundleInfo(*row)

    def bundle_document(self, target: str, kind: str) -> tuple[int, str, str] | None:
        with self._conn() as conn:
            row = conn.execute(pg(sql.BUNDLE_DOCUMENT), (target, kind)).fetchone()
        return None if row is None else (int(row[0]), str(row[1]), str(row[2]))

    def bundles(self, history: bool = False) -> list[BundleInfo]:
        with self._conn() as conn:
            rows = conn.execute(pg(sql.BUNDLES_WITH_HISTORY) if history else pg(sql.BUNDLES)).fetchall()
        return [BundleInfo(*row) for row in rows]

    def signing_keys(self) -> list[SigningKey]:
        with self._conn() as conn:
            rows = conn.execute(pg(sql.SIGNING_KEYS)).fetchall()
        return [SigningKey(*row) for row in rows]

    def add_signing_key(self, key: SigningKey) -> bool:
        with self._conn() as conn:
            cur = conn.execute(
                pg(sql.ADD_SIGNING_KEY), (key.key_id, key.public_key, key.added_at, key.retire_at)
            )
            return cur.rowcount == 1

    # live questions and town-wide tallies ------------------------------------------------------
    def add_live(self, question_id: str, document: str, opens_at: str, closes_at: str, started_by: str,
                 now: str) -> None:  # fmt: skip
        with self._refusing() as conn:
            conn.execute(pg(live_sql.ADD), (question_id, document, opens_at, closes_at, started_by, now))

    def live_questions(self, open_at: str | None = None, limit: int = 1000) -> list[LiveRow]:
        with self._conn() as conn:
            if open_at is None:
                return live_sql.rows(conn.execute(pg(live_sql.ALL), (limit,)))
            return live_sql.rows(conn.execute(pg(live_sql.OPEN), (open_at, open_at, limit)))

    def live_question(self, question_id: str) -> LiveRow | None:
        with self._conn() as conn:
            found = live_sql.rows(conn.execute(pg(live_sql.ONE), (question_id,)))
        return found[0] if found else None

    def close_live(self, question_id: str, now: str, closed_by: str) -> bool:
        with self._conn() as conn:
            return conn.execute(pg(live_sql.CLOSE), (now, closed_by, question_id, now)).rowcount == 1

    def poll_tallies(self, poll_ids: Iterable[str]) -> dict[str, dict[str, int]]:
        with self._conn() as conn:
            return live_sql.tallies(lambda s, p: conn.execute(pg(s), p), poll_ids)
