"""The watering list: tree-pit soil sensors, the driest against their threshold first (pure).

A soil sensor is one that reports ``soil_moisture`` (percent, volumetric water content). Its value
is the newest hour's mean; a probe with several depths (channels) counts with the mean of its
depths' newest values. Each sensor's threshold is its own (set on the sensors page, kept in
``soil_thresholds``) or else ``console.soil_dry_percent``. The margin is moisture minus threshold:
below zero, the tree needs water. The list is sorted by margin, smallest first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .latest import Latest

SOIL = "soil_moisture"


@dataclass(frozen=True)
class Tree:
    sensor: str
    label: str
    device_id: str
    moisture: float
    threshold: float
    own_threshold: bool
    hour: str

    @property
    def margin(self) -> float:
        return self.moisture - self.threshold

    @property
    def dry(self) -> bool:
        return self.margin < 0


def watering_list(readings: Iterable[Latest], thresholds: Mapping[str, float], default: float) -> list[Tree]:
    """Every soil sensor in ``readings``, the driest against its threshold first."""
    depths: dict[str, list[Latest]] = {}
    for r in readings:
        if r.quantity == SOIL:
            depths.setdefault(r.sensor, []).append(r)
    trees = []
    for sensor, rs in depths.items():
        newest = max(rs, key=lambda r: r.hour)
        moisture = sum(r.mean for r in rs) / len(rs)
        own = sensor in thresholds
        trees.append(Tree(sensor, newest.label, newest.device_id, moisture,
                          thresholds[sensor] if own else default, own, newest.hour))  # fmt: skip
    return sorted(trees, key=lambda t: (t.margin, t.label, t.sensor))
