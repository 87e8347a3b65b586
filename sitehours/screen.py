"""When a site's screens rest at night: :class:`ScreenSchedule`.

A site may name two periods in the same ``opening_hours`` syntax as its hours: ``dim`` (the
backlight low, the screen still readable up close) and ``off`` (backlight off or DPMS standby; a
touch wakes it for a visit). ``off`` wins where both match. No schedule: the screen stays on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from .hours import SiteHours


class ScreenState(StrEnum):
    ON = "on"
    DIM = "dim"
    OFF = "off"


@dataclass(frozen=True)
class ScreenSchedule:
    dim: SiteHours | None = None
    off: SiteHours | None = None

    @classmethod
    def parse(
        cls, dim: str | None, off: str | None, region: str = "DE-BW", tz: str = "Europe/Berlin"
    ) -> ScreenSchedule:
        return cls(
            None if not dim else SiteHours.parse(dim, region, tz),
            None if not off else SiteHours.parse(off, region, tz),
        )

    def state(self, at: datetime) -> ScreenState:
        if self.off is not None and self.off.is_open(at):
            return ScreenState.OFF
        if self.dim is not None and self.dim.is_open(at):
            return ScreenState.DIM
        return ScreenState.ON
