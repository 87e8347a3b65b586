"""Proof of display: the latest :class:`a2d.localapi.DisplayReport` of each kiosk of this agent.

A kiosk reports every few minutes what its screen shows (``POST /v1/display``); the agent keeps
one row per kiosk (``kiosk_displays``), replaced by the next report, and the sync client sends the
newest :data:`HEARTBEAT_LIMIT` rows with its heartbeat, so the server sees a screen that froze or a
kiosk that went away. :func:`store` runs on the writer thread; the reads take any connection.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from typing import Any

from a2d import timeutil
from a2d.localapi import DisplayReport

#: the most kiosks one heartbeat reports (the server takes no more, see ``a2d.syncwire``)
HEARTBEAT_LIMIT = 16
#: days after its last report that a kiosk is no longer sent with the heartbeat
FORGET_DAYS = 7
_COLUMNS = ("kiosk_id", "page", "frames", "hash", "changed_at", "mode", "wall", "at", "reported_at")


def store(db: sqlite3.Connection, kiosk_id: str, report: DisplayReport, now: str) -> None:
    """Keep ``report`` as ``kiosk_id``'s latest, received at ``now`` (the agent's clock)."""
    db.execute(
        f"INSERT OR REPLACE INTO kiosk_displays ({', '.join(_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
        (kiosk_id, report.page, report.frames, report.hash, report.changed_at, report.mode, int(report.wall),
         report.at, now),
    )  # fmt: skip


def latest(db: sqlite3.Connection, limit: int = HEARTBEAT_LIMIT) -> list[dict[str, Any]]:
    """The latest report of each kiosk, the most recently received first, at most ``limit``."""
    rows = db.execute(
        f"SELECT {', '.join(_COLUMNS)} FROM kiosk_displays ORDER BY reported_at DESC, kiosk_id LIMIT ?",  # noqa: S608
        (limit,),
    )
    out = []
    for r in rows:
        row = dict(zip(_COLUMNS, r, strict=True))
        row["wall"] = bool(row["wall"])
        out.append(row)
    return out


def for_heartbeat(db: sqlite3.Connection, now: str) -> list[dict[str, Any]]:
    """What the heartbeat carries of each kiosk (``a2d.syncwire.Display``): the report without
    the kiosk's own ``at`` (the agent's ``reported_at`` is the time that counts). A kiosk silent
    for :data:`FORGET_DAYS` is left out: taken away for good, the server stops asking after it."""
    cutoff = timeutil.iso(timeutil.parse(now) - timedelta(days=FORGET_DAYS))
    return [{k: v for k, v in row.items() if k != "at"} for row in latest(db) if row["reported_at"] >= cutoff]
