"""sitehours: OSM opening_hours with a region's public holidays, across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from a2d import contentpack
from sitehours.hours import HoursError, SiteHours
from sitehours.pack import check_pack, site_times
from sitehours.screen import ScreenSchedule, ScreenState

BUERGERBUERO = "Mo-Fr 08:00-18:00; Sa 08:00-12:00; PH off; Dec 24,Dec 31 off"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.fixture(scope="module")
def hours() -> SiteHours:
    return SiteHours.parse(BUERGERBUERO, region="DE-BW")


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        ("2026-06-07T12:00:00+02:00", False),  # a Sunday noon
        ("2026-06-09T10:00:00+02:00", True),  # a Tuesday morning
        ("2026-06-09T18:00:00+02:00", False),  # closing time is closed
        ("2026-06-13T11:59:00+02:00", True),  # Saturday morning
        ("2026-06-04T10:00:00+02:00", False),  # Corpus Christi: a holiday in Baden-Württemberg only
        ("2026-01-06T10:00:00+01:00", False),  # Epiphany: BW too
        ("2026-10-03T10:00:00+02:00", False),  # German Unity Day (a Saturday)
        ("2026-12-24T10:00:00+01:00", False),  # the pack's own exception
        ("2026-12-23T10:00:00+01:00", True),
        ("2026-06-09T08:00:00Z", True),  # 10:00 in Offenburg: other zones are converted
    ],
)
def test_open_or_closed(hours: SiteHours, moment: str, is_open: bool) -> None:
    assert hours.is_open(at(moment)) is is_open


def test_a_holiday_of_another_region_is_a_working_day() -> None:
    berlin = SiteHours.parse(BUERGERBUERO, region="DE-BE")
    assert berlin.is_open(at("2026-06-04T10:00:00+02:00"))  # Corpus Christi is no holiday in Berlin
    assert not berlin.is_open(at("2026-12-25T10:00:00+01:00"))  # Christmas is one everywhere


def test_next_opening_across_the_spring_change(hours: SiteHours) -> None:
    # Saturday 28 March 2026 after closing; clocks go forward in the night to Sunday 29 March
    nxt = hours.next_open(at("2026-03-28T13:00:00+01:00"))
    assert nxt == at("2026-03-30T08:00:00+02:00")
    assert nxt is not None and nxt.utcoffset() == timedelta(hours=2)


def test_next_opening_across_the_autumn_change_and_a_holiday_weekend(hours: SiteHours) -> None:
    # Friday 30 October 2026 evening; clocks go back on Sunday 1 November (All Saints' Day, BW)
    nxt = hours.next_open(at("2026-10-30T19:00:00+01:00"))
    assert nxt == at("2026-10-31T08:00:00+01:00")  # Saturday morning, winter time
    after = hours.next_open(at("2026-10-31T12:30:00+01:00"))
    assert after == at("2026-11-02T08:00:00+01:00")  # Sunday and the holiday skipped


def test_the_christmas_break(hours: SiteHours) -> None:
    # 24th (exception), 25th, 26th (holidays), 27th (Sunday): back on Monday 28th
    assert hours.next_open(at("2026-12-23T18:30:00+01:00")) == at("2026-12-28T08:00:00+01:00")
    assert hours.closes_at(at("2026-12-23T10:00:00+01:00")) == at("2026-12-23T18:00:00+01:00")
    assert hours.closes_at(at("2026-12-24T10:00:00+01:00")) is None


def test_a_naive_time_is_the_sites_local_time(hours: SiteHours) -> None:
    assert hours.is_open(datetime(2026, 6, 9, 10)) and not hours.is_open(datetime(2026, 6, 9, 7, 59))


def test_ph_inside_a_weekday_list_and_with_hours() -> None:
    h = SiteHours.parse("Mo-Sa 09:00-17:00; Su,PH 10:00-12:00", region="DE-BW")
    assert h.is_open(at("2026-06-04T11:00:00+02:00")) and not h.is_open(at("2026-06-04T14:00:00+02:00"))
    assert h.is_open(at("2026-06-05T14:00:00+02:00"))


def test_always_open_never_changes() -> None:
    h = SiteHours.parse("24/7", region="DE-BW")
    moment = at("2026-12-25T03:00:00+01:00")
    assert h.is_open(moment) and h.next_change(moment) is None and h.next_open(moment) == moment


@pytest.mark.parametrize(
    ("expression", "region", "tz", "words"),
    [
        ("Mo-Fx 08:00-12:00", "DE-BW", "Europe/Berlin", "not valid OSM opening_hours"),
        ("", "DE-BW", "Europe/Berlin", "empty"),
        ("Mo 08:00-12:00\n", "DE-BW", "Europe/Berlin", "printable"),
        ("Mo 08:00-12:00", "Baden", "Europe/Berlin", "ISO 3166-2"),
        ("Mo 08:00-12:00", "XX-ZZ", "Europe/Berlin", "no public holidays known"),
        ("Mo 08:00-12:00", "DE-BW", "Europe/Offenburg", "unknown time zone"),
    ],
)
def test_bad_input_is_refused_with_a_reason(expression: str, region: str, tz: str, words: str) -> None:
    with pytest.raises(HoursError, match=words):
        SiteHours.parse(expression + ("; PH off" if region == "XX-ZZ" else ""), region, tz)


def test_the_screen_rests_at_night() -> None:
    s = ScreenSchedule.parse("Mo-Su 19:00-22:00", "Mo-Su 22:00-06:00", region="DE-BW")
    assert s.state(at("2026-06-09T12:00:00+02:00")) is ScreenState.ON
    assert s.state(at("2026-06-09T20:00:00+02:00")) is ScreenState.DIM
    assert s.state(at("2026-06-09T23:30:00+02:00")) is ScreenState.OFF
    assert s.state(at("2026-06-10T05:59:00+02:00")) is ScreenState.OFF
    assert ScreenSchedule.parse(None, None).state(at("2026-06-09T23:30:00+02:00")) is ScreenState.ON


def test_the_demo_pack_carries_the_buergerbueros_real_hours() -> None:
    from pathlib import Path

    pack = contentpack.load(
        Path(__file__).resolve().parents[2] / "devtools" / "data" / "content-offenburg.json"
    )
    check_pack(pack)
    times = site_times(pack.sites[0])
    assert times.hours is not None
    assert not times.hours.is_open(at("2026-06-07T12:00:00+02:00"))  # closed on Sundays
    assert times.hours.is_open(at("2026-06-09T10:00:00+02:00"))  # open on Tuesday mornings
    assert contentpack.parse(contentpack.as_json(pack)).sites == pack.sites  # the fields survive a round trip


def test_a_pack_with_bad_hours_names_the_site() -> None:
    doc = {"id": "rathaus", "name": {"de": "Rathaus"}, "address": "Hauptstraße 90", "region": "DE-BW",
           "opening_hours": "Mo-Fr 8-12"}  # fmt: skip
    site = contentpack._site(doc, "sites[0]", "de")
    with pytest.raises(HoursError, match=r"sites\[rathaus\]\.opening_hours"):
        site_times(site)


def test_a_utc_time_is_converted_to_the_sites_zone() -> None:
    h = SiteHours.parse("Mo-Fr 08:00-18:00", region="DE-BW")
    assert h.is_open(datetime(2026, 6, 9, 8, 30, tzinfo=UTC))  # 10:30 local
