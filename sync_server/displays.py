"""Proof of display on the server: what each kiosk's screen showed last, and the two screen alerts.

An agent's heartbeat carries the latest report of each of its kiosks (:class:`a2d.syncwire.Display`:
page, frames drawn, a hash of the picture). :func:`rows` turns them into ``kiosk_displays`` rows;
the database notes, on the server's own clock, when a kiosk's report last was new (``report_at``)
and when its picture last changed (``drawn_at``: a new hash or a new frame count). So no device
clock has to agree with the server's.

:func:`screens` reads them back for ``GET /api/v1/admin/devices`` with two alerts:

``screen_frozen``
    the kiosk's site should be open now (the site's ``opening_hours`` in the newest content pack
    published for the device, read with :mod:`sitehours`; a site without hours is always
    expected on), the kiosk is not in its night mode, and it drew nothing new (the same hash and
    the same frame count) for longer than ``server.display_stale_s``.
``kiosk_gone``
    the agent's heartbeats arrive (its latest is younger than ``server.display_gone_s``) but the
    kiosk's latest report is older than ``server.display_gone_s``: the kiosk process is gone, or
    cannot reach its agent.

Neither is raised for a device whose own heartbeats stopped (that is a device offline, a thing of
its own) or that was revoked, nor for a kiosk its agent's latest heartbeat no longer carries (an
agent forgets a kiosk a week after its last report: one taken away for good). An alert clears by itself with the next report that shows it wrong.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from a2d import contentpack, syncwire, timeutil
from a2d.logs import Once

from .db import Database, Device, DisplayRow, StoredDisplay

log = logging.getLogger(__name__)
_once = Once(log)

FROZEN = "screen_frozen"
GONE = "kiosk_gone"


def rows(device_id: str, beat: syncwire.Heartbeat, now: str) -> list[DisplayRow]:
    """The ``kiosk_displays`` rows of a heartbeat received at ``now``."""
    return [
        (device_id, d.kiosk_id, d.page, d.frames, d.hash, d.changed_at, d.reported_at, d.mode, int(d.wall),
         now, now, now)
        for d in beat.displays
    ]  # fmt: skip


@dataclass(frozen=True)
class Limits:
    """``server.display_stale_s`` and ``server.display_gone_s``."""

    stale_s: float
    gone_s: float


class SiteClock:
    """Whether a device's site should be open at a moment, from the newest content pack published
    for the device; each pack is read once per :class:`SiteClock` (one admin request)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._packs: dict[tuple[str, str], contentpack.ContentPack | None] = {}

    def open_at(self, device: Device, at: datetime) -> bool:
        """True unless the device's site has opening hours that say it is closed at ``at``."""
        from sitehours.hours import HoursError
        from sitehours.pack import site_times

        pack = self._pack(device.device_id)
        site = pack.site(device.site) if pack is not None and device.site else None
        if site is None or site.opening_hours is None:
            return True
        try:
            hours = site_times(site).hours
        except HoursError as exc:  # publish refuses such packs; one published before that may have them
            _once.failed(f"hours:{site.id}", "cannot read the opening hours of site %s: %s", site.id, exc)
            return True
        return hours is None or hours.is_open(at)

    def _pack(self, device_id: str) -> contentpack.ContentPack | None:
        head = self.db.bundle_for(device_id, "content")
        if head is None:
            return None
        key = (head.target, head.sha256)
        if key not in self._packs:
            self._packs[key] = _read_pack(self.db, head.target)
        return self._packs[key]


def _read_pack(db: Database, target: str) -> contentpack.ContentPack | None:
    found = db.bundle_document(target, "content")
    if found is None:
        return None
    try:
        doc = orjson.loads(found[2])
        return contentpack.loads(base64.b64decode(doc["content"], validate=True))
    except (orjson.JSONDecodeError, KeyError, TypeError, binascii.Error, contentpack.ContentError) as exc:
        _once.failed(f"pack:{target}", "cannot read the content bundle for %s: %s", target, exc)
        return None


def _age_s(now: datetime, then: str | None) -> float | None:
    return None if then is None else (now - timeutil.parse(then)).total_seconds()


def screens(
    db: Database, devices: Sequence[Device], limits: Limits, now: datetime
) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """Each device's kiosk displays (with their alerts) by device id, and every alert raised now."""
    by_device: dict[str, list[dict[str, Any]]] = {}
    alerts: list[dict[str, Any]] = []
    known = {d.device_id: d for d in devices}
    clock = SiteClock(db)
    for shown in db.displays():
        device = known.get(shown.device_id)
        if device is None:
            continue
        raised = _alerts(device, shown, limits, now, clock)
        by_device.setdefault(device.device_id, []).append(_entry(shown, raised))
        alerts += [
            {"device_id": device.device_id, "kiosk_id": shown.kiosk_id, "alert": name, "since": since,
             "text": text}
            for name, since, text in raised
        ]  # fmt: skip
    return by_device, alerts


def _alerts(
    device: Device, shown: StoredDisplay, limits: Limits, now: datetime, clock: SiteClock
) -> list[tuple[str, str, str]]:
    beat_age = _age_s(now, device.last_seen)
    if not device.active or beat_age is None or beat_age > limits.gone_s or shown.seen_at != device.last_seen:
        return []  # nothing is known while the agent is silent, or when its latest heartbeat left the kiosk out
    report_age = _age_s(now, shown.report_at) or 0.0
    if report_age > limits.gone_s:
        return [(GONE, shown.report_at, f"no report from kiosk {shown.kiosk_id} for {report_age / 60:.0f} min"
                 " while its agent is online")]  # fmt: skip
    drawn_age = _age_s(now, shown.drawn_at) or 0.0
    if shown.mode != "night" and drawn_age > limits.stale_s and clock.open_at(device, now):
        return [(FROZEN, shown.drawn_at, f"kiosk {shown.kiosk_id} drew nothing new for {drawn_age / 60:.0f} min"
                 f" (page {shown.page}) while its site should be open")]  # fmt: skip
    return []


def _entry(shown: StoredDisplay, raised: list[tuple[str, str, str]]) -> dict[str, Any]:
    return {
        "kiosk_id": shown.kiosk_id, "page": shown.page, "mode": shown.mode, "wall": shown.wall,
        "frames": shown.frames, "hash": shown.hash, "changed_at": shown.changed_at,
        "reported_at": shown.reported_at, "screen_changed_at": shown.drawn_at,
        "last_report_at": shown.report_at, "alerts": [name for name, _, _ in raised],
    }  # fmt: skip
