"""The hourly aggregates in SQLite: which records of an upload are new, the upsert, the open-data reads.

:func:`not_held` and :func:`add` run on the writer thread inside the upload's transaction
(``BEGIN IMMEDIATE``: nobody else writes between the look-up and the insert).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import orjson

from ._base import RecordRow
from ._hourly import BUTTON_PRESS, Hourly, Increment, Tally, Window, suppressed_sql, tallies_sql

_HELD = "SELECT record_id FROM records WHERE device_id = ? AND record_id IN (SELECT value FROM json_each(?))"
_UPSERT = (
    "INSERT INTO measurements_hourly (device_id, sensor, quantity, unit, channel, hour, sensor_name,"
    " readings, value_sum, value_min, value_max) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (device_id, sensor, quantity, unit, channel, hour) DO UPDATE SET"
    " sensor_name = CASE WHEN excluded.sensor_name <> '' THEN excluded.sensor_name ELSE sensor_name END,"
    " readings = readings + excluded.readings, value_sum = value_sum + excluded.value_sum,"
    " value_min = min(value_min, excluded.value_min), value_max = max(value_max, excluded.value_max)"
)
_WINDOW = (
    "hour >= :start AND hour < :end AND (:quantity IS NULL OR quantity = :quantity)"
    " AND (:device IS NULL OR device_id = :device) AND (:sensor IS NULL OR sensor = :sensor)"
)
_HOURLY = (
    "SELECT hour, device_id, sensor, sensor_name, quantity, unit, channel, readings, value_sum, value_min,"  # noqa: S608 - built once from our constants
    f" value_max FROM measurements_hourly WHERE {_WINDOW} AND NOT {suppressed_sql(':min')}"
    " ORDER BY hour, device_id, sensor, quantity, channel, unit LIMIT :limit"
)
_TALLIES = f"{tallies_sql(_WINDOW, ':min')} LIMIT :limit"


def not_held(conn: sqlite3.Connection, rows: Sequence[RecordRow]) -> set[tuple[str, str]]:
    """The ``(device_id, record_id)`` pairs of ``rows`` the database does not hold yet."""
    by_device: dict[str, list[str]] = {}
    for row in rows:
        by_device.setdefault(row[0], []).append(row[1])
    new: set[tuple[str, str]] = set()
    for device_id, record_ids in by_device.items():
        held = {r for (r,) in conn.execute(_HELD, (device_id, orjson.dumps(record_ids).decode()))}
        new.update((device_id, r) for r in record_ids if r not in held)
    return new


def add(conn: sqlite3.Connection, increments: Sequence[Increment]) -> None:
    conn.executemany(_UPSERT, increments)


def _params(window: Window, limit: int, quantity: str | None) -> dict[str, object]:
    day_start, day_end = window.whole_days()
    return {"start": window.start, "end": window.end, "quantity": quantity, "device": window.device_id,
            "sensor": window.sensor, "limit": limit, "min": window.min_count, "day_start": day_start,
            "day_end": day_end}  # fmt: skip


def hourly(conn: sqlite3.Connection, window: Window, limit: int) -> list[Hourly]:
    return [Hourly(*row) for row in conn.execute(_HOURLY, _params(window, limit, window.quantity))]


def tallies(conn: sqlite3.Connection, window: Window, limit: int) -> list[Tally]:
    return [Tally(*row) for row in conn.execute(_TALLIES, _params(window, limit, BUTTON_PRESS))]
