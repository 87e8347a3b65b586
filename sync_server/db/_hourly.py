"""The hourly aggregates of canonical measurements: their rows, and how readings add up to them.

An upload hands the backend its records and the :class:`Reading` s found in them; the backend
learns which records were new and adds only their readings, folded by :func:`fold` into one
:class:`Increment` per aggregate key, in the transaction that inserts the records.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import NamedTuple

#: the quantity whose tallies are the feedback answers
BUTTON_PRESS = "button_press"


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


class _Sum:
    __slots__ = ("name", "count", "total", "low", "high")

    def __init__(self, name: str, value: float) -> None:
        self.name, self.count, self.total, self.low, self.high = name, 1, value, value, value

    def add(self, name: str, value: float) -> None:
        self.name = name or self.name
        self.count += 1
        self.total += value
        self.low = min(self.low, value)
        self.high = max(self.high, value)


def fold(readings: Iterable[Reading], new: Collection[tuple[str, str]] | None) -> list[Increment]:
    """Sum the readings of the records in ``new`` (``(device_id, record_id)`` pairs; ``None``: of
    every record) per aggregate key.

    The result holds each key once, sorted, so that one upsert statement can take it whole.
    """
    sums: dict[tuple[str, str, str, str, str, str], _Sum] = {}
    for r in readings:
        if new is not None and (r.device_id, r.record_id) not in new:
            continue
        key = (r.device_id, r.sensor, r.quantity, r.unit, r.channel, r.hour)
        s = sums.get(key)
        if s is None:
            sums[key] = _Sum(r.sensor_name, r.value)
        else:
            s.add(r.sensor_name, r.value)
    return [Increment(*key, s.name, s.count, s.total, s.low, s.high) for key, s in sorted(sums.items())]
