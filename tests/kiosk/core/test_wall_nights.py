"""A wall's screen follows its site's night schedule (through the fake backlight)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from a2d import contentpack
from devtools.demopack import DEMO_PACK
from kiosk.backlight import FakeBacklight
from kiosk.opening import ScreenState
from kiosk.wall.nights import WallNights

BERLIN = ZoneInfo("Europe/Berlin")


def test_the_wall_dims_and_blanks_by_the_sites_schedule_and_comes_back() -> None:
    pack = contentpack.load(DEMO_PACK)  # the Rathaus: dim 19-22, off 22-06
    moment = [datetime(2026, 3, 28, 12, 0, tzinfo=BERLIN)]
    light = FakeBacklight()
    nights = WallNights(light, "rathaus", now=lambda: moment[0])
    seen = []
    for hour, minute in ((12, 0), (19, 30), (23, 0), (3, 30), (7, 0)):
        day = 29 if hour < 12 else 28  # into Sunday 29 March: the clocks go forward at 2
        moment[0] = datetime(2026, 3, day, hour, minute, tzinfo=BERLIN)
        seen.append(nights.check(pack))
    assert seen == [ScreenState.ON, ScreenState.DIM, ScreenState.OFF, ScreenState.OFF, ScreenState.ON]
    assert nights.check(pack) is ScreenState.ON
    # asked once per change (07:00 still Sunday: nothing new after the last check)
    assert light.asked == [ScreenState.ON, ScreenState.DIM, ScreenState.OFF, ScreenState.ON]


def test_a_wall_without_a_site_or_pack_stays_on() -> None:
    light = FakeBacklight()
    late = datetime(2026, 6, 9, 23, 0, tzinfo=BERLIN)
    assert WallNights(light, "", now=lambda: late).check(contentpack.load(DEMO_PACK)) is ScreenState.ON
    assert WallNights(light, "rathaus", now=lambda: late).check(None) is ScreenState.ON
