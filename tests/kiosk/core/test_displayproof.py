"""Proof of display on the kiosk, without a window: the picture hash and when reports go out."""

from __future__ import annotations

import pytest

from a2d.localapi import DisplayReport, LocalApiError
from kiosk.displayproof import DisplayReporter, Picture, grey_grid, picture_hash
from kiosk.fakeagent import FakeAgent
from tests.conftest import ManualClock


def flat(width: int, height: int, rgb: tuple[int, int, int]) -> Picture:
    return Picture(width, height, bytes((*rgb, 255)) * (width * height))


def with_box(base: Picture, x0: int, y0: int, x1: int, y1: int, rgb: tuple[int, int, int]) -> Picture:
    data = bytearray(base.rgba)
    for y in range(y0, y1):
        start = (y * base.width + x0) * 4
        data[start : start + (x1 - x0) * 4] = bytes((*rgb, 255)) * (x1 - x0)
    return Picture(base.width, base.height, bytes(data))


def test_the_grid_is_16_by_9_grey_cells_of_the_picture() -> None:
    black = flat(320, 180, (0, 0, 0))
    assert grey_grid(black) == bytes([64] * 144)  # alpha 255 lifts every cell alike: (0+0+0+255)/4
    box = with_box(black, 0, 0, 20, 20, (255, 255, 255))  # exactly the first cell of the first row read
    grid = grey_grid(box)
    assert grid[0] == 255 and set(grid[1:]) == {64}


def test_the_hash_is_16_hex_digits_stable_for_a_picture_and_new_for_another() -> None:
    page = flat(1920, 1080, (240, 240, 235))
    same = flat(1920, 1080, (240, 240, 235))
    assert picture_hash(page) == picture_hash(same)
    assert len(picture_hash(page)) == 16 and int(picture_hash(page), 16) >= 0
    button = with_box(page, 700, 500, 1200, 640, (0, 80, 160))  # a button drawn in the middle
    assert picture_hash(button) != picture_hash(page)
    with pytest.raises(ValueError, match="cannot fill"):
        picture_hash(Picture(8, 8, bytes(8 * 8 * 4)))


class Pictures:
    """What the screen shows, and how often it was read."""

    def __init__(self) -> None:
        self.now = flat(160, 90, (255, 255, 255))
        self.reads = 0

    def __call__(self) -> Picture:
        self.reads += 1
        return self.now


def reporter(agent: FakeAgent, clock: ManualClock, **kw: object) -> DisplayReporter:
    stamps = iter(f"2026-06-02T08:{m:02d}:00Z" for m in range(60))
    return DisplayReporter(agent, clock, interval_s=120, quiet_s=10, now=lambda: next(stamps), **kw)  # type: ignore[arg-type]


def test_the_first_frame_reports_then_every_interval_and_frames_are_counted() -> None:
    agent, clock, screen = FakeAgent(None), ManualClock(), Pictures()
    r = reporter(agent, clock)
    r.frame("attract", screen)
    assert [(d.page, d.frames) for d in agent.displays] == [("attract", 1)]
    first = agent.displays[0]
    assert first.hash == picture_hash(screen.now) and first.changed_at <= first.at
    for _ in range(29):
        clock.advance(2)
        r.frame("attract", screen)  # 58 s: nothing due, the pixels are not even read
    assert len(agent.displays) == 1 and screen.reads == 1 and r.frames == 30
    clock.advance(62)
    r.frame("attract", screen)
    assert [d.frames for d in agent.displays] == [1, 31]
    assert agent.displays[1].hash == first.hash and agent.displays[1].changed_at == first.changed_at


def test_a_page_change_after_a_quiet_spell_reports_at_once_a_quick_one_waits() -> None:
    agent, clock, screen = FakeAgent(None), ManualClock(), Pictures()
    r = reporter(agent, clock)
    r.frame("attract", screen)
    clock.advance(3)
    screen.now = with_box(screen.now, 0, 0, 80, 45, (0, 0, 0))
    r.frame("home", screen)  # 3 s after the last report: not yet
    assert len(agent.displays) == 1
    clock.advance(8)
    r.frame("home", screen)  # the quiet spell is over: the page change goes now
    assert [d.page for d in agent.displays] == ["attract", "home"]
    assert agent.displays[1].hash != agent.displays[0].hash
    assert agent.displays[1].changed_at > agent.displays[0].changed_at
    clock.advance(30)
    r.frame("home", screen)  # the same page again: no report before the interval
    assert len(agent.displays) == 2


def test_a_screen_that_draws_nothing_still_reports_and_a_redraw_is_asked_for_frames_unhashed() -> None:
    agent, clock, screen = FakeAgent(None), ManualClock(), Pictures()
    r = reporter(agent, clock)
    redraws: list[float] = []
    assert r.poll(lambda: redraws.append(clock())) is None  # nothing drawn yet: nothing to say
    r.frame("attract", screen)
    clock.advance(121)
    sent = r.poll(lambda: redraws.append(clock()))  # no frame since the hash: it is what is on screen
    assert sent is not None and sent.frames == 1 and redraws == [] and screen.reads == 1
    clock.advance(5)
    r.frame("attract", screen)  # a frame drawn, not hashed (not due)
    clock.advance(121)
    assert r.poll(lambda: redraws.append(clock())) is None and len(redraws) == 1  # waits for the redraw
    screen.now = flat(160, 90, (10, 10, 10))
    r.frame("attract", screen)  # the redraw: hashed and sent
    assert agent.displays[-1].hash == picture_hash(screen.now) and agent.displays[-1].frames == 3
    # a redraw that never comes: the report goes after REDRAW_WAIT_S with the hash it has
    r.frame("attract", screen)
    clock.advance(121)
    assert r.poll(lambda: None) is None
    clock.advance(6)
    late = r.poll(lambda: None)
    assert late is not None and late.frames == 4 and late.hash == picture_hash(screen.now)


def test_mode_and_wall_go_with_the_report_and_an_offline_agent_gets_the_latest_only() -> None:
    agent, clock, screen = FakeAgent(None, online=False), ManualClock(), Pictures()
    r = reporter(agent, clock, mode=lambda: "closed", wall=True)
    r.frame("attract", screen)
    clock.advance(121)
    r.frame("home", screen)
    assert agent.displays == [] and agent.waiting_display is not None
    agent.online = True
    assert [(d.page, d.mode, d.wall) for d in agent.displays] == [("home", "closed", True)]


def test_the_report_shape_is_checked_as_the_agent_checks_it() -> None:
    good = {"page": "home", "frames": 3, "hash": "9f1c00aa", "changed_at": "2026-06-02T08:00:00Z",
            "at": "2026-06-02T08:02:00Z", "mode": "open", "wall": False}  # fmt: skip
    assert DisplayReport.from_json(good).as_json() == good
    for bad in ({"frames": -1}, {"frames": True}, {"hash": "NOT-HEX"}, {"hash": "a" * 65}, {"mode": "dark"},
                {"wall": "no"}, {"page": ""}, {"page": "x\n"}):  # fmt: skip
        with pytest.raises(LocalApiError):
            DisplayReport.from_json({**good, **bad})
