"""The hourly aggregates of canonical measurements: their rows, and how readings add up to them.

Open data publishes no count below :attr:`Window.min_count` that could be one person (see
:data:`PERSON_COUNTS`, :data:`PERSON_LEVELS`): the backends filter such hourly rows out, and build
the feedback tallies from cells that each hold at least that many presses: an hour that does, or
the rest of a UTC day (its hours below the threshold summed) when that does and the day lies
wholly inside the window. A difference of two windows is then a sum of such cells too.

An upload hands the backend its records and the :class:`Reading` s found in them; the backend
learns which records were new and adds only their readings, folded by :func:`fold` into one
:class:`Increment` per aggregate key, in the transaction that inserts the records.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import NamedTuple

#: the quantity whose tallies are the feedback answers
BUTTON_PRESS = "button_press"
#: quantities whose hourly sum counts people or their presses: a small one could be one person
PERSON_COUNTS = ("button_press", "people_in", "people_out")
#: quantities whose reading is a number of people present: a small maximum could be one person
PERSON_LEVELS = ("occupancy",)


class Reading(NamedTuple):
    """One canonical measurement of one uploaded record, placed in its UTC hour."""

    device_id: str
    record_id: str
    sensor: str  # the sensor's dev_eui, "" when the record names none
    sensor_name: str  # its display name, "" when none
    quantity: str
    unit: str
    channel: str  # "" when the measurement has none
    hour: str  # start of the hour, "2026-06-02T08:00:00Z"
    value: float


class Increment(NamedTuple):
    """What one upload adds to one aggregate row (the key first, then the name and the figures)."""

    device_id: str
    sensor: str
    quantity: str
    unit: str
    channel: str
    hour: str
    sensor_name: str
    readings: int
    total: float
    low: float
    high: float


class Hourly(NamedTuple):
    """One row of ``measurements_hourly``: the readings of one sensor, quantity and channel in one hour."""

    hour: str
    device_id: str
    sensor: str
    sensor_name: str
    quantity: str
    unit: str
    channel: str
    readings: int
    total: float
    low: float
    high: float


class Tally(NamedTuple):
    """The presses of one answer (channel) of one feedback sensor over a time window."""

    device_id: str
    sensor: str
    sensor_name: str
    channel: str
    presses: float
    first_hour: str
    last_hour: str


@dataclass(frozen=True, slots=True)
class Window:
    """Which aggregates a query wants: hours starting in ``[start, end)``, optionally narrowed."""

    start: str
    end: str
    quantity: str | None = None
    device_id: str | None = None
    sensor: str | None = None
    #: open data: counts of people or presses from 1 to this minus one are not shown (0: all are)
    min_count: int = 0

    def whole_days(self) -> tuple[str, str]:
        """``[first, end)``: the UTC days that lie wholly in the window, as hour texts."""
        first = self.start if self.start[11:13] == "00" else _next_day(self.start)
        return first, f"{self.end[:10]}T00:00:00Z"


def _next_day(hour: str) -> str:
    return f"{date.fromisoformat(hour[:10]) + timedelta(days=1)}T00:00:00Z"


class _Sum:
    __slots__ = ("name", "count", "total", "low", "high")

    def __init__(self, name: str, value: float) -> None:
        self.name, self.count, self.total, self.low, self.high = name, 1, value, value, value


def fold(readings: Iterable[Reading], new: Collection[tuple[str, str]] | None) -> list[Increment]:
    """Sum the readings of the records in ``new`` (``(device_id, record_id)`` pairs; ``None``: of
    every record) per aggregate key.

    The result holds each key once, sorted, so that one upsert statement can take it whole.
    """
    sums: dict[tuple[str, str, str, str, str, str], _Sum] = {}
    get = sums.get
    for device_id, record_id, sensor, name, quantity, unit, channel, hour, value in readings:
        if new is not None and (device_id, record_id) not in new:
            continue
        key = (device_id, sensor, quantity, unit, channel, hour)
        s = get(key)
        if s is None:
            sums[key] = _Sum(name, value)
        else:  # written out here, not a method: this runs once per reading of an upload
            s.name = name or s.name
            s.count += 1
            s.total += value
            if value < s.low:
                s.low = value
            elif value > s.high:
                s.high = value
    return [Increment(*key, s.name, s.count, s.total, s.low, s.high) for key, s in sorted(sums.items())]


def suppressed_sql(param: str) -> str:
    """An SQL condition, true for an hourly row open data must not show; ``param`` is the
    placeholder of the threshold (``:min`` or ``%(min)s``). The quantities are our constants."""
    counts = ", ".join(f"'{q}'" for q in PERSON_COUNTS)
    levels = ", ".join(f"'{q}'" for q in PERSON_LEVELS)
    return (
        f"((quantity IN ({counts}) AND value_sum > 0 AND value_sum < {param})"
        f" OR (quantity IN ({levels}) AND value_max > 0 AND value_max < {param}))"
    )


def tallies_sql(where: str, param: str) -> str:
    """The feedback tallies from cells of at least ``param`` presses (see the module docstring).

    ``where`` selects the button presses of the window (and filters); the placeholders
    ``day_start``/``day_end`` bound the whole days, spelled like ``param``."""
    day_start, day_end = param.replace("min", "day_start"), param.replace("min", "day_end")
    return (
        "SELECT device_id, sensor, max(sensor_name), channel, sum(presses), min(first_hour), max(last_hour) FROM ("  # noqa: S608 - built once from our constants
        " SELECT device_id, sensor, sensor_name, channel, value_sum AS presses, hour AS first_hour,"
        f" hour AS last_hour FROM measurements_hourly WHERE {where} AND value_sum >= {param}"
        " UNION ALL"
        " SELECT device_id, sensor, max(sensor_name), channel, sum(value_sum), day || 'T00:00:00Z',"
        " day || 'T23:00:00Z' FROM (SELECT device_id, sensor, sensor_name, channel, value_sum,"
        f" substr(hour, 1, 10) AS day FROM measurements_hourly WHERE {where} AND value_sum < {param}"
        f" AND hour >= {day_start} AND hour < {day_end}) AS small"
        f" GROUP BY device_id, sensor, channel, day HAVING sum(value_sum) >= {param}"
        ") AS cells GROUP BY device_id, sensor, channel ORDER BY device_id, sensor, channel"
    )
