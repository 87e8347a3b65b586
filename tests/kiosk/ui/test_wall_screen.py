"""The wall on screen (Kivy offscreen, 1920 x 1080): the views drawn from the agent's data, numbers
changed in place, the news shown at once, the calm cycle, one frame per change, and text that
scales with the screen."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from devtools.demopack import demo_pack
from kiosk.fakeagent import FakeAgent
from kiosk.selftest import sample_forecast
from kiosk.wall.feed import Feed
from kiosk.wall.measure import measure_view
from kiosk.wall.screen import WallScreen
from kiosk.wall.settings import WallSettings
from kiosk.wall.views import ForecastPanel, NoticePanel, ResultsPanel
from tests.kiosk.core.test_wall_model import live_question
from tests.kiosk.ui.conftest import pump, texts


def now() -> datetime:
    return datetime(2026, 10, 5, 10, 0, tzinfo=UTC)  # the demo's Innenstadt poll has closed


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def wall(window: Any) -> Iterator[tuple[WallScreen, FakeAgent, Feed, Clock]]:
    window.size = (1920, 1080)
    agent = FakeAgent(demo_pack(), forecast=sample_forecast())
    agent.town = {"zufriedenheit": {"1": 3, "5": 7}}
    clock = Clock()
    screen = WallScreen(WallSettings(fade_s=0.0), site="rathaus", clock=clock)
    window.add_widget(screen.root)
    pump(2)
    try:
        yield screen, agent, Feed(agent, now=now), clock
    finally:
        window.remove_widget(screen.root)
        window.size = (1280, 800)
        pump(2)


def test_the_views_show_this_sites_and_the_towns_numbers(wall: Any) -> None:
    screen, agent, feed, _ = wall
    agent.vote("zufriedenheit", "5", "de")
    screen.apply(feed.read())
    pump()
    assert [v.key for v in screen.views] == ["results:zufriedenheit", "forecast", "notice"]
    assert isinstance(screen.panel, ResultsPanel)
    shown = texts(screen.root)
    assert "1 · 100\u202f%" in shown and "7 · 70\u202f%" in shown and "3 · 30\u202f%" in shown
    assert (
        "Hier · Ici" in shown and "Stadtweit · Toute la ville" in shown and "Bürgerbüro im Rathaus" in shown
    )
    screen.show(2)
    pump()
    assert isinstance(screen.panel, NoticePanel) and not hasattr(screen.panel, "qr")  # no register_url
    assert any("Hauptstraße 90" in t for t in texts(screen.root))  # the pack's contact instead


def test_a_new_vote_changes_the_numbers_in_place_and_nothing_else_redraws(wall: Any) -> None:
    screen, agent, feed, _ = wall
    hooked: list[str] = []
    screen.frame_hook = lambda page, root: hooked.append(page)
    screen.apply(feed.read())
    pump()
    panel, frames = screen.panel, screen.frames
    assert isinstance(panel, ResultsPanel) and panel.counts()["4"].startswith("0 ·")
    screen.apply(feed.read())  # nothing changed at the agent
    assert screen.frames == frames, "an unchanged agent redrew the wall"
    agent.vote("zufriedenheit", "4", "de")
    screen.apply(feed.read())
    pump()
    assert screen.panel is panel, "new numbers rebuilt the view instead of changing it in place"
    assert panel.counts()["4"] == "1 · 100\u202f%" and screen.frames == frames + 1
    assert hooked[-1] == "results:zufriedenheit" and len(hooked) == screen.frames


def test_a_vote_on_a_question_not_on_screen_and_a_new_live_question_are_shown_at_once(wall: Any) -> None:
    screen, agent, feed, _ = wall
    screen.apply(feed.read())
    screen.show(2)  # the notice
    pump()
    agent.vote("zufriedenheit", "2", "de")
    screen.apply(feed.read())
    pump()
    assert screen.page == "results:zufriedenheit" and isinstance(screen.panel, ResultsPanel)
    assert screen.panel.counts()["2"] == "1 · 100\u202f%"
    agent.live_questions = [live_question()]
    screen.apply(feed.read())
    pump()
    assert screen.page == "results:live-7f3a9c2e" and "Soll der Marktplatz autofrei werden?" in texts(
        screen.root
    )


def test_the_cycle_holds_each_view_for_view_s_then_moves_on(wall: Any) -> None:
    screen, _agent, feed, clock = wall
    screen.apply(feed.read())
    pump()
    assert [v.key for v in screen.views] == ["results:zufriedenheit", "forecast", "notice"]
    seen = [screen.page]
    for _ in range(3):
        clock.t += 19.5
        screen.tick()
        assert screen.page == seen[-1], "a view left before its 20 s"
        clock.t += 0.5
        screen.tick()
        pump()
        seen.append(screen.page)
    assert seen == ["results:zufriedenheit", "forecast", "notice", "results:zufriedenheit"]
    assert isinstance(screen.panel, ResultsPanel)
    screen.show(1)
    pump()
    assert isinstance(screen.panel, ForecastPanel)


def test_text_is_never_under_32_px_at_1080p_and_scales_to_64_at_4k(wall: Any, window: Any) -> None:
    screen, _agent, feed, _ = wall
    screen.apply(feed.read())
    pump()
    hd = measure_view(screen.root, (1920.0, 1080.0))
    assert hd["smallest_text_px"] == 32.0 and hd["min_contrast"] >= 4.5 and hd["clipped"] == []
    window.size = (3840, 2160)
    pump()
    screen.draw_frame()
    pump()
    uhd = measure_view(screen.root, (3840.0, 2160.0))
    assert uhd["smallest_text_px"] == 64.0 and uhd["smallest_cap_px"] >= 2 * hd["smallest_cap_px"] - 1


def test_the_smallest_text_is_measured_from_what_is_drawn(wall: Any) -> None:
    """A label drawn smaller than the wall's sizes is found: the number is measured, not the constant."""
    from kivy.uix.label import Label

    screen, _agent, feed, _ = wall
    screen.apply(feed.read())
    pump()
    tiny = Label(text="klein", font_size=20, size_hint=(None, None), size=(200, 40))
    screen.panel.add_widget(tiny)
    pump()
    m = measure_view(screen.root, (1920.0, 1080.0))
    assert (m["smallest_text_px"], m["smallest_text"]) == (20.0, "klein") and m["smallest_cap_px"] < 23


def test_the_fade_is_slow_and_news_during_it_come_after_it(window: Any) -> None:
    from tests.kiosk.ui.conftest import until

    window.size = (1920, 1080)
    agent = FakeAgent(demo_pack())
    feed = Feed(agent, now=now)
    screen = WallScreen(WallSettings(fade_s=1.5), site="rathaus")
    window.add_widget(screen.root)
    try:
        pump(2)
        screen.apply(feed.read())
        screen.show(1)  # the notice
        pump()
        agent.vote("zufriedenheit", "3", "de")
        screen.apply(feed.read())
        assert screen._fading and screen.page == "notice"
        agent.live_questions = [live_question()]
        screen.apply(feed.read())  # a live question while the fade runs: shown after it
        opacities: list[float] = []
        until(
            lambda: opacities.append(screen.body.opacity) or screen.page == "results:zufriedenheit",
            5,
            "the fade",
        )
        until(
            lambda: opacities.append(screen.body.opacity) or screen.page == "results:live-7f3a9c2e",
            5,
            "the news",
        )
        until(lambda: not screen._fading and screen.body.opacity == 1.0, 5, "the end of the fade")
        # frames: the first view, the notice, the poll, the live question; nothing in between
        assert min(opacities) < 0.5 and screen.frames == 4
    finally:
        screen.stop()
        window.remove_widget(screen.root)
        window.size = (1280, 800)
        pump(2)
