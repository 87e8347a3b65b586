"""One row of the ``events`` table, and the one JSON form of an event.

:class:`EventRow` is the row: its fields are the table's columns, in the table's order, and every
reader and writer of ``events`` goes through it (:data:`COLUMNS`, :data:`INSERT`, :func:`select`),
by name. :func:`event_json` is the event as ``a2d edge events --json`` prints it, which is also the
payload of its record in the sync upload (:mod:`a2d.syncwire`)::

    {"id": 7, "source": "chirpstack", "kind": "up", "stream": "uplink", "dev_eui": "24e124538b223344",
     "device_name": "feedback-rathaus-eg-1", "application": "offenburg-digital",
     "received_at": "2026-06-02T08:15:31.412883Z", "stored_at": "2026-06-02T08:15:31.502114Z",
     "f_cnt": 7, "f_port": 85, "codec": "milesight-iot/ws101", "decoded": {"button": "short"},
     "decode_errors": [], "measurements": [{"quantity": "button_press", ...}], "raw": "/y4B",
     "meta": {"rssi": -87, ...}, "counted": true}

(on one line, without spaces). The ``key`` is not in it: the upload carries it as the record's
``record_id``. ``"counted"`` ends it: ``false`` for an event whose button presses count nowhere
(a vote inside its feedback button's cooldown, or a press that counts through its vote; see
:mod:`edge_agent.buttonvotes`), ``true`` for every other event.

A slotted dataclass rather than a named tuple: the ingest writer builds one per message and fills
in ``stored_at`` when it commits, which a named tuple could only do by building the row again
(measured: about 1.2 µs a message for the dataclass, keyword construction included, against 1.8 µs
for a named tuple and ``_replace``).
"""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from operator import attrgetter
from typing import Any

import orjson


@dataclass(slots=True)
class EventRow:
    """One event as stored; the JSON columns hold JSON text."""

    id: int | None  #: None until stored: SQLite numbers a new row
    key: str  #: the idempotency key (a redelivered message has the same one and is stored once)
    source: str
    kind: str
    stream: str
    dev_eui: str | None
    device_name: str | None
    application: str | None
    #: when the network server received it; None until the writer fills in the commit time, if the
    #: network server sent no time
    received_at: str | None
    stored_at: str | None  #: None until the writer commits it
    f_cnt: int | None
    f_port: int | None
    codec: str | None
    decoded: str | None  #: JSON text, or None when nothing decoded it
    decode_errors: str  #: JSON text: a list of strings
    measurements: str  #: JSON text: a list of canonical measurements
    raw: bytes | None
    meta: str  #: JSON text: an object (gateway, radio, the network server's own decoding)
    #: 0: its button presses do not count (a vote inside its button's cooldown, or a press that
    #: counts through the vote made of it; see :mod:`edge_agent.buttonvotes`); 1 for all else
    counted: int = 1

    def params(self) -> tuple[Any, ...]:
        """The values in column order, for :data:`INSERT`."""
        return _values(self)


#: the columns of ``events`` in the table's order
COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(EventRow))
_values = attrgetter(*COLUMNS)
#: an ``id`` of None lets SQLite number the row; a key stored already stores nothing
INSERT = (
    f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"  # noqa: S608 - our names
    " ON CONFLICT (key) DO NOTHING"
)


def insert(db: sqlite3.Connection, rows: Sequence[EventRow]) -> int:
    """Insert ``rows`` (inside the caller's transaction); returns how many were new."""
    if not rows:
        return 0
    before = db.total_changes
    db.executemany(INSERT, map(_values, rows))
    return db.total_changes - before


def _from_values(_cursor: sqlite3.Cursor, values: tuple[Any, ...]) -> EventRow:
    return EventRow(*values)


def select(db: sqlite3.Connection, where: str, args: Sequence[Any] | dict[str, Any]) -> Iterator[EventRow]:
    """The rows of ``SELECT <COLUMNS> FROM events WHERE <where>``; ``where`` is SQL written in our
    code (with its ``ORDER BY`` and ``LIMIT``), never text from outside: the values go in ``args``."""
    cur = db.cursor()
    cur.row_factory = _from_values
    return cur.execute(f"SELECT {', '.join(COLUMNS)} FROM events WHERE {where}", args)  # noqa: S608


def select_values(
    db: sqlite3.Connection, where: str, args: Sequence[Any] | dict[str, Any]
) -> Iterator[tuple[Any, ...]]:
    """:func:`select` without the rows: each row's values as a tuple in :data:`COLUMNS` order, for
    readers that go through many rows once (the sync upload) and need no :class:`EventRow`."""
    return db.execute(f"SELECT {', '.join(COLUMNS)} FROM events WHERE {where}", args)  # noqa: S608


def event_json(row: EventRow) -> str:
    """The event as JSON text on one line (see the module's docstring).

    The JSON columns are spliced in as stored: we wrote them, so they are JSON already, and parsing
    them to write them again would cost the sync upload more than everything else it does here.
    """
    return event_json_of(_values(row))


def event_json_of(values: Sequence[Any]) -> str:
    """:func:`event_json` of a row's values in :data:`COLUMNS` order (what :func:`select_values` yields)."""
    (id_, _key, source, kind, stream, dev_eui, device_name, application, received_at, stored_at, f_cnt, f_port,
     codec, decoded, decode_errors, measurements, raw, meta, counted) = values  # fmt: skip
    head = orjson.dumps(
        {
            "id": id_,
            "source": source,
            "kind": kind,
            "stream": stream,
            "dev_eui": dev_eui,
            "device_name": device_name,
            "application": application,
            "received_at": received_at,
            "stored_at": stored_at,
            "f_cnt": f_cnt,
            "f_port": f_port,
            "codec": codec,
        }
    ).decode()
    raw_text = "null" if raw is None else f'"{base64.b64encode(raw).decode()}"'
    return (
        f'{head[:-1]},"decoded":{decoded or "null"},"decode_errors":{decode_errors},'
        f'"measurements":{measurements},"raw":{raw_text},"meta":{meta},'
        f'"counted":{"true" if counted else "false"}}}'
    )
