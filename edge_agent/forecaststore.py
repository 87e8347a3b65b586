"""Forecasts in the edge database: the counts they start from, and the latest forecast per series.

The runner (:mod:`edge_agent.forecast`) reads hourly counts from the stored events' canonical
measurements and writes its forecast through the agent's writer thread; the local API reads the
forecast back (:mod:`edge_agent.localapi.forecast`). No onnxruntime here.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from a2d import timeutil
from a2d.hourgrid import epoch_hour

#: the quantity whose hourly sums feed the forecast
QUANTITY = "people_in"


def hourly_counts(
    db: sqlite3.Connection, first_hour: int, end_hour: int, counter: str = "", quantity: str = QUANTITY
) -> dict[int, float]:
    """People counted per UTC epoch hour in ``[first_hour, end_hour)``: the ``quantity``
    measurements of every stored event (every counter and line summed), or of one counter
    (``counter``: its DevEUI). Hours without any such measurement are absent (not zero)."""
    since = timeutil.iso(datetime.fromtimestamp(first_hour * 3600, UTC))
    until = timeutil.iso(datetime.fromtimestamp(end_hour * 3600, UTC))
    sql = (
        "SELECT e.received_at, json_extract(m.value, '$.value') FROM events e, json_each(e.measurements) m"
        " WHERE e.received_at >= ? AND e.received_at < ? AND json_extract(m.value, '$.quantity') = ?"
    )
    args: list[Any] = [since, until, quantity]
    if counter:
        sql += " AND e.dev_eui = ?"
        args.append(counter.lower())
    out: dict[int, float] = {}
    for at, value in db.execute(sql, args):
        if not isinstance(value, int | float):
            continue
        try:
            h = epoch_hour(timeutil.parse(at))
        except ValueError:
            continue
        out[h] = out.get(h, 0.0) + float(value)
    return out


@dataclass(frozen=True)
class StoredHour:
    hour: int  # UTC epoch hour
    p10: float
    p50: float
    p90: float
    observed: float | None = None


@dataclass(frozen=True)
class StoredForecast:
    series: str
    tz: str
    generated_at: str
    origin: str
    model_version: str
    hours: Sequence[StoredHour]
    location: str = ""
    model_type: str = ""
    trained_at: str = ""
    busy_threshold: float | None = None
    nowcast: dict[str, Any] = field(default_factory=dict)
    transparency: dict[str, Any] = field(default_factory=dict)


def save(db: sqlite3.Connection, fc: StoredForecast) -> None:
    """Replace the stored forecast of ``fc.series`` (run on the writer thread, in its transaction)."""
    db.execute(
        "INSERT INTO forecast_runs (series, location, tz, generated_at, origin, model_version, model_type,"
        " trained_at, busy_threshold, nowcast, transparency) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (series) DO UPDATE SET location = excluded.location, tz = excluded.tz,"
        " generated_at = excluded.generated_at, origin = excluded.origin, model_version = excluded.model_version,"
        " model_type = excluded.model_type, trained_at = excluded.trained_at,"
        " busy_threshold = excluded.busy_threshold, nowcast = excluded.nowcast, transparency = excluded.transparency",
        (
            fc.series, fc.location, fc.tz, fc.generated_at, fc.origin, fc.model_version, fc.model_type,
            fc.trained_at, fc.busy_threshold, json.dumps(fc.nowcast), json.dumps(fc.transparency),
        ),
    )  # fmt: skip
    db.execute("DELETE FROM forecast_hours WHERE series = ?", (fc.series,))
    db.executemany(
        "INSERT INTO forecast_hours (series, hour, p10, p50, p90, observed) VALUES (?, ?, ?, ?, ?, ?)",
        [(fc.series, h.hour, h.p10, h.p50, h.p90, h.observed) for h in fc.hours],
    )


def clear(db: sqlite3.Connection) -> int:
    """Remove every stored forecast (the model is gone or unusable); returns how many series."""
    db.execute("DELETE FROM forecast_hours")
    return db.execute("DELETE FROM forecast_runs").rowcount


def latest(db: sqlite3.Connection, from_hour: int) -> StoredForecast | None:
    """The most recently generated forecast, with its hours from ``from_hour`` on; ``None`` when
    there is none or none of its hours is that late."""
    row = db.execute(
        "SELECT series, location, tz, generated_at, origin, model_version, model_type, trained_at,"
        " busy_threshold, nowcast, transparency FROM forecast_runs ORDER BY generated_at DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    hours = [
        StoredHour(int(r[0]), float(r[1]), float(r[2]), float(r[3]), None if r[4] is None else float(r[4]))
        for r in db.execute(
            "SELECT hour, p10, p50, p90, observed FROM forecast_hours WHERE series = ? AND hour >= ? ORDER BY hour",
            (row[0], from_hour),
        )
    ]
    if not hours:
        return None
    return StoredForecast(
        series=row[0], location=row[1], tz=row[2], generated_at=row[3], origin=row[4], model_version=row[5],
        model_type=row[6], trained_at=row[7], busy_threshold=row[8], nowcast=json.loads(row[9]),
        transparency=json.loads(row[10]), hours=hours,
    )  # fmt: skip
