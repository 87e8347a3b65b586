"""``GET /v1/status``: what a Lotse needs to know about the agent behind the kiosk."""

from __future__ import annotations

import sqlite3

from a2d import __version__
from a2d.localapi import Status

from .. import outbox
from . import helpdesk


def sync_state(db: sqlite3.Connection) -> tuple[bool, str | None]:
    """``(online, last_sync)`` from the outbox's record of uploads.

    Online means the latest upload attempt of any stream reached the server and was
    acknowledged (its success is not older than the latest failure). ``last_sync`` is the time
    of the latest acknowledged upload.
    """
    success, error = db.execute(
        "SELECT MAX(last_success_at), MAX(last_error_at) FROM sync_streams"
    ).fetchone()
    return success is not None and (error is None or success >= error), success


def status(
    db: sqlite3.Connection, device_id: str, sync_enabled: bool, live_online: bool | None = None
) -> Status:
    """The :class:`a2d.localapi.Status` of this agent; without sync nothing is pending or online.

    ``live_online`` is the sync client's own view (heartbeats included, so it also goes offline
    while nothing waits for upload); the outbox's record decides only before its first try.
    """
    online, last_sync = sync_state(db) if sync_enabled else (False, None)
    if sync_enabled and live_online is not None:
        online = live_online
    pending = {s["stream"]: int(s["pending"]) for s in outbox.status(db)} if sync_enabled else {}
    return Status(
        device_id=device_id,
        online=online,
        last_sync=last_sync,
        pending=pending,
        open_help_requests=helpdesk.open_count(db),
        version=__version__,
    )
