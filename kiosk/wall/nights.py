"""The wall's screen at night: the site's ``screen`` schedule through a backlight (no Kivy).

A wall follows the same night schedule as a kiosk (``sites[].screen`` of the content pack,
:class:`kiosk.opening.SiteSchedule`): dimmed or blank where the site wants it. A wall has no touch,
so nothing wakes it before the schedule does. Office hours do not change what a wall shows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ..opening import ALWAYS, ScreenState, SiteSchedule

if TYPE_CHECKING:
    from a2d.contentpack import ContentPack

    from ..ports import Backlight


def _now() -> datetime:
    return datetime.now(UTC)


class WallNights:
    """Call :meth:`check` now and then (every half minute is plenty): it reads the schedule again
    when the pack changed and sets the backlight when the state changed."""

    def __init__(self, backlight: Backlight | None, site: str, *, demo: bool = False,
                 now: Callable[[], datetime] = _now) -> None:  # fmt: skip
        self.backlight = backlight
        self.site = site
        self.demo = demo
        self.now = now
        self.schedule: SiteSchedule = ALWAYS
        self.lit: ScreenState | None = None
        self._pack: ContentPack | None = None

    def check(self, pack: ContentPack | None) -> ScreenState:
        if pack is not self._pack:
            self._pack = pack
            self.schedule = SiteSchedule.for_pack(pack, self.site, demo=self.demo)
        state = self.schedule.screen(self.now())
        if state is not self.lit:
            self.lit = state
            if self.backlight is not None:
                self.backlight.set(state)
        return state
