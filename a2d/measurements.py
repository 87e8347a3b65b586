"""The canonical measurement vocabulary.

Every stored event carries a list of measurements ``{quantity, value, unit}`` (plus an optional
``channel`` naming which button, line or depth it came from). Forecasts, dashboards and open data
read these, never vendor fields. Each quantity has exactly one unit; codecs convert into it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

#: quantity -> (unit, one-line description)
QUANTITIES: dict[str, tuple[str, str]] = {
    "button_press": ("count", "a button was pressed (value = number of presses)"),
    "soil_moisture": ("%", "volumetric water content of soil, percent"),
    "soil_temperature": ("°C", "soil temperature"),
    "air_temperature": ("°C", "air temperature"),
    "humidity": ("%", "relative humidity of air"),
    "conductivity": ("µS/cm", "electrical conductivity of soil"),
    "people_in": ("count", "people who entered (per reporting period)"),
    "people_out": ("count", "people who left (per reporting period)"),
    "people_in_total": ("count", "running total of people who entered"),
    "people_out_total": ("count", "running total of people who left"),
    "occupancy": ("count", "people present now"),
    "energy": ("Wh", "electrical energy (meter reading)"),
    "power": ("W", "electrical power"),
    "voltage": ("V", "mains voltage"),
    "current": ("A", "electrical current"),
    "pulse_count": ("count", "meter pulse counter reading"),
    "battery": ("%", "battery level"),
    "battery_voltage": ("V", "battery voltage"),
}


class UnknownQuantity(ValueError):
    """A codec asked for a quantity outside the vocabulary."""


@dataclass(frozen=True, slots=True)
class Measurement:
    quantity: str
    value: float
    unit: str
    channel: str | None = None

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"quantity": self.quantity, "value": self.value, "unit": self.unit}
        if self.channel is not None:
            d["channel"] = self.channel
        return d


def measurement(quantity: str, value: Any, channel: str | int | None = None) -> Measurement | None:
    """Build a measurement in the canonical unit of ``quantity``.

    Returns ``None`` when ``value`` is not a finite number (vendor codecs sometimes report
    strings such as ``"24.1"``; those are converted, anything else is skipped).
    """
    try:
        unit = QUANTITIES[quantity][0]
    except KeyError:
        raise UnknownQuantity(quantity) from None
    kind = type(value)
    if kind is int or (kind is float and math.isfinite(value)):
        return Measurement(quantity, value, unit, None if channel is None else str(channel))
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return Measurement(quantity, value, unit, None if channel is None else str(channel))


def collect(*items: Measurement | None) -> list[Measurement]:
    """Drop the ``None`` entries produced by :func:`measurement` for missing values."""
    return [m for m in items if m is not None]
