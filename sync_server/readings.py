"""The canonical measurements in an uploaded record, as readings for the hourly aggregates.

A record's payload is the stored event (``dev_eui``, ``device_name``, ``measurements``: a list of
``{quantity, value, unit, channel?}``). Only the vocabulary of :mod:`a2d.measurements` counts:
a known quantity in its one unit with a finite number. Anything else in the list is skipped, so
one odd measurement never costs a record its upload. The hour is that of the record's ``ts`` in UTC
(:attr:`a2d.syncwire.Checked.hour`). A record with ``"counted": false`` adds no button press: it
is a feedback button's press inside its cooldown, or a press that counts through the vote the edge
made of it (``edge_agent/buttonvotes.py``); its other measurements (a battery level) count.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from functools import partial

from a2d.measurements import QUANTITIES
from a2d.syncwire import Checked

from .db import Reading

#: longest sensor id, name and channel taken over; longer ones are cut
MAX_SENSOR = 64
MAX_NAME = 120
MAX_CHANNEL = 64


#: quantity -> its one unit, for the look-up on the upload's hot path
_UNIT = {quantity: unit for quantity, (unit, _) in QUANTITIES.items()}
_NUMBER = (int, float)
#: builds a Reading without the Python-level ``__new__`` of a named tuple (the upload's hot path)
_reading = partial(tuple.__new__, Reading)


def readings(device_id: str, record: Checked) -> list[Reading]:
    """The canonical measurements of ``record`` (uploaded by ``device_id``), empty if it has none."""
    return of_batch(device_id, (record,))


def of_batch(device_id: str, records: Iterable[Checked]) -> list[Reading]:
    """The canonical measurements of every record of an upload, in order, as :func:`readings` finds
    them; one call per upload, so that the names it needs are looked up once, not per record."""
    out: list[Reading] = []
    add, unit_of, number, finite, reading = out.append, _UNIT.get, _NUMBER, math.isfinite, _reading
    for record in records:
        items = record.measurements
        if not items or not isinstance(items, list):
            continue
        presses = record.counted is not False
        sensor, name = record.dev_eui, record.device_name  # a text each, cut to its length, or ""
        sensor = sensor[:MAX_SENSOR] if isinstance(sensor, str) else ""
        name = name[:MAX_NAME] if isinstance(name, str) else ""
        record_id, hour = record.record_id, record.hour
        for m in items:
            if not isinstance(m, dict):
                continue
            quantity, value, unit, channel = (
                m.get("quantity"),
                m.get("value"),
                m.get("unit"),
                m.get("channel"),
            )
            if unit is None or not isinstance(quantity, str) or unit_of(quantity) != unit:
                continue
            if quantity == "button_press" and not presses:
                continue
            if isinstance(value, bool) or not isinstance(value, number) or not finite(value):
                continue
            if channel is None:
                channel = ""
            elif not isinstance(channel, str):
                continue
            add(reading((device_id, record_id, sensor, name, quantity, unit, channel[:MAX_CHANNEL], hour,
                         float(value))))  # fmt: skip
    return out
