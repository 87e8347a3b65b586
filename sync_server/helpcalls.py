"""Help calls across offices: the state of every kiosk help request the agents sent.

An agent sends the opening and the closing of a help request as records of the ``help`` stream
(see ``edge_agent/localapi/helpdesk.py``): ``kind`` ``help.open`` or ``help.close``, ``decoded``
the request (``id``, ``kiosk_id``, ``topic``, ``at``, ``state``, ``closed_at``, ``closed_by``). Next to
the records the server keeps one row per request in ``help_calls`` (device, request, the device's
site when the call came, kiosk, topic, times, state), written after the batch is stored; a batch sent
again changes nothing (the first opening and the first closing win).

Staff close a call on the console (``/console/help``): the row is closed with their name, and until
the agent's own ``help.close`` record arrives (``agent_closed_at``), the device's live stream names
the request in ``help_closed`` (:meth:`a2d.livewire.Snapshot`), so that the agent closes it too.
Rows go with the ``help`` stream's retention, counted from the time the call came.

SQL has ``?`` placeholders and the same text on SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from a2d.livewire import MAX_HELP_CLOSED
from a2d.syncwire import Checked

from .db import Database, Tx
from .payloads import payload_of

log = logging.getLogger(__name__)

STREAM = "help"
#: the longest id, kiosk and topic taken (the agent's local API takes 64 characters)
MAX_TEXT = 64
#: open calls one listing shows at most (the newest)
LIST_LIMIT = 500
#: who closed a call when the agent's record says the kiosk or the server did
BY_KIOSK = "kiosk"


class HelpEvent(NamedTuple):
    """The opening or closing of one request, read from an uploaded ``help`` record."""

    device_id: str
    request_id: str
    closing: bool
    kiosk_id: str
    topic: str
    opened_at: str
    closed_at: str
    closed_by: str


@dataclass(frozen=True)
class Call:
    """One row of ``help_calls``."""

    device_id: str
    request_id: str
    site: str
    kiosk_id: str
    topic: str
    opened_at: str
    state: str
    closed_at: str | None
    closed_by: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "device_id": self.device_id,
            "request_id": self.request_id,
            "site": self.site,
            "kiosk_id": self.kiosk_id,
            "topic": self.topic,
            "opened_at": self.opened_at,
            "state": self.state,
            "closed_at": self.closed_at,
            "closed_by": self.closed_by,
        }


def _text(value: Any, limit: int = MAX_TEXT) -> str | None:
    if not isinstance(value, str) or len(value) > limit or not value.isprintable():
        return None
    return value


def event(device_id: str, record: Checked) -> HelpEvent | None:
    """The help event ``record`` holds; None for another stream or a record that holds none (it is
    stored all the same, it just changes no call)."""
    payload = payload_of(record, STREAM)
    if payload is None or payload.get("kind") not in ("help.open", "help.close"):
        return None
    doc = payload.get("decoded")
    if not isinstance(doc, dict):
        return None
    request_id, kiosk, topic = _text(doc.get("id")), _text(doc.get("kiosk_id")), _text(doc.get("topic", ""))
    opened = _text(doc.get("at"), 40)
    if not request_id or kiosk is None or topic is None or not opened:
        return None
    closing = payload["kind"] == "help.close"
    closed_at = _text(doc.get("closed_at"), 40) or (record.ts if closing else "")
    closed_by = _text(doc.get("closed_by") or BY_KIOSK, 200) or BY_KIOSK
    return HelpEvent(device_id, request_id, closing, kiosk, topic, opened, closed_at, closed_by)


_OPEN = (
    "INSERT INTO help_calls (device_id, request_id, site, kiosk_id, topic, opened_at, state, updated_at)"
    " VALUES (?, ?, ?, ?, ?, ?, 'open', ?) ON CONFLICT (device_id, request_id) DO NOTHING"
)
#: the agent closed it (at the kiosk, or after the console did): the first closing time and closer stay
_AGENT_CLOSED = (
    "INSERT INTO help_calls (device_id, request_id, site, kiosk_id, topic, opened_at, state, closed_at,"
    " closed_by, agent_closed_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'closed', ?, ?, ?, ?)"
    " ON CONFLICT (device_id, request_id) DO UPDATE SET state = 'closed',"
    " closed_at = COALESCE(help_calls.closed_at, excluded.closed_at),"
    " closed_by = COALESCE(help_calls.closed_by, excluded.closed_by),"
    " agent_closed_at = COALESCE(help_calls.agent_closed_at, excluded.agent_closed_at),"
    " updated_at = excluded.updated_at"
)


def apply(db: Database, events: Iterable[HelpEvent], now: str) -> int:
    """Bring ``help_calls`` up to date with ``events`` (in upload order) in one transaction; how
    many there were. The site is the device's in the registry now."""
    found = list(events)
    if not found:
        return 0
    sites = {d.device_id: d.site for d in db.devices()}

    def change(tx: Tx) -> None:
        for e in found:
            site = sites.get(e.device_id, "")
            if e.closing:
                tx.run(_AGENT_CLOSED, (e.device_id, e.request_id, site, e.kiosk_id, e.topic, e.opened_at,
                                       e.closed_at, e.closed_by, now, now))  # fmt: skip
            else:
                tx.run(_OPEN, (e.device_id, e.request_id, site, e.kiosk_id, e.topic, e.opened_at, now))

    db.transact(change)
    return len(found)


_COLUMNS = "device_id, request_id, site, kiosk_id, topic, opened_at, state, closed_at, closed_by"


def open_calls(db: Database, limit: int = LIST_LIMIT) -> list[Call]:
    """The open calls, oldest first (the one waiting longest on top)."""
    rows = db.query(
        f"SELECT {_COLUMNS} FROM help_calls WHERE state = ? ORDER BY opened_at, device_id, request_id LIMIT ?",  # noqa: S608 - our names
        ("open", limit),
    )
    return [Call(*row) for row in rows]


def find(db: Database, device_id: str, request_id: str) -> Call | None:
    rows = db.query(
        f"SELECT {_COLUMNS} FROM help_calls WHERE device_id = ? AND request_id = ?",  # noqa: S608 - our names
        (device_id, request_id),
    )
    return Call(*rows[0]) if rows else None


def close(tx: Tx, device_id: str, request_id: str, closed_by: str, now: str) -> bool:
    """Close an open call on the server (in the caller's transaction, with its audit row); whether it
    was open. The device's live stream names it from now on until its agent closed it too."""
    return bool(
        tx.run(
            "UPDATE help_calls SET state = 'closed', closed_at = ?, closed_by = ?, updated_at = ?"
            " WHERE device_id = ? AND request_id = ? AND state = ?",
            (now, closed_by[:200], now, device_id, request_id, "open"),
        )
    )


def closed_on_server(db: Database) -> dict[str, tuple[str, ...]]:
    """Per device, the requests closed on the server whose closing its agent has not reported yet
    (at most :data:`~a2d.livewire.MAX_HELP_CLOSED` each, the newest)."""
    rows = db.query(
        "SELECT device_id, request_id FROM help_calls WHERE state = ? AND agent_closed_at IS NULL"
        " ORDER BY closed_at DESC LIMIT ?",
        ("closed", 20 * MAX_HELP_CLOSED),
    )
    out: dict[str, list[str]] = {}
    for device_id, request_id in rows:
        ids = out.setdefault(str(device_id), [])
        if len(ids) < MAX_HELP_CLOSED:
            ids.append(str(request_id))
    return {device: tuple(sorted(ids)) for device, ids in out.items()}


def prune(db: Database, cutoff: str) -> int:
    """Delete the calls that came before ``cutoff`` (the ``help`` stream's retention)."""
    return int(db.transact(lambda tx: tx.run("DELETE FROM help_calls WHERE opened_at < ?", (cutoff,))))
