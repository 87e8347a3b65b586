"""The newest reading of each sensor, from the hourly aggregates the server keeps.

The server keeps no single readings for the console: an upload adds its canonical measurements to
``measurements_hourly`` (:mod:`sync_server.readings`). The newest value of a sensor's quantity and
channel is therefore the mean of its newest hour, and its age counts from the start of that hour.
Only hours from :data:`LOOKBACK` back are read, so that the page's query stays small.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from a2d.timeutil import parse

from ..db import Database

#: how far back the console looks for a sensor's newest hour
LOOKBACK = timedelta(days=30)
#: quantities the sensors page leaves to the feedback pages
NOT_SENSOR_READINGS = ("button_press",)

_SQL = """
SELECT h.device_id, h.sensor, h.sensor_name, h.quantity, h.unit, h.channel, h.hour,
       h.readings, h.value_sum, h.value_min, h.value_max
FROM measurements_hourly h
JOIN (SELECT device_id, sensor, quantity, unit, channel, MAX(hour) AS newest
      FROM measurements_hourly WHERE hour >= ? AND sensor <> '' {only}
      GROUP BY device_id, sensor, quantity, unit, channel) m
  ON h.device_id = m.device_id AND h.sensor = m.sensor AND h.quantity = m.quantity
 AND h.unit = m.unit AND h.channel = m.channel AND h.hour = m.newest
ORDER BY h.device_id, h.sensor, h.quantity, h.channel
"""


@dataclass(frozen=True)
class Latest:
    """The newest hour of one sensor's quantity (and channel)."""

    device_id: str
    sensor: str
    sensor_name: str
    quantity: str
    unit: str
    channel: str
    hour: str
    readings: int
    mean: float
    low: float
    high: float

    @property
    def label(self) -> str:
        """The sensor as people know it: its name, else its DevEUI."""
        return self.sensor_name or self.sensor


def hour_text(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:00:00Z")


def latest(db: Database, now: datetime, quantities: Sequence[str] | None = None) -> list[Latest]:
    """The newest hour of every sensor, quantity and channel (of ``quantities``, else all but the
    button presses) within :data:`LOOKBACK` of ``now``."""
    wanted = list(quantities) if quantities is not None else None
    if wanted == []:
        return []
    if wanted is None:
        only = "AND quantity NOT IN (" + ", ".join("?" for _ in NOT_SENSOR_READINGS) + ")"
        params: list[object] = [hour_text(now - LOOKBACK), *NOT_SENSOR_READINGS]
    else:
        only = "AND quantity IN (" + ", ".join("?" for _ in wanted) + ")"
        params = [hour_text(now - LOOKBACK), *wanted]
    rows = db.query(_SQL.format(only=only), params)
    return [
        Latest(str(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), str(r[5]), str(r[6]), int(r[7]),
               float(r[8]) / int(r[7]) if r[7] else float(r[8]), float(r[9]), float(r[10]))
        for r in rows
    ]  # fmt: skip


def age(hour: str, now: datetime) -> timedelta:
    """How long ago the hour of a reading started (never negative)."""
    return max(now - parse(hour), timedelta(0))


def age_text(hour: str, now: datetime) -> str:
    """``3 h``, ``2 d 4 h``, ``< 1 h``: the age of a reading, for people (it is known to the hour)."""
    hours = int(age(hour, now).total_seconds() // 3600)
    if hours < 1:
        return "< 1 h"
    d, h = divmod(hours, 24)
    return f"{d} d {h} h" if d else f"{h} h"
