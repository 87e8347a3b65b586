"""The kiosk's anonymous usage counters through the controller (no Kivy): a visit's session,
screens and languages counted by the day, handed to the agent once the day is over (and the rest
when the kiosk stops); waiting, wiped and Lotsen screens not counted; no time finer than the day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from devtools.demopack import demo_pack
from kiosk.config import parse
from kiosk.controller import Controller, Page
from kiosk.fakeagent import FakeAgent
from kiosk.ports import Inline
from tests.conftest import ManualClock

from .test_controller import HASH, Screen, Voice


def test_a_day_of_visits_reaches_the_agent_as_one_report_of_counters(tmp_path: Path) -> None:
    now = [datetime(2026, 6, 2, 21, 30, tzinfo=UTC)]  # 23:30 in Offenburg, but no hours: UTC days
    cfg = parse({"kiosk": {"cache_dir": str(tmp_path / "cache"), "pin_hash": HASH, "id": "kiosk-1"}}, env={})
    agent = FakeAgent(demo_pack())
    ctl = Controller(cfg, clock=ManualClock(), display=Screen(), wall_clock=lambda: now[0])
    ctl.attach(agent, Inline(), speaker=Voice())
    ctl.start()  # a visit: home, a service, French
    ctl.go(Page.SERVICE, service="ummelden")
    ctl.set_lang("fr")
    ctl.refresh()  # the same page drawn again is no new screen
    ctl.go(Page.LOTSEN_PIN)  # staff, not counted
    ctl.start(lang="en")  # a second visit, in English
    ctl.tick()
    assert agent.usage_reports == []  # the day is not over

    now[0] += timedelta(hours=3)  # the next day
    ctl.tick()
    (report,) = agent.usage_reports
    assert (report.day, report.kiosk_id, report.sessions) == ("2026-06-02", "kiosk-1", 2)
    assert report.screens == {"home": 2, "service": 1}
    assert report.languages == {"fr": 1, "en": 1}
    assert set(report.as_json()) == {"id", "kiosk_id", "day", "sessions", "screens", "languages"}
    ctl.tick()
    assert len(agent.usage_reports) == 1  # handed over once

    ctl.start()
    ctl.stop()  # what today counted so far is not lost
    assert [(r.day, r.sessions) for r in agent.usage_reports] == [("2026-06-02", 2), ("2026-06-03", 1)]
