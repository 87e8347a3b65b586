"""Retention: single records older than their stream's ``retention.<stream>_days`` are deleted.

What the transparency records promise citizens ("single answers at most 400 days, totals
indefinitely") holds on the server too: the hourly aggregates and feedback tallies a record was
counted into stay; the record itself goes. The days count from the event's time (the record's
``ts``), so a record uploaded late after an outage goes when its event is old, not a year after
it arrived (see ``db/_spans.py``); a record whose time lies after its arrival counts from its
arrival. The bundles that
were replaced by newer ones go after ``retention.bundle_history_days``; the console's help calls
(``help_calls``) go with the ``help`` stream's days, counted from the time the call came. A running server prunes
at start and then hourly; ``a2d server prune`` does it once (for cron, or before a backup).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import timedelta

from starlette.concurrency import run_in_threadpool

from a2d import logs, timeutil

from . import helpcalls
from .db import Database, DatabaseError

log = logging.getLogger(__name__)

#: seconds between two retention runs of a running server
INTERVAL_S = 3600.0


def cutoffs(retention_days: Mapping[str, int], now: str) -> dict[str, str]:
    """Stream -> the ISO time before which its records go; streams kept forever (0 days) are left out."""
    at = timeutil.parse(now)
    return {
        stream: timeutil.iso(at - timedelta(days=days)) for stream, days in retention_days.items() if days > 0
    }


#: the key of :func:`prune`'s answer that counts the replaced bundles removed
BUNDLE_HISTORY = "bundle_history"


def prune(
    db: Database, retention_days: Mapping[str, int], now: str | None = None, bundle_history_days: int = 400
) -> dict[str, int]:
    """Delete what is past its retention; per stream (and ``bundle_history``), how many went
    (logged when any)."""
    now = now or timeutil.utc_now()
    limits = cutoffs(retention_days, now)
    removed = db.prune_records(limits)
    if helpcalls.STREAM in limits and (calls := helpcalls.prune(db, limits[helpcalls.STREAM])):
        removed["help_calls"] = calls
    if bundle_history_days > 0:
        old = db.prune_bundle_history(cutoffs({BUNDLE_HISTORY: bundle_history_days}, now)[BUNDLE_HISTORY])
        if old:
            removed[BUNDLE_HISTORY] = old
    if removed:
        log.info(
            "retention removed %d records (%s)",
            sum(removed.values()),
            ", ".join(f"{stream} {n}" for stream, n in sorted(removed.items())),
        )
    return removed


async def run(
    db: Database, retention_days: Mapping[str, int], once: logs.Once, bundle_history_days: int = 400
) -> None:
    """Prune now and every :data:`INTERVAL_S` until cancelled; a failing run is logged once."""
    while True:
        try:
            await run_in_threadpool(prune, db, retention_days, None, bundle_history_days)
        except DatabaseError as exc:
            once.failed("retention", "retention could not prune: %s", exc)
        else:
            once.recovered("retention", "retention prunes again")
        await asyncio.sleep(INTERVAL_S)
