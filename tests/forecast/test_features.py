"""Calendar and time features: holidays on both sides of the Rhine, school holidays, bridge days,
DST days with 23 and 25 hours, hour of week, the same wall-clock hour a week earlier."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from a2d import forecastwire, hourgrid
from forecasting import features as ff
from sync_server.forecast import calendar


@pytest.fixture(scope="module")
def rhine() -> forecastwire.Calendar:
    cal, _notes = calendar.build("DE-BW,FR-6AE", date(2024, 1, 1), date(2025, 12, 31))
    return cal


def test_public_holidays_of_both_regions(rhine: forecastwire.Calendar) -> None:
    assert "2024-10-03" in rhine.holidays  # Tag der Deutschen Einheit (DE)
    assert "2024-05-30" in rhine.holidays  # Fronleichnam (BW)
    assert "2024-07-14" in rhine.holidays  # Fête nationale (FR)
    assert "2024-12-26" in rhine.holidays  # Saint-Étienne (Alsace) and 2. Weihnachtstag
    assert "2024-11-11" in rhine.holidays  # Armistice (FR)
    assert "2024-10-04" not in rhine.holidays


def test_school_holidays_bw_and_zone_b(rhine: forecastwire.Calendar) -> None:
    assert "2024-08-15" in rhine.school  # BW summer holidays 2024
    assert "2024-10-25" in rhine.school  # French zone B Toussaint 2024
    assert "2024-03-01" in rhine.school  # French zone B winter holidays 2024
    assert "2024-09-20" not in rhine.school


def test_region_without_school_table_is_reported() -> None:
    _cal, notes = calendar.build("NZ-AUK", date(2023, 1, 1), date(2023, 12, 31))
    assert any("NZ-AUK" in n for n in notes)


def test_bad_locale_item_is_a_known_error() -> None:
    with pytest.raises(calendar.LocaleError):
        calendar.parse_locale("Germany")


def test_bridge_days(rhine: forecastwire.Calendar) -> None:
    bridges = set(ff.bridge_days(rhine))
    assert date(2024, 5, 31) in bridges  # Friday after Fronleichnam (Thursday)
    assert date(2024, 5, 10) in bridges  # Friday after Ascension
    assert date(2024, 5, 29) not in bridges


def test_calendar_round_trips_through_json(rhine: forecastwire.Calendar) -> None:
    again = forecastwire.Calendar.from_dict(rhine.as_dict())
    assert again == rhine
    assert ff.bridge_days(again) == ff.bridge_days(rhine)


def test_dst_days_have_23_and_25_hours() -> None:
    assert len(ff.day_hours(date(2024, 3, 31), "Europe/Berlin")) == 23
    assert len(ff.day_hours(date(2024, 10, 27), "Europe/Berlin")) == 25
    assert len(ff.day_hours(date(2024, 10, 28), "Europe/Berlin")) == 24
    assert len(ff.day_hours(date(2023, 9, 24), "Pacific/Auckland")) == 23
    start = hourgrid.epoch_hour(datetime(2024, 10, 26, tzinfo=ZoneInfo("Europe/Berlin")))
    lh = ff.local_hours(start, 24 * 3, "Europe/Berlin")
    assert set(lh.day_hours[lh.ordinal == date(2024, 10, 27).toordinal()]) == {25}
    assert int((lh.ordinal == date(2024, 10, 27).toordinal()).sum()) == 25
    assert lh.dst[0] == 1 and lh.dst[-1] == 0


def test_hour_of_week_and_week_back_follow_the_wall_clock() -> None:
    z = ZoneInfo("Europe/Berlin")
    start = hourgrid.epoch_hour(datetime(2024, 3, 4, tzinfo=z))  # a Monday
    lh = ff.local_hours(start, 24 * 14, "Europe/Berlin")
    assert lh.weekday[0] == 0 and lh.hour[0] == 0
    assert lh.hour[-1] == 23 and lh.weekday[-1] == 6
    # DST began on 2024-03-31: 167 real hours before Monday 1 April 09:00 is Monday 25 March 09:00
    start2 = hourgrid.epoch_hour(datetime(2024, 3, 25, tzinfo=z))
    lh2 = ff.local_hours(start2, 24 * 14, "Europe/Berlin")
    i = int(np.flatnonzero((lh2.ordinal == date(2024, 4, 1).toordinal()) & (lh2.hour == 9))[0])
    j = int(lh2.week_back[i])
    assert lh2.hour[j] == 9 and lh2.ordinal[j] == date(2024, 3, 25).toordinal()
    assert i - j == 167


def test_unknown_zone_is_named() -> None:
    with pytest.raises(hourgrid.HourGridError, match="Mars/Olympus"):
        hourgrid.zone("Mars/Olympus")


def test_recent_spread_measures_how_far_last_week_strayed() -> None:
    start = hourgrid.epoch_hour(datetime(2024, 5, 6, tzinfo=ZoneInfo("Europe/Berlin")))  # no DST change
    n = 6 * ff.WEEK
    lh = ff.local_hours(start, n, "Europe/Berlin")
    shape = np.tile(np.arange(24, dtype=np.float64) * 10 + 5, n // 24)
    assert ff.recent_spread(shape, lh, n) == pytest.approx(0.0)  # every week alike
    restless = shape.copy()
    restless[-ff.WEEK :: 2] *= np.e  # every other hour of the last week e times the usual
    spread = ff.recent_spread(restless, lh, n)
    # half the hours stray by log(e * c + 1) - log(c + 1), a little under 1 for these counts
    assert 0.45 < spread < 0.5
    gappy = shape.copy()
    gappy[-ff.WEEK :] = np.nan
    assert np.isnan(ff.recent_spread(gappy, lh, n))  # no last week, no spread
    with pytest.raises(ff.FeatureError):
        ff.recent_spread(shape, lh, n - 1)


def test_spread_factor_scales_floors_and_falls_back_to_one() -> None:
    assert ff.spread_factor(0.4, 0.2).tolist() == [2.0]
    assert ff.spread_factor(np.array([0.1, np.nan]), 0.2).tolist() == [0.5, 1.0]
    assert ff.spread_factor(0.0, 0.2).tolist() == [ff.SPREAD_FLOOR / 0.2]  # a flat week keeps a band
    assert ff.spread_factor(6.0, 0.2).tolist() == [ff.SPREAD_CEILING / 0.2]  # a week of zeros: bounded
    assert ff.spread_factor(0.4, None).tolist() == [1.0]  # a model from before the band was scaled
