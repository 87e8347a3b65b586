"""The outbox: every stored event waits here until the sync server has acknowledged it.

Each stream keeps a cursor, the id of its last acknowledged event; everything above it is
pending. A batch is read in id order and the cursor moves only after the server acknowledged
the whole batch, so a restart resumes exactly where it stopped and nothing is skipped. A record
the server refuses as malformed, or one that alone keeps making the server fail while others go
through (:mod:`.syncsplit`), is set aside in ``sync_refused`` with the reason (kept locally,
counted in the status with the last reason) so that it cannot block its stream.

Reads use any connection; the ``advance``/``refuse``/``failed`` writes run on the writer thread.
"""

from __future__ import annotations

import sqlite3
from typing import Any, NamedTuple

from a2d import syncwire

from . import eventrow


class Pending(NamedTuple):
    """One event read for upload: its id (for the cursor) and its record as JSON text."""

    event_id: int
    stream: str
    record_id: str
    text: str


#: the distinct streams by one index seek per stream (events_stream_id), in their order; a plain
#: ``SELECT DISTINCT`` reads every event's index entry, which after an outage of a million events
#: took the sync client about half a second at the start of each round, with no upload on its way
_STREAMS = (
    "WITH RECURSIVE s (stream) AS (SELECT MIN(stream) FROM events"
    " UNION ALL SELECT (SELECT MIN(stream) FROM events WHERE stream > s.stream) FROM s WHERE s.stream IS NOT NULL)"
    " SELECT stream FROM s WHERE stream IS NOT NULL"
)


def streams(db: sqlite3.Connection) -> list[str]:
    """Streams that have events, in a stable order (by name)."""
    return [r[0] for r in db.execute(_STREAMS)]


def cursor(db: sqlite3.Connection, stream: str) -> int:
    row = db.execute("SELECT cursor FROM sync_streams WHERE stream = ?", (stream,)).fetchone()
    return int(row[0]) if row else 0


_ID, _KEY, _RECEIVED_AT = (eventrow.COLUMNS.index(c) for c in ("id", "key", "received_at"))
_PENDING = "stream = ? AND id > ? AND id NOT IN (SELECT event_id FROM sync_refused) ORDER BY id LIMIT ?"


def read_batch(
    db: sqlite3.Connection, stream: str, max_records: int, max_bytes: int, after: int | None = None
) -> list[Pending]:
    """The next pending events of ``stream`` in id order, bounded by count and bytes.

    ``after`` reads on from an event id instead of the stream's cursor (to prepare the next
    batch while the current one is still on its way).
    """
    rows = eventrow.select_values(
        db, _PENDING, (stream, cursor(db, stream) if after is None else after, max_records)
    )
    out: list[Pending] = []
    total = 0
    record, event_json = syncwire.record_json, eventrow.event_json_of
    for values in rows:
        # its record: the key is the record_id, the time the network server received it the ts, the
        # payload the event as ``a2d edge events --json`` prints it
        key = values[_KEY]
        text = record(key, stream, values[_RECEIVED_AT] or "", event_json(values))
        if out and total + len(text) > max_bytes:
            break
        total += len(text)
        out.append(Pending(values[_ID], stream, key, text))
    return out


def advance(db: sqlite3.Connection, stream: str, upto: int, sent: int, at: str) -> None:
    """The server acknowledged ``stream`` up to event ``upto``: move its cursor (never back)."""
    db.execute(
        "INSERT INTO sync_streams (stream, cursor, sent, last_success_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (stream) DO UPDATE SET cursor = MAX(cursor, excluded.cursor),"
        " sent = sent + excluded.sent, last_success_at = excluded.last_success_at",
        (stream, upto, sent, at),
    )


def refuse(db: sqlite3.Connection, event_id: int, stream: str, reason: str, at: str) -> None:
    """Set a record the server refused aside, so that it cannot block its stream."""
    db.execute(
        "INSERT OR REPLACE INTO sync_refused (event_id, stream, reason, at) VALUES (?, ?, ?, ?)",
        (event_id, stream, reason[:500], at),
    )
    failed(db, stream, f"record {event_id} refused by the server: {reason}"[:500], at)


def failed(db: sqlite3.Connection, stream: str, error: str, at: str) -> None:
    db.execute(
        "INSERT INTO sync_streams (stream, last_error, last_error_at) VALUES (?, ?, ?)"
        " ON CONFLICT (stream) DO UPDATE SET last_error = excluded.last_error, last_error_at = excluded.last_error_at",
        (stream, error[:500], at),
    )


def status(db: sqlite3.Connection) -> list[dict[str, Any]]:
    """Per stream: pending, oldest pending, sent, last success, last error, refused records (how
    many, the reason the last one was refused, and when)."""
    out = []
    for stream in streams(db):
        c = cursor(db, stream)
        pending, oldest = db.execute(
            "SELECT COUNT(*), MIN(received_at) FROM events WHERE stream = ? AND id > ?"
            " AND id NOT IN (SELECT event_id FROM sync_refused)",
            (stream, c),
        ).fetchone()
        row = db.execute(
            "SELECT sent, last_success_at, last_error, last_error_at, thinned FROM sync_streams WHERE stream = ?",
            (stream,),
        ).fetchone()
        refused = db.execute("SELECT COUNT(*) FROM sync_refused WHERE stream = ?", (stream,)).fetchone()[0]
        last = db.execute(
            "SELECT reason, at FROM sync_refused WHERE stream = ? ORDER BY at DESC, event_id DESC LIMIT 1",
            (stream,),
        ).fetchone()
        out.append(
            {
                "stream": stream,
                "pending": pending,
                "oldest_pending": oldest,
                "sent": row[0] if row else 0,
                "last_success_at": row[1] if row else None,
                "last_error": row[2] if row else None,
                "last_error_at": row[3] if row else None,
                "refused": refused,
                "refused_reason": last[0] if last else None,
                "refused_at": last[1] if last else None,
                "thinned": row[4] if row else 0,
            }
        )
    return out
