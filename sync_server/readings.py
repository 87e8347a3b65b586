"""The canonical measurements in an uploaded record, as readings for the hourly aggregates.

A record's payload is the stored event (``dev_eui``, ``device_name``, ``measurements``: a list of
``{quantity, value, unit, channel?}``). Only the vocabulary of :mod:`a2d.measurements` counts:
a known quantity in its one unit with a finite number. Anything else in the list is skipped, so
one odd measurement never costs a record its upload. The hour is the record's ``ts`` in UTC.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from functools import lru_cache, partial
from typing import Any

from a2d.measurements import QUANTITIES
from a2d.syncwire import Record
from a2d.timeutil import normalise

from .db import Reading

#: longest sensor id, name and channel taken over; longer ones are cut
MAX_SENSOR = 64
MAX_NAME = 120
MAX_CHANNEL = 64


#: a UTC time as the edge writes it; its hour is checked against the calendar once (_hour)
_UTC_TIME = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,9})?Z")


@lru_cache(maxsize=1024)
def _hour(prefix: str) -> str | None:
    try:
        datetime.fromisoformat(f"{prefix}:00:00+00:00")
    except ValueError:
        return None
    return f"{prefix}:00:00Z"


def hour_of(ts: str) -> str | None:
    """``"2026-06-02T08:15:31.4Z"`` → ``"2026-06-02T08:00:00Z"``; ``None`` if ``ts`` is no time."""
    m = _UTC_TIME.fullmatch(ts)
    if m is not None:  # the common case, on the upload's hot path
        return _hour(m.group(1))
    try:
        return normalise(ts)[:13] + ":00:00Z"
    except ValueError:
        return None


def _text(value: Any, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


#: quantity -> its one unit, for the look-up on the upload's hot path
_UNIT = {quantity: unit for quantity, (unit, _) in QUANTITIES.items()}
_NUMBER = (int, float)
#: builds a Reading without the Python-level ``__new__`` of a named tuple (the upload's hot path)
_reading = partial(tuple.__new__, Reading)


def readings(device_id: str, record: Record, hour: str | None = None) -> list[Reading]:
    """The canonical measurements of ``record`` (uploaded by ``device_id``), empty if it has none.

    ``hour``: the start of the record's hour when the caller knows it already (else from ``ts``).
    """
    payload = record.payload
    items = payload.get("measurements")
    if not items or not isinstance(items, list):
        return []
    hour = hour or hour_of(record.ts)
    if hour is None:
        return []
    sensor, name = _text(payload.get("dev_eui"), MAX_SENSOR), _text(payload.get("device_name"), MAX_NAME)
    out: list[Reading] = []
    for m in items:
        if not isinstance(m, dict):
            continue
        quantity, value, unit, channel = m.get("quantity"), m.get("value"), m.get("unit"), m.get("channel")
        if unit is None or not isinstance(quantity, str) or _UNIT.get(quantity) != unit:
            continue
        if isinstance(value, bool) or not isinstance(value, _NUMBER) or not math.isfinite(value):
            continue
        if channel is None:
            channel = ""
        elif not isinstance(channel, str):
            continue
        out.append(
            _reading((device_id, record.record_id, sensor, name, quantity, unit, channel[:MAX_CHANNEL], hour,
                      float(value)))
        )  # fmt: skip
    return out
