"""The hourly aggregates in PostgreSQL: the upsert of one upload's increments and the open-data reads.

The upload's ``INSERT ... RETURNING`` names the records that were new; :func:`add` runs in the
same transaction, after the per-device advisory lock, so two processes storing the same records
never both count them. Each key appears once in an upload's increments (``ON CONFLICT DO
UPDATE`` may touch a row only once per statement).
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from ._hourly import BUTTON_PRESS, Hourly, Increment, Tally, Window, suppressed_sql, tallies_sql

_UPSERT = (
    "INSERT INTO measurements_hourly AS m (device_id, sensor, quantity, unit, channel, hour, sensor_name,"
    " readings, value_sum, value_min, value_max)"
    " SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[],"
    " %s::text[], %s::bigint[], %s::float8[], %s::float8[], %s::float8[])"
    " ON CONFLICT (device_id, sensor, quantity, unit, channel, hour) DO UPDATE SET"
    " sensor_name = CASE WHEN excluded.sensor_name <> '' THEN excluded.sensor_name ELSE m.sensor_name END,"
    " readings = m.readings + excluded.readings, value_sum = m.value_sum + excluded.value_sum,"
    " value_min = LEAST(m.value_min, excluded.value_min), value_max = GREATEST(m.value_max, excluded.value_max)"
)
_WINDOW = (
    "hour >= %(start)s AND hour < %(end)s AND (%(quantity)s::text IS NULL OR quantity = %(quantity)s)"
    " AND (%(device)s::text IS NULL OR device_id = %(device)s)"
    " AND (%(sensor)s::text IS NULL OR sensor = %(sensor)s)"
)
_HOURLY = (
    "SELECT hour, device_id, sensor, sensor_name, quantity, unit, channel, readings, value_sum, value_min,"  # noqa: S608 - built once from our constants
    f" value_max FROM measurements_hourly WHERE {_WINDOW} AND NOT {suppressed_sql('%(min)s')}"
    " ORDER BY hour, device_id, sensor, quantity, channel, unit LIMIT %(limit)s"
)
_TALLIES = f"{tallies_sql(_WINDOW, '%(min)s')} LIMIT %(limit)s"


def add(conn: psycopg.Connection, increments: Sequence[Increment]) -> None:
    if increments:
        conn.execute(_UPSERT, [list(c) for c in zip(*increments, strict=True)])


def _params(window: Window, limit: int, quantity: str | None) -> dict[str, object]:
    day_start, day_end = window.whole_days()
    return {"start": window.start, "end": window.end, "quantity": quantity, "device": window.device_id,
            "sensor": window.sensor, "limit": limit, "min": window.min_count, "day_start": day_start,
            "day_end": day_end}  # fmt: skip


def hourly(conn: psycopg.Connection, window: Window, limit: int) -> list[Hourly]:
    rows = conn.execute(_HOURLY, _params(window, limit, window.quantity)).fetchall()
    return [Hourly(*row) for row in rows]


def tallies(conn: psycopg.Connection, window: Window, limit: int) -> list[Tally]:
    rows = conn.execute(_TALLIES, _params(window, limit, BUTTON_PRESS)).fetchall()
    return [Tally(*row) for row in rows]
