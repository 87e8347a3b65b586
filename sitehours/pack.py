"""The hours of a content pack's sites, read once: :func:`site_hours`, :func:`check_pack`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .hours import HoursError, SiteHours
from .screen import ScreenSchedule

if TYPE_CHECKING:
    from a2d.contentpack import ContentPack, Site


@dataclass(frozen=True)
class SiteTimes:
    """What a site's pack entry says about time: office hours (None: none) and its screen's nights."""

    hours: SiteHours | None
    screen: ScreenSchedule


def site_times(site: Site) -> SiteTimes:
    """Raises :class:`HoursError` naming the field when one of the expressions is not valid."""
    try:
        hours = (
            None
            if site.opening_hours is None
            else SiteHours.parse(site.opening_hours, site.region, site.timezone)
        )
    except HoursError as exc:
        raise HoursError(f"sites[{site.id}].opening_hours: {exc}") from None
    try:
        screen = ScreenSchedule.parse(site.screen_dim, site.screen_off, site.region, site.timezone)
    except HoursError as exc:
        raise HoursError(f"sites[{site.id}].screen: {exc}") from None
    return SiteTimes(hours, screen)


def check_pack(pack: ContentPack) -> None:
    """Every site's hours and screen schedule parse (a bad pack is refused when it is published)."""
    for site in pack.sites:
        site_times(site)
