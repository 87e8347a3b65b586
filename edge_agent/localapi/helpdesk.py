"""Help requests: a citizen asked for a Lotse at a kiosk. No citizen data, only kiosk, topic and times.

A request lives in ``help_requests`` (its state, for the kiosks' Lotsen view); its opening and its
closing also go into the outbox as events of the ``help`` stream (source ``kiosk``, kinds
``help.open`` and ``help.close``, keys ``help:<id>:open`` and ``help:<id>:close``, ``decoded`` the
request as :func:`requests` lists it plus ``closed_by``), so that the sync server learns of both and
shows the call on its console (``/console/help``). A call closed there comes back on the live stream
(``help_closed`` of :class:`a2d.livewire.Snapshot`) and is closed here by :func:`close_from_server`;
closing twice changes nothing and sends nothing twice.

Writes (:func:`open_request`, :func:`close`) run on the writer thread; the reads take any connection.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import Any

from a2d.localapi import HelpRequest

from .. import eventrow
from ..eventrow import EventRow

STREAM = "help"
SOURCE = "kiosk"
#: who closed a request, as its ``help.close`` record says
BY_KIOSK = "kiosk"
BY_SERVER = "server"

STATES = ("open", "all")
#: most requests one listing returns, newest first
LIST_LIMIT = 200
_COLUMNS = ("id", "kiosk_id", "topic", "at", "state", "closed_at")


def _record(db: sqlite3.Connection, request_id: str, kind: str, now: str, closed_by: str = "") -> None:
    """The outbox event of the request as it stands now (inside the caller's transaction)."""
    found = db.execute(
        f"SELECT {', '.join(_COLUMNS)} FROM help_requests WHERE id = ?",  # noqa: S608 - our names
        (request_id,),
    ).fetchone()
    doc = dict(zip(_COLUMNS, found, strict=True))
    if closed_by:
        doc["closed_by"] = closed_by
    row = EventRow(
        id=None, key=f"help:{request_id}:{kind}", source=SOURCE, kind=f"help.{kind}", stream=STREAM,
        dev_eui=None, device_name=doc["kiosk_id"], application=None,
        received_at=doc["at"] if kind == "open" else now, stored_at=now, f_cnt=None, f_port=None,
        codec=None, decoded=json.dumps(doc, ensure_ascii=False, separators=(",", ":")),
        decode_errors="[]", measurements="[]", raw=None, meta="{}",
    )  # fmt: skip
    db.execute(eventrow.INSERT, row.params())


def open_request(db: sqlite3.Connection, req: HelpRequest, now: str | None = None) -> bool:
    """Store a new open request and its ``help.open`` record; ``False`` if a request with this id
    exists already (then nothing is written)."""
    cur = db.execute(
        "INSERT INTO help_requests (id, kiosk_id, topic, at, state) VALUES (?, ?, ?, ?, 'open')"
        " ON CONFLICT (id) DO NOTHING",
        (req.id, req.kiosk_id, req.topic, req.at),
    )
    if cur.rowcount != 1:
        return False
    _record(db, req.id, "open", now or req.at)
    return True


def close(db: sqlite3.Connection, request_id: str, now: str, by: str = BY_KIOSK) -> str | None:
    """Close a request and write its ``help.close`` record: ``"closed"`` now, ``"already"`` if it was
    closed (nothing is written), ``None`` if there is none."""
    cur = db.execute(
        "UPDATE help_requests SET state = 'closed', closed_at = ? WHERE id = ? AND state = 'open'",
        (now, request_id),
    )
    if cur.rowcount:
        _record(db, request_id, "close", now, by)
        return "closed"
    row = db.execute("SELECT 1 FROM help_requests WHERE id = ?", (request_id,)).fetchone()
    return None if row is None else "already"


def close_from_server(db: sqlite3.Connection, request_ids: Iterable[str], now: str) -> list[str]:
    """Close the requests staff closed on the server (the live stream's ``help_closed``); the ids of
    those that were open here. A request closed here already still gets a ``help.close`` record
    if it has none (so that the server stops naming it); an unknown id is left alone."""
    closed = []
    for request_id in request_ids:
        outcome = close(db, request_id, now, BY_SERVER)
        if outcome == "closed":
            closed.append(request_id)
        elif outcome == "already":
            have = db.execute("SELECT 1 FROM events WHERE key = ?", (f"help:{request_id}:close",)).fetchone()
            if have is None:  # closed before this version sent records
                _record(db, request_id, "close", now, BY_SERVER)
    return closed


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
