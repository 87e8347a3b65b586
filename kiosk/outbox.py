"""The kiosk's own durable outbox: votes, help requests and usage counters wait here until the edge agent has them.

A citizen's tap is committed to SQLite (WAL, ``synchronous=FULL``) before the screen says
"Danke", so neither a dead agent nor a power cut loses it. An item leaves the outbox only when
the agent answered 2xx (it stores each id once, so sending an item again is harmless), or when the
agent refused it as malformed (400): such an item is moved to ``refused`` and never retried.

Nothing is kept for ever (:meth:`Outbox.prune`): a refused item goes after ``kiosk.refused_days``
(30), and an item the agent never took goes once it is older than the retention promised to
citizens for votes (400 days, :data:`a2d.retention.STREAMS`), refused or not.

One thread owns the connection (:class:`a2d.sqlwriter.Writer`, as in every app): the UI thread's
``put`` and the delivery thread's calls are jobs for it and wait for their commit. The kiosk writes
little, so its reads go through the same thread; that keeps ``Outbox(":memory:")`` one database.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from a2d import retention
from a2d.errors import KnownError
from a2d.sqlwriter import Writer
from a2d.timeutil import iso, utc_now

T = TypeVar("T")
KINDS = ("vote", "help", "usage")
#: the longest any item is kept, counted from the tap: the retention promised for votes
MAX_AGE_DAYS = retention.STREAMS["feedback"][0]

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
    " kind TEXT NOT NULL, body TEXT NOT NULL, created_at TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
    " last_error TEXT)",
    "CREATE TABLE IF NOT EXISTS refused (id TEXT PRIMARY KEY, kind TEXT NOT NULL, body TEXT NOT NULL,"
    " reason TEXT NOT NULL, at TEXT NOT NULL)",
)


@dataclass(frozen=True)
class Item:
    id: str
    kind: str
    body: dict[str, Any]
    attempts: int


class Outbox:
    """``Outbox(path)`` or ``Outbox(":memory:")``; :meth:`put`, :meth:`peek`, :meth:`done`; :meth:`close`."""

    def __init__(self, path: str | Path) -> None:
        self.path = path
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db: sqlite3.Connection | None = None
        try:
            db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA busy_timeout=5000")
            for stmt in _SCHEMA:
                db.execute(stmt)
        except sqlite3.DatabaseError as exc:
            if db is not None:
                db.close()
            raise KnownError(f"cannot open the kiosk outbox {path}: {exc}") from exc
        self._db = db
        self._writer = Writer(self._db, self._db, name="a2d-kiosk-outbox", what=f"the kiosk outbox {path}")
        self._writer.start()

    def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` on the outbox's thread, in a transaction; its result once committed."""
        return self._writer.call(fn)

    def put(self, kind: str, body: dict[str, Any]) -> str:
        """Commit one item (its ``body["id"]`` is the key); returns the id. A repeated id is kept once."""
        if kind not in KINDS:
            raise ValueError(f"outbox kind must be one of {KINDS}, not {kind!r}")
        item_id = str(body["id"])
        row = (item_id, kind, json.dumps(body, ensure_ascii=False), utc_now())
        self._run(
            lambda db: db.execute(
                "INSERT INTO outbox (id, kind, body, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                row,
            )
        )
        return item_id

    def peek(self, limit: int = 50) -> list[Item]:
        """The oldest waiting items, in the order they were put."""
        rows = self._run(
            lambda db: db.execute(
                "SELECT id, kind, body, attempts FROM outbox ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
        )
        return [Item(r[0], r[1], json.loads(r[2]), r[3]) for r in rows]

    def done(self, item_id: str) -> None:
        """The agent has the item: forget it."""
        self._run(lambda db: db.execute("DELETE FROM outbox WHERE id = ?", (item_id,)))

    def failed(self, item_id: str, error: str) -> None:
        """A delivery attempt failed (agent down, 5xx): count it, keep the item."""
        self._run(
            lambda db: db.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?",
                (error[:300], item_id),
            )
        )

    def refuse(self, item_id: str, reason: str) -> None:
        """The agent refused the item as malformed (400): set it aside, never send it again."""
        at = utc_now()

        def move(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT OR REPLACE INTO refused (id, kind, body, reason, at)"
                " SELECT id, kind, body, ?, ? FROM outbox WHERE id = ?",
                (reason[:300], at, item_id),
            )
            db.execute("DELETE FROM outbox WHERE id = ?", (item_id,))

        self._run(move)

    def prune(self, refused_days: int, now: datetime | None = None) -> tuple[int, int]:
        """Delete refused items older than ``refused_days`` (since refused) and every item whose tap
        is older than :data:`MAX_AGE_DAYS`; returns how many (refused, never delivered) went."""
        now = now or datetime.now(UTC)
        refused_cut, age_cut = (
            iso(now - timedelta(days=refused_days)),
            iso(now - timedelta(days=MAX_AGE_DAYS)),
        )

        def delete(db: sqlite3.Connection) -> tuple[int, int]:
            refused = db.execute(
                "DELETE FROM refused WHERE at < ? OR json_extract(body, '$.at') < ?", (refused_cut, age_cut)
            ).rowcount
            waiting = db.execute("DELETE FROM outbox WHERE created_at < ?", (age_cut,)).rowcount
            return refused, waiting

        return self._run(delete)

    def count(self) -> int:
        return int(self._run(lambda db: db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]))

    def refused_count(self) -> int:
        return int(self._run(lambda db: db.execute("SELECT COUNT(*) FROM refused").fetchone()[0]))

    def close(self) -> None:
        """Finish what was handed over, end the outbox's thread, close the file (any number of times)."""
        self._writer.close()
        self._db.close()
