"""Help requests: a citizen asked for a Lotse at a kiosk. No citizen data, only kiosk, topic and times.

Writes (:func:`open_request`, :func:`close`) run on the writer thread; the reads take any connection.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from a2d.localapi import HelpRequest

STATES = ("open", "all")
#: most requests one listing returns, newest first
LIST_LIMIT = 200
_COLUMNS = ("id", "kiosk_id", "topic", "at", "state", "closed_at")


def open_request(db: sqlite3.Connection, req: HelpRequest) -> bool:
    """Store a new open request; ``False`` if a request with this id exists already."""
    cur = db.execute(
        "INSERT INTO help_requests (id, kiosk_id, topic, at, state) VALUES (?, ?, ?, ?, 'open')"
        " ON CONFLICT (id) DO NOTHING",
        (req.id, req.kiosk_id, req.topic, req.at),
    )
    return cur.rowcount == 1


def close(db: sqlite3.Connection, request_id: str, now: str) -> str | None:
    """Close a request: ``"closed"`` now, ``"already"`` if it was closed, ``None`` if there is none."""
    cur = db.execute(
        "UPDATE help_requests SET state = 'closed', closed_at = ? WHERE id = ? AND state = 'open'",
        (now, request_id),
    )
    if cur.rowcount:
        return "closed"
    row = db.execute("SELECT 1 FROM help_requests WHERE id = ?", (request_id,)).fetchone()
    return None if row is None else "already"


def requests(db: sqlite3.Connection, state: str = "open") -> list[dict[str, Any]]:
    """Open (or all) requests, newest first, at most :data:`LIST_LIMIT`."""
    rows = db.execute(
        f"SELECT {', '.join(_COLUMNS)} FROM help_requests WHERE ? = 'all' OR state = 'open'"  # noqa: S608
        " ORDER BY at DESC, rowid DESC LIMIT ?",
        (state, LIST_LIMIT),
    )
    return [dict(zip(_COLUMNS, r, strict=True)) for r in rows]


def open_count(db: sqlite3.Connection) -> int:
    return int(db.execute("SELECT COUNT(*) FROM help_requests WHERE state = 'open'").fetchone()[0])
