"""Office hours and the night screen, through the controller with a clock a test moves by hand:
the mode changes by itself at opening and closing time (also across a daylight-saving change and a
public holiday), help is refused after hours and says when it is back in every language, unreadable
hours leave the kiosk open, and the backlight follows the site's nights while a touch wakes it."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from a2d.contentpack import ContentPack
from devtools.demopack import demo_pack
from kiosk.afterhours import clock_time, when_text
from kiosk.backlight import FakeBacklight
from kiosk.config import parse
from kiosk.controller import Controller, Page
from kiosk.fakeagent import FakeAgent
from kiosk.i18n import Translator
from kiosk.opening import Mode
from kiosk.ports import Inline
from sitehours.screen import ScreenState

BERLIN = ZoneInfo("Europe/Berlin")


class Clocks:
    """The controller's two clocks moved together: monotonic seconds and the time of day (UTC)."""

    def __init__(self, start: datetime) -> None:
        self.wall = start.astimezone(UTC)
        self.mono = 1000.0

    def monotonic(self) -> float:
        return self.mono

    def now(self) -> datetime:
        return self.wall

    def set(self, local: datetime) -> None:
        """Jump to a local time (the idle clock moves on as far)."""
        target = local.astimezone(UTC)
        self.mono += (target - self.wall).total_seconds()
        self.wall = target

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.wall += timedelta(seconds=seconds)


class Screen:
    def __init__(self) -> None:
        self.shown: list[tuple[Page, dict[str, Any]]] = []

    def show(self, page: Page, params: Mapping[str, Any]) -> str:
        self.shown.append((page, dict(params)))
        return page.value

    def prompt(self, seconds_left: float | None) -> None:
        pass

    def speaking(self, on: bool) -> None:
        pass

    def tick(self) -> None:
        pass


class Quiet:
    volume = 50
    speaking = False

    def say(self, text: str, lang: str) -> None:
        pass

    def stop(self) -> None:
        pass

    def reset(self) -> None:
        pass

    def close(self) -> None:
        pass


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)  # type: ignore[misc]


def make(
    tmp_path: Path,
    at: datetime,
    *,
    pack: ContentPack | None = None,
    site: str = "rathaus",
    demo: bool = False,
) -> tuple[Controller, FakeAgent, Screen, Clocks, FakeBacklight]:
    device = {"device": {"site": site}} if site else {}
    cfg = parse({"kiosk": {"cache_dir": str(tmp_path / "cache")}, **device}, env={}, demo=demo)
    clocks, screen, light = Clocks(at), Screen(), FakeBacklight()
    agent = FakeAgent(pack or demo_pack())
    ctl = Controller(cfg, clock=clocks.monotonic, wall_clock=clocks.now, display=screen, backlight=light)
    ctl.attach(agent, Inline(), speaker=Quiet())
    ctl.tick()
    return ctl, agent, screen, clocks, light


def test_the_kiosk_closes_at_18_and_opens_at_8_by_itself(tmp_path: Path) -> None:
    # Friday 5 June 2026, Offenburg's Bürgerbüro: Mo-Fr 08-18, Sa 08-12
    ctl, agent, screen, clocks, _light = make(tmp_path, local(2026, 6, 5, 17, 59, 30))
    ctl.start()
    assert (ctl.mode, ctl.closed_notice()) == (Mode.OPEN, None)
    ctl.call_help("")
    assert len(agent.requests) == 1 and ctl.page is Page.HELP
    shown = len(screen.shown)
    clocks.advance(40)
    ctl.tick()  # 18:00:10: closed; "Hilfe ist unterwegs" was asked for before, it stays as it is
    assert ctl.closed and screen.shown[shown:] == []
    ctl.go(Page.HOME)
    shown = len(screen.shown)
    clocks.advance(5)
    ctl.tick()  # the home screen is drawn again without "Hilfe holen"
    assert screen.shown[shown:] == []  # no change of mode: nothing is redrawn
    clocks.set(local(2026, 6, 8, 7, 59, 50))  # Monday morning, through a weekend
    ctl.session.wipe()
    ctl.start()
    ctl.tick()
    assert ctl.closed
    shown = len(screen.shown)
    clocks.advance(15)
    ctl.tick()  # 08:00:05: open, the home screen is drawn again with "Hilfe holen"
    assert ctl.mode is Mode.OPEN and screen.shown[shown:] == [(Page.HOME, {})]
    clocks.set(local(2026, 6, 8, 17, 59, 50))
    ctl.tick()
    shown = len(screen.shown)
    clocks.advance(15)
    ctl.tick()  # 18:00:05: closed, the home screen is drawn again without "Hilfe holen"
    assert ctl.mode is Mode.CLOSED and ctl.closed
    assert screen.shown[shown:] == [(Page.HOME, {})]
    notice = ctl.closed_notice()
    assert notice is not None and notice.heading == "Wir sind wieder da: morgen, 8 Uhr"  # Tuesday
    ctl.session.wipe()  # a new visit after closing: help is refused, nothing is sent
    ctl.start()
    ctl.call_help("ummelden")
    assert len(agent.requests) == 1 and agent.pending() == 0
    assert ctl.page is Page.HELP and ctl.session.visit.help_id is None
    clocks.set(local(2026, 6, 13, 7, 59, 50))
    ctl.tick()
    assert ctl.mode is Mode.CLOSED
    clocks.advance(15)
    ctl.tick()  # Saturday 08:00:05
    assert ctl.mode is Mode.OPEN and ctl.closed_notice() is None
    ctl.start()
    ctl.call_help("")
    assert len(agent.requests) == 2
    clocks.set(local(2026, 6, 13, 12, 0, 1))
    ctl.tick()  # Saturday noon: closed until Monday
    notice = ctl.closed_notice()
    assert ctl.closed and notice is not None and notice.heading == "Wir sind wieder da: Montag, 8 Uhr"


def test_across_daylight_saving_and_easter_the_kiosk_opens_on_tuesday_at_8_summer_time(
    tmp_path: Path,
) -> None:
    # Saturday 27 March 2027 after noon (CET); the clocks go forward on Sunday 28 (Easter Sunday);
    # Easter Monday is a public holiday in Baden-Württemberg: open again on Tuesday 30 at 08:00 CEST
    ctl, agent, _screen, clocks, _light = make(tmp_path, local(2027, 3, 27, 12, 0, 30))
    assert ctl.closed
    assert ctl.schedule.reopens(ctl.now()) == datetime(2027, 3, 30, 6, 0, tzinfo=UTC)
    texts = {}
    for lang in ("de", "en", "fr", "ls"):
        ctl.session.visit.lang = lang
        notice = ctl.closed_notice()
        assert notice is not None
        texts[lang] = notice.heading
    assert texts == {
        "de": "Wir sind wieder da: Dienstag, 8 Uhr",
        "en": "We are back: Tuesday, 8 am",
        "fr": "Nous serons de retour : mardi, 8 h",
        "ls": "Wir sind wieder da: Dienstag, 8 Uhr",
    }
    clocks.set(local(2027, 3, 29, 10, 0))  # Easter Monday, a weekday: closed
    ctl.tick()
    assert ctl.closed
    clocks.set(datetime(2027, 3, 30, 5, 59, 50, tzinfo=UTC))  # 07:59:50 CEST (06:59:50 in winter time)
    ctl.tick()
    assert ctl.closed
    clocks.advance(20)
    ctl.tick()  # 08:00:10 CEST: open, an hour earlier in UTC than in winter
    assert ctl.mode is Mode.OPEN
    ctl.start()
    ctl.call_help("")
    assert len(agent.requests) == 1


def test_hours_that_do_not_parse_leave_the_kiosk_open_and_are_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pack = demo_pack()
    broken = dataclasses.replace(pack.sites[0], opening_hours="Mo-Fr 08:00-18:00; Sa nonsense")
    pack = dataclasses.replace(pack, sites=(broken, *pack.sites[1:]), version=pack.version + "-broken")
    caplog.set_level(logging.WARNING, logger="kiosk.opening")
    ctl, agent, _screen, _clocks, _light = make(tmp_path, local(2026, 6, 7, 12), pack=pack)  # a Sunday
    ctl.load_schedule()
    ctl.content_changed(pack)
    assert ctl.mode is Mode.OPEN and ctl.closed_notice() is None
    ctl.start()
    ctl.call_help("")
    assert len(agent.requests) == 1
    said = [r.getMessage() for r in caplog.records if "cannot be read" in r.getMessage()]
    assert len(said) == 1 and "sites[rathaus].opening_hours" in said[0]


def test_a_site_the_pack_does_not_know_and_no_site_both_mean_open(tmp_path: Path) -> None:
    sunday = local(2026, 6, 7, 12)
    assert make(tmp_path / "a", sunday, site="nirgendwo")[0].mode is Mode.OPEN
    assert make(tmp_path / "b", sunday, site="")[0].mode is Mode.OPEN
    # the demo configuration stands at the pack's first site, the Bürgerbüro: closed on Sunday
    assert make(tmp_path / "c", sunday, site="", demo=True)[0].mode is Mode.CLOSED


def test_the_screen_dims_and_blanks_at_night_and_a_touch_wakes_it_for_one_visit(tmp_path: Path) -> None:
    # the demo's nights: dim 19-22, off 22-06
    ctl, _agent, _screen, clocks, light = make(tmp_path, local(2026, 6, 5, 18, 59, 50))
    assert light.asked == [ScreenState.ON]
    clocks.advance(20)
    ctl.tick()
    assert light.state is ScreenState.DIM
    clocks.set(local(2026, 6, 5, 22, 0, 5))
    ctl.tick()
    assert light.state is ScreenState.OFF
    assert ctl.user_touch() is True, "the touch that wakes a blank screen does nothing else"
    assert light.state is ScreenState.ON
    ctl.start()
    for _ in range(3):
        clocks.advance(30)
        ctl.tick()
        assert light.state is ScreenState.ON, "the screen stays on for the visit"
    clocks.advance(ctl.cfg.idle_s + ctl.cfg.prompt_s + 10)  # idle, the prompt, the wipe
    for _ in range(3):
        ctl.tick()
        clocks.advance(5)
    assert ctl.page in (Page.WIPED, Page.ATTRACT) and light.state is ScreenState.OFF
    clocks.set(local(2026, 6, 6, 6, 0, 5))
    ctl.tick()
    assert light.state is ScreenState.ON
    assert light.asked == [ScreenState.ON, ScreenState.DIM, ScreenState.OFF, ScreenState.ON, ScreenState.OFF,
                           ScreenState.ON]  # fmt: skip


@pytest.mark.parametrize(
    ("lang", "at", "text"),
    [
        ("de", datetime(2026, 6, 8, 8, 30), "8:30 Uhr"),
        ("en", datetime(2026, 6, 8, 12, 0), "12 pm"),
        ("en", datetime(2026, 6, 8, 0, 15), "12:15 am"),
        ("fr", datetime(2026, 6, 8, 14, 5), "14 h 05"),
        ("ls", datetime(2026, 6, 8, 8, 0), "8 Uhr"),
    ],
)
def test_each_language_writes_the_time_its_own_way(lang: str, at: datetime, text: str) -> None:
    assert clock_time(at, lang) == text


def test_today_tomorrow_a_weekday_and_beyond_a_week_a_date(tmp_path: Path) -> None:
    tr = Translator("en", tmp_path)
    now = datetime(2026, 6, 5, 7, 0)  # a Friday
    assert when_text(datetime(2026, 6, 5, 8, 0), now, "en", tr) == "today, 8 am"
    assert when_text(datetime(2026, 6, 6, 8, 0), now, "en", tr) == "tomorrow, 8 am"
    assert when_text(datetime(2026, 6, 8, 8, 0), now, "en", tr) == "Monday, 8 am"
    tr.lang = "de"
    assert when_text(datetime(2026, 6, 15, 8, 0), now, "de", tr) == "Montag 15.06.2026, 8 Uhr"
