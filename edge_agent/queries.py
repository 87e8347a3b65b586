"""Read side of the edge database: events (as rows, or as their JSON form), quarantine and status."""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from a2d import timeutil

from . import bundles, eventrow, outbox
from .eventrow import EventRow


def event_rows(
    db: sqlite3.Connection,
    since: str | None = None,
    dev_eui: str | None = None,
    kind: str | None = None,
    limit: int | None = None,
    after: int | None = None,
) -> Iterator[EventRow]:
    """Stored events in arrival order, filtered; streamed row by row."""
    since_n = timeutil.normalise(since) if since else None
    dev = dev_eui.lower() if dev_eui else None
    return eventrow.select(
        db,
        "(?1 IS NULL OR received_at >= ?1) AND (?2 IS NULL OR dev_eui = ?2) AND (?3 IS NULL OR kind = ?3)"
        " AND id > ?5 ORDER BY id LIMIT ?4",
        (since_n, dev, kind, limit or -1, after or 0),
    )


def events(db: sqlite3.Connection, **filters: Any) -> Iterator[dict[str, Any]]:
    """:func:`event_rows` (the same ``filters``) as objects: each event's JSON form
    (:func:`.eventrow.event_json`) read back."""
    for row in event_rows(db, **filters):
        yield json.loads(eventrow.event_json(row))


def quarantine(db: sqlite3.Connection, limit: int | None = None) -> Iterator[dict[str, Any]]:
    sql = "SELECT id, source, topic, reason, size, raw, received_at FROM quarantine ORDER BY id"
    args: list[Any] = []
    if limit:
        sql += " LIMIT ?"
        args.append(limit)
    for row in db.execute(sql, args):
        d = dict(row)
        d["raw"] = base64.b64encode(d["raw"]).decode()
        yield d


def status(
    db: sqlite3.Connection, now: datetime | None = None, state: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The agent's heartbeat, each source's state and counts, and table sizes.

    ``state`` is the running agent's state file (``edge_agent.statefile``): its heartbeat goes on
    while the disk is full, and it says since when the disk is full and why (``full``).
    """
    now = now or datetime.now(UTC)
    agent = db.execute("SELECT device_id, pid, version, started_at, heartbeat_at FROM agent").fetchone()
    out: dict[str, Any] = {"agent": None, "sources": [], "counts": {}, "full": None}
    if agent is not None:
        a = dict(agent)
        st = state or {}
        current = str(st.get("heartbeat_at", "")) >= a["heartbeat_at"]  # the state file's is newer
        if current:
            a["heartbeat_at"], a["pid"] = st["heartbeat_at"], st.get("pid", a["pid"])
        age = (now - timeutil.parse(a["heartbeat_at"])).total_seconds()
        a["heartbeat_age_s"] = round(age, 1)
        a["running"] = age < 30
        out["agent"] = a
        if current and a["running"]:
            out["full"] = st.get("full")
    for row in db.execute("SELECT * FROM sources ORDER BY name"):
        s = dict(row)
        s["connected"] = bool(s["connected"]) and bool(out["agent"] and out["agent"]["running"])
        s["durable"] = s["qos"] >= 1
        out["sources"].append(s)
    out["counts"] = {
        "events": db.execute("SELECT COUNT(*) FROM events").fetchone()[0],
        "quarantine": db.execute("SELECT COUNT(*) FROM quarantine").fetchone()[0],
        "devices": db.execute("SELECT COUNT(*) FROM devices").fetchone()[0],
    }
    out["streams"] = {r[0]: r[1] for r in db.execute("SELECT stream, COUNT(*) FROM events GROUP BY stream")}
    # votes (kiosks and feedback buttons) that count, and the feedback buttons' kept inside their cooldown
    counted = dict(
        db.execute("SELECT counted, COUNT(*) FROM events WHERE stream = 'feedback' GROUP BY counted")
    )
    out["votes"] = {"counted": counted.get(1, 0), "not_counted": counted.get(0, 0)}
    out["sync"] = outbox.status(db)
    out["bundles"] = bundles.status(db)
    return out
