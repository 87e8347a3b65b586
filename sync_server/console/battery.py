"""The batteries of each device's LoRaWAN sensors, for the fleet page (pure: readings passed in).

The newest battery reading per sensor (DevEUI): its level in percent where the sensor reports one,
else its voltage. A level below ``low_percent``, or, for a sensor that reports only a voltage, a
voltage below ``low_volts``, is low; a device with a low sensor battery gets the fleet alert
``battery``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .latest import Latest

#: the quantities a battery is read from, the level first
QUANTITIES = ("battery", "battery_voltage")


@dataclass(frozen=True)
class Battery:
    sensor: str
    label: str
    value: float
    unit: str
    hour: str
    low: bool

    @property
    def text(self) -> str:
        return f"{self.value:.0f} %" if self.unit == "%" else f"{self.value:.2f} V"


def batteries(readings: Iterable[Latest], low_percent: float, low_volts: float) -> dict[str, list[Battery]]:
    """device id -> the battery of each of its sensors, by sensor name."""
    newest: dict[tuple[str, str], dict[str, Latest]] = {}
    for r in readings:
        if r.quantity in QUANTITIES:
            newest.setdefault((r.device_id, r.sensor), {})[r.quantity] = r
    out: dict[str, list[Battery]] = {}
    for (device_id, sensor), found in sorted(newest.items()):
        level = found.get("battery")
        r = level or found["battery_voltage"]
        low = r.mean < (low_percent if level else low_volts)
        out.setdefault(device_id, []).append(Battery(sensor, r.label, r.mean, r.unit, r.hour, low))
    for items in out.values():
        items.sort(key=lambda b: (b.label, b.sensor))
    return out
