"""The bridge's own SQLite database: the spool of events not yet acknowledged by the broker, and
each serial box's dedup window.

WAL mode and ``synchronous=FULL``: a press is acknowledged to its box (or blinks its LED) only
after the transaction that spooled it is on disk, so a ``kill -9`` or a power cut loses nothing
that was acknowledged. Only the writer thread (:mod:`.writer`) calls the methods that write;
readers open their own connection.

The dedup windows are kept in memory too and change before the commit: after a rollback (the
writer calls :meth:`Spool.mark_stale`) the next frame reloads them from the file, which is the truth.
"""

from __future__ import annotations

import logging
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path

from a2d import sqlmigrations
from a2d.buttons import ButtonEvent
from a2d.errors import KnownError

from .dedup import BoxWindow, Change
from .frames import Frame

log = logging.getLogger(__name__)


def _m001_spool(db: sqlite3.Connection) -> None:
    db.execute(
        "CREATE TABLE spool (id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, payload BLOB NOT NULL,"
        " created_at TEXT NOT NULL)"
    )
    db.execute("CREATE TABLE boxes (box_id TEXT PRIMARY KEY, last_seq INTEGER, updated_at TEXT NOT NULL)")
    db.execute(
        "CREATE TABLE seen (box_id TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (box_id, seq)) WITHOUT ROWID"
    )


MIGRATIONS: tuple[tuple[str, sqlmigrations.Migration], ...] = (("001_spool", _m001_spool),)


class SpoolError(KnownError):
    """The spool database cannot be opened or migrated."""


@dataclass(frozen=True, slots=True)
class Pending:
    id: int
    topic: str
    payload: bytes


def connect(path: Path | str, *, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        db = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True, check_same_thread=False)
    else:
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
    db.execute("PRAGMA busy_timeout = 30000")
    return db


def _migrate(db: sqlite3.Connection) -> None:
    sqlmigrations.apply(db, MIGRATIONS, "spool")


def new_id() -> str:
    return uuid.uuid4().hex


class Spool:
    """Write side of ``bridge.db``; build it, then hand it to the writer thread."""

    def __init__(self, path: Path | str, window: int = 1024) -> None:
        self.path = path
        self.window = window
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = connect(path)
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA synchronous = FULL")
            _migrate(self.db)
            self.boxes = self._load_boxes()
            self.stale = False
        except sqlite3.Error as exc:
            raise SpoolError(f"cannot open the spool database {path}: {exc}") from exc

    def _load_boxes(self) -> dict[str, BoxWindow]:
        boxes = {
            box_id: BoxWindow(self.window, last)
            for box_id, last in self.db.execute("SELECT box_id, last_seq FROM boxes")
        }
        for box_id, seq in self.db.execute("SELECT box_id, seq FROM seen"):
            boxes.setdefault(box_id, BoxWindow(self.window)).seen.add(seq)
        return boxes

    def close(self) -> None:
        self.db.close()

    # -- called by the writer thread inside its transaction ------------------------------------
    def _persist(self, box_id: str, change: Change, at: str) -> None:
        db = self.db
        if change.last is not None:
            db.execute(
                "INSERT INTO boxes (box_id, last_seq, updated_at) VALUES (?, ?, ?) ON CONFLICT (box_id)"
                " DO UPDATE SET last_seq = excluded.last_seq, updated_at = excluded.updated_at",
                (box_id, change.last, at),
            )
        if change.removed:
            db.executemany(
                "DELETE FROM seen WHERE box_id = ? AND seq = ?", [(box_id, s) for s in change.removed]
            )
        if change.added:
            db.executemany(
                "INSERT OR IGNORE INTO seen (box_id, seq) VALUES (?, ?)", [(box_id, s) for s in change.added]
            )

    def box(self, box_id: str) -> BoxWindow:
        w = self.boxes.get(box_id)
        if w is None:
            w = self.boxes[box_id] = BoxWindow(self.window)
        return w

    def accept_frame(self, frame: Frame, at: str) -> bool:
        """Spool a press/hold/battery frame, or note a hello. ``False``: a duplicate, nothing stored.

        The in-memory window changes before the commit; if the commit fails, it is reloaded first.
        """
        if self.stale:
            self.reload()
        w = self.box(frame.box_id)
        if frame.event == "hello":
            self._persist(frame.box_id, w.hello(frame.seq), at)
            return True
        change = w.accept(frame.seq)
        if change is None:
            return False
        self._persist(frame.box_id, change, at)
        self.add(ButtonEvent(new_id(), frame.box_id, frame.button, frame.event, at, frame.seq))
        return True

    def add(self, ev: ButtonEvent) -> None:
        self.db.execute(
            "INSERT INTO spool (topic, payload, created_at) VALUES (?, ?, ?)", (ev.topic, ev.to_json(), ev.at)
        )

    def delete(self, ids: list[int]) -> None:
        self.db.executemany("DELETE FROM spool WHERE id = ?", [(i,) for i in ids])

    def mark_stale(self) -> None:
        """A transaction failed: the windows in memory may hold what was rolled back."""
        self.stale = True

    def reload(self) -> None:
        """Throw away in-memory windows after a failed transaction (the database is the truth)."""
        self.boxes = self._load_boxes()
        self.stale = False


def read_pending(db: sqlite3.Connection, after: int, limit: int) -> list[Pending]:
    """The spooled events after ``after`` in order (any connection; readers use their own)."""
    rows = db.execute(
        "SELECT id, topic, payload FROM spool WHERE id > ? ORDER BY id LIMIT ?", (after, limit)
    ).fetchall()
    return [Pending(r[0], r[1], bytes(r[2])) for r in rows]


def count_pending(db: sqlite3.Connection) -> int:
    return int(db.execute("SELECT COUNT(*) FROM spool").fetchone()[0])
