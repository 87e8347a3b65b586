"""Whether the office at the kiosk's site is open, and how bright its screen should be (no Kivy).

The kiosk stands at one site of its content pack: ``device.site`` in ``kiosk.toml``; the demo
configuration (no ``kiosk.toml``) stands at the pack's first site. That site's
``opening_hours`` and ``screen`` schedule (:mod:`sitehours`) decide:

- the **mode**: ``open`` while the office is staffed, ``closed`` (info-only: no "Hilfe holen",
  the controller takes no help request) outside its hours;
- the **screen**: ``on``, ``dim`` or ``off`` (:class:`sitehours.screen.ScreenState`).

A kiosk must never hide "Hilfe holen" by mistake: a site that is not in the pack, hours that do
not parse, or a pack without sites all count as always open with the screen always on; the
reason is logged once per pack (:meth:`SiteSchedule.for_pack` never raises).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from a2d.logs import Once
from sitehours.hours import HoursError
from sitehours.screen import ScreenState

if TYPE_CHECKING:
    from a2d.contentpack import ContentPack
    from sitehours.pack import SiteTimes

log = logging.getLogger(__name__)
_once = Once(log)


class Mode(StrEnum):
    """What the kiosk offers: everything (``open``) or information only (``closed``)."""

    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class SiteSchedule:
    """The office hours and screen nights of one site; :data:`ALWAYS` when there are none."""

    site: str = ""
    times: SiteTimes | None = None

    @classmethod
    def for_pack(cls, pack: ContentPack | None, site: str, *, demo: bool = False) -> SiteSchedule:
        """The schedule of ``site`` in ``pack`` (the demo: the pack's first site when ``site`` is
        empty); :data:`ALWAYS`, with one log line, when it cannot be read."""
        if pack is None:
            return ALWAYS
        if not site and demo and pack.sites:
            site = pack.sites[0].id
        if not site:
            return ALWAYS  # no device.site: the kiosk knows no office hours
        found = next((s for s in pack.sites if s.id == site), None)
        key = f"{pack.version}/{site}"
        if found is None:
            _once.failed(
                key,
                "device.site %r is not among the content pack's sites: always open, screen always on",
                site,
            )
            return ALWAYS
        from sitehours.pack import site_times  # the holidays load here: off the screen's thread

        try:
            times = site_times(found)
        except HoursError as exc:
            _once.failed(key, "the content pack's hours cannot be read (%s): the kiosk stays open", exc)
            return ALWAYS
        log.info("site %s: opening hours %r, screen %s", site, found.opening_hours,
                 {"dim": found.screen_dim, "off": found.screen_off})  # fmt: skip
        return cls(site, times)

    def mode(self, at: datetime) -> Mode:
        hours = self.times.hours if self.times is not None else None
        if hours is None or hours.is_open(at):
            return Mode.OPEN
        return Mode.CLOSED

    def reopens(self, at: datetime) -> datetime | None:
        """When the office opens next (``at`` when open; None: no hours, or not within a year)."""
        hours = self.times.hours if self.times is not None else None
        return None if hours is None else hours.next_open(at)

    def screen(self, at: datetime) -> ScreenState:
        return ScreenState.ON if self.times is None else self.times.screen.state(at)

    def local(self, at: datetime) -> datetime:
        """``at`` in the site's time zone (unchanged without hours)."""
        hours = self.times.hours if self.times is not None else None
        return at if hours is None else hours.local(at)


#: no hours, no nights: open, screen on
ALWAYS = SiteSchedule()
