"""What the fleet page says about each device, from the heartbeats the server keeps (pure: the
time is passed in). Alerts:

* ``silent``: no heartbeat for ``silent`` (or never one);
* ``disk``: less free disk than ``disk_free_bytes``;
* ``clock``: the device's own clock in its heartbeat (``now``) is behind or ahead of the server's
  time the heartbeat arrived by more than ``clock_skew``; for a heartbeat without ``now`` (an
  older agent), its time of its last sync lies ahead of the arrival by more than that;
* ``sync``: records wait in its outbox and its last sync is older than ``sync_stale`` (or none);
* ``battery``: the newest battery reading of one of its LoRaWAN sensors is low (:mod:`.battery`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson

from a2d.timeutil import parse

from ..config import ServerSettings
from ..db import Device, StoredHeartbeat
from .battery import Battery


@dataclass(frozen=True)
class Thresholds:
    silent: timedelta = timedelta(minutes=15)
    disk_free_bytes: int = 500 * 2**20
    clock_skew: timedelta = timedelta(seconds=120)
    sync_stale: timedelta = timedelta(minutes=30)
    battery_percent: float = 20
    battery_volts: float = 2.5

    @classmethod
    def of(cls, s: ServerSettings) -> Thresholds:
        return cls(
            timedelta(minutes=s.console_alert_silent_minutes), s.console_alert_disk_free_mb * 2**20,
            timedelta(seconds=s.console_alert_clock_skew_s), timedelta(minutes=s.console_alert_sync_minutes),
            s.console_alert_battery_percent, s.console_alert_battery_v,
        )  # fmt: skip


@dataclass(frozen=True)
class Beat:
    """One heartbeat as the pages show it."""

    received_at: str
    versions: list[tuple[str, str]]
    uptime: str
    disk: str
    disk_free_bytes: int | None
    outbox: int | None
    last_sync: str | None
    #: the device's own clock when it sent the heartbeat (none from older agents)
    device_now: str | None = None


@dataclass(frozen=True)
class Row:
    device: Device
    beat: Beat | None
    alerts: list[str]
    #: the newest battery reading of each of its LoRaWAN sensors
    batteries: list[Battery] = field(default_factory=list)

    @property
    def versions(self) -> list[tuple[str, str]]:
        return self.beat.versions if self.beat else []

    @property
    def outbox(self) -> int | None:
        return self.beat.outbox if self.beat else None

    @property
    def disk(self) -> str:
        return self.beat.disk if self.beat else ""


def size(n: int) -> str:
    """``1.2 GiB``-style, for people."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"  # pragma: no cover - the loop returns


def duration(seconds: float) -> str:
    s = int(seconds)
    d, h, m = s // 86400, s % 86400 // 3600, s % 3600 // 60
    return f"{d} d {h} h" if d else f"{h} h {m} min" if h else f"{m} min"


def beat(stored: StoredHeartbeat) -> Beat:
    try:
        d: dict[str, Any] = orjson.loads(stored.heartbeat)
    except orjson.JSONDecodeError:
        d = {}
    free = d.get("disk_free_bytes")
    outbox = d.get("outbox") or {}
    return Beat(
        stored.received_at,
        sorted((str(k), str(v)) for k, v in (d.get("versions") or {}).items()),
        duration(float(d.get("uptime_s") or 0)),
        size(free) if isinstance(free, int) else "",
        free if isinstance(free, int) else None,
        sum(v for v in outbox.values() if isinstance(v, int)),
        d.get("last_sync_at") if isinstance(d.get("last_sync_at"), str) else None,
        d.get("now") if isinstance(d.get("now"), str) else None,
    )


def _time(text: str | None) -> datetime | None:
    try:
        return parse(text) if text else None
    except ValueError:
        return None


def alerts(device: Device, b: Beat | None, now: datetime, th: Thresholds) -> list[str]:
    if not device.active:
        return []
    out = []
    seen = _time(device.last_seen)
    if seen is None or now - seen > th.silent:
        out.append("silent")
    if b is None:
        return out
    if b.disk_free_bytes is not None and b.disk_free_bytes < th.disk_free_bytes:
        out.append("disk")
    received, synced, device_now = _time(b.received_at), _time(b.last_sync), _time(b.device_now)
    if received and device_now:
        if abs(device_now - received) > th.clock_skew:
            out.append("clock")
    elif received and synced and synced - received > th.clock_skew:
        out.append("clock")
    if b.outbox and received and (synced is None or received - synced > th.sync_stale):
        out.append("sync")
    return out


def rows(
    devices: list[Device], latest: list[StoredHeartbeat], now: datetime, th: Thresholds,
    batteries: Mapping[str, list[Battery]] | None = None,
) -> list[Row]:  # fmt: skip
    """One row per device; ``batteries`` (device id -> its sensors' batteries) adds the alert
    ``battery`` to an active device with a low one."""
    beats = {h.device_id: beat(h) for h in latest}
    out = []
    for d in devices:
        cells = list((batteries or {}).get(d.device_id, []))
        found = alerts(d, beats.get(d.device_id), now, th)
        if d.active and any(b.low for b in cells):
            found.append("battery")
        out.append(Row(d, beats.get(d.device_id), found, cells))
    return out
