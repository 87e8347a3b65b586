"""Kiosk usage statistics on the server: the daily totals per site, and the open-data rows of them.

A kiosk counts anonymously per day (``kiosk/usage.py``) and hands one report per day to its agent,
which uploads it as a record of the stream ``usage`` (its payload's ``decoded`` is an
:class:`a2d.localapi.UsageReport`). At upload each report's counters become rows of
``kiosk_usage``: device, record, day, the device's site, metric (``sessions``, ``screen``,
``language``), item (the screen or language; ``""`` for sessions) and the count. A report sent
again adds nothing (the key is the record). These rows outlive the record itself (retention drops
single records; the totals stay, as for the feedback tallies).

Open data sums them per day, site, metric and item and leaves out every sum from 1 to
``opendata.min_count - 1``.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from a2d.localapi import LocalApiError, UsageReport
from a2d.syncwire import Checked

from .db import Database, Tx
from .opendata import USAGE_FIELDS
from .payloads import payload_of

log = logging.getLogger(__name__)

STREAM = "usage"
#: days a dataset answer covers unless ``from`` says otherwise, and the most one may ask for
DEFAULT_DAYS = 30
MAX_DAYS = 400
_INSERT = (
    "INSERT INTO kiosk_usage (device_id, record_id, day, site, metric, item, n) VALUES (?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (device_id, record_id, metric, item) DO NOTHING"
)
_DAILY = (
    "SELECT day, site, metric, item, SUM(n) FROM kiosk_usage WHERE day >= ? AND day <= ?"
    " GROUP BY day, site, metric, item ORDER BY day, site, metric, item"
)
FIELDS = USAGE_FIELDS


def report(record: Checked) -> UsageReport | None:
    """The usage report ``record`` holds, None if it holds none (the record is stored all the same)."""
    payload = payload_of(record, STREAM)
    if payload is None:
        return None
    try:
        return UsageReport.from_json(payload.get("decoded"))
    except LocalApiError as exc:
        log.debug("record %s holds no usage report: %s", record.record_id, exc)
        return None


def rows(report: UsageReport) -> list[tuple[str, str, int]]:
    """(metric, item, count) of one report; zero counts left out."""
    out = [("sessions", "", report.sessions)] if report.sessions else []
    out += [("screen", k, n) for k, n in sorted(report.screens.items()) if n]
    out += [("language", k, n) for k, n in sorted(report.languages.items()) if n]
    return out


def store(db: Database, device_id: str, found: list[tuple[str, UsageReport]]) -> None:
    """Add the counters of ``found`` ((record_id, report) pairs of one upload) to ``kiosk_usage``,
    each record once however often it is uploaded."""
    if not found:
        return
    site = next((d.site for d in db.devices() if d.device_id == device_id), "")

    def add(tx: Tx) -> None:
        for record_id, r in found:
            for metric, item, n in rows(r):
                tx.run(_INSERT, (device_id, record_id, r.day, site, metric, item, n))

    db.transact(add)


def window(start: str | None, end: str | None, today: date) -> tuple[date, date]:
    """The days ``[first, last]`` of ``from``/``to`` (``YYYY-MM-DD``); ValueError with the reason."""
    try:
        last = date.fromisoformat(end[:10]) if end else today
        first = date.fromisoformat(start[:10]) if start else last - timedelta(days=DEFAULT_DAYS - 1)
    except ValueError:
        raise ValueError("from and to are days, YYYY-MM-DD") from None
    if first > last:
        raise ValueError("from must not lie after to")
    if (last - first).days >= MAX_DAYS:
        raise ValueError(f"at most {MAX_DAYS} days at once")
    return first, last


def daily(db: Database, first: date, last: date, min_count: int) -> list[dict[str, Any]]:
    """The daily totals per site, metric and item in ``[first, last]``, small sums left out."""
    out = []
    for day, site, metric, item, n in db.query(_DAILY, (first.isoformat(), last.isoformat())):
        if int(n) >= max(min_count, 1):
            out.append({"day": str(day), "site": str(site), "metric": str(metric), "item": str(item),
                        "count": int(n)})  # fmt: skip
    return out
