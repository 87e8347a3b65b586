"""The visit and its idle clock, without a window: every step driven by an injected clock."""

from __future__ import annotations

import pytest

from kiosk.session import Phase, Session
from tests.conftest import ManualClock


def make(clock: ManualClock) -> Session:
    return Session("de", idle_s=90, prompt_s=30, wiped_s=6, clock=clock)


def test_a_visit_runs_idle_prompt_wipe_attract() -> None:
    clock = ManualClock()
    s = make(clock)
    assert s.phase is Phase.ATTRACT
    assert s.tick() is None  # attract never times out
    assert s.touch() is Phase.ACTIVE
    s.visit.lang, s.visit.large_text, s.visit.high_contrast, s.visit.read_aloud = "fr", True, True, True
    assert s.record_vote("zufriedenheit", "4")
    s.visit.help_id = "h1"
    clock.advance(89.9)
    assert s.tick() is None
    clock.advance(0.1)
    assert s.tick() is Phase.PROMPT
    assert s.prompt_left() == pytest.approx(30)
    clock.advance(29.9)
    assert s.tick() is None and s.prompt_left() == pytest.approx(0.1)
    clock.advance(0.1)
    assert s.tick() is Phase.WIPED
    v = s.visit
    assert (v.lang, v.large_text, v.high_contrast, v.read_aloud, v.votes, v.help_id) == (
        "de",
        False,
        False,
        False,
        {},
        None,
    )
    assert s.wipes == 1
    clock.advance(6)
    assert s.tick() is Phase.ATTRACT


def test_one_touch_in_the_prompt_continues_the_visit_unchanged() -> None:
    clock = ManualClock()
    s = make(clock)
    s.touch()
    s.visit.lang = "en"
    clock.advance(90)
    assert s.tick() is Phase.PROMPT
    clock.advance(25)
    assert s.touch() is Phase.ACTIVE
    assert s.visit.lang == "en" and s.wipes == 0
    clock.advance(89)
    assert s.tick() is None  # the idle time starts again from the touch


def test_touches_keep_a_visit_alive() -> None:
    clock = ManualClock()
    s = make(clock)
    s.touch()
    for _ in range(10):
        clock.advance(80)
        assert s.touch() is None
        assert s.tick() is None
    assert s.phase is Phase.ACTIVE


def test_one_vote_per_poll_and_visit() -> None:
    s = make(ManualClock())
    s.touch()
    assert s.record_vote("p", "a") and not s.record_vote("p", "b")
    assert s.visit.votes == {"p": "a"} and s.has_voted("p")
    s.wipe()
    assert not s.has_voted("p") and s.record_vote("p", "b")


def test_the_prompt_gives_at_least_20_seconds() -> None:
    with pytest.raises(ValueError, match="20"):
        Session(prompt_s=19.9)
    Session(prompt_s=20)


def test_prompt_now_only_during_a_visit() -> None:
    s = make(ManualClock())
    s.prompt_now()
    assert s.phase is Phase.ATTRACT
    s.touch()
    s.prompt_now()
    assert s.phase is Phase.PROMPT
