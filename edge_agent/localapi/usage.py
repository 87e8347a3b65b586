"""Kiosk usage counters: one report per kiosk and day, stored as an event of the stream ``usage``
so that it reaches the sync server through the outbox like every other record.

The row has source ``kiosk``, kind ``usage`` and the key ``usage:<id>`` (the report's UUID: a report
sent again is stored once); ``decoded`` holds the report (kiosk, day, counters) and nothing about a
visit; it carries no measurements (open data reads the server's daily totals, not hourly rows).
"""

from __future__ import annotations

import json
import sqlite3

from a2d.localapi import UsageReport

from .. import eventrow
from ..eventrow import EventRow

SOURCE = "kiosk"
KIND = "usage"
STREAM = "usage"


def store(db: sqlite3.Connection, report: UsageReport, now: str) -> bool:
    """Insert ``report`` (on the writer thread, inside its transaction); ``False`` if it was there."""
    row = EventRow(
        id=None, key=f"usage:{report.id}", source=SOURCE, kind=KIND, stream=STREAM, dev_eui=None,
        device_name=report.kiosk_id, application=None, received_at=now, stored_at=now, f_cnt=None,
        f_port=None, codec=None,
        decoded=json.dumps(report.as_json(), ensure_ascii=False, separators=(",", ":")),
        decode_errors="[]", measurements="[]", raw=None, meta="{}",
    )  # fmt: skip
    return db.execute(eventrow.INSERT, row.params()).rowcount == 1
