"""The kiosk's controller without a window: a manual clock, the fake agent in memory, a display
that records what it was asked to show. No Kivy is imported (the last test proves it)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from a2d.contentpack import ContentPack
from devtools.demopack import demo_pack
from kiosk.config import parse
from kiosk.controller import HISTORY, Controller, Page
from kiosk.fakeagent import FAKE_DEVICE_ID, FakeAgent
from kiosk.lotsen import hash_pin
from kiosk.ports import Inline
from kiosk.session import Phase
from tests.conftest import ManualClock

PIN = "357913"
HASH = hash_pin(PIN)  # once per module: scrypt is slow on purpose
ROOT = Path(__file__).resolve().parents[3]


class Screen:
    """A display that records what the controller asked of it; "Vorlesen" text names the page."""

    def __init__(self) -> None:
        self.shown: list[tuple[Page, dict[str, Any]]] = []
        self.prompts: list[float | None] = []
        self.speaking_shown: list[bool] = []

    def show(self, page: Page, params: Mapping[str, Any]) -> str:
        self.shown.append((page, dict(params)))
        return f"Seite {page.value}"

    def prompt(self, seconds_left: float | None) -> None:
        self.prompts.append(seconds_left)

    def speaking(self, on: bool) -> None:
        self.speaking_shown.append(on)

    def tick(self) -> None:
        pass


class Voice:
    """The loudspeaker, faked: what would be said, in which language, and the volume."""

    def __init__(self) -> None:
        self.said: list[tuple[str, str]] = []
        self.speaking = False
        self.volume = 50

    def say(self, text: str, lang: str) -> None:
        self.said.append((text, lang))
        self.speaking = True

    def stop(self) -> None:
        self.speaking = False

    def reset(self) -> None:
        self.speaking, self.volume = False, 50

    def close(self) -> None:
        self.stop()


@pytest.fixture(scope="module")
def pack() -> ContentPack:
    return demo_pack()


def make(
    tmp_path: Path, pack: ContentPack, *, clock: ManualClock | None = None, online: bool = True, **kiosk: Any
) -> tuple[Controller, FakeAgent, Screen, Voice]:
    cfg = parse({"kiosk": {"cache_dir": str(tmp_path / "cache"), "pin_hash": HASH, **kiosk}}, env={})
    screen, voice, agent = Screen(), Voice(), FakeAgent(pack, online=online)
    ctl = Controller(cfg, clock=clock or ManualClock(), display=screen)
    ctl.attach(agent, Inline(), speaker=voice)
    return ctl, agent, screen, voice


def test_navigation_goes_back_through_the_visit_but_never_to_the_pin_pad(
    tmp_path: Path, pack: ContentPack
) -> None:
    ctl, _agent, screen, _voice = make(tmp_path, pack)
    ctl.start()
    assert (ctl.page, ctl.can_go_back) == (Page.HOME, False)
    ctl.go(Page.SERVICE, service="ummelden")
    ctl.go(Page.SERVICE, service="ummelden")  # the same page again is no step back
    ctl.go(Page.SETTINGS)
    ctl.go(Page.LOTSEN_PIN)
    ctl.go(Page.TRANSPARENCY, record="kiosk")
    assert [p for p, _ in ctl.history] == [Page.HOME, Page.SERVICE, Page.SETTINGS]
    ctl.back()
    assert (ctl.page, ctl.params) == (Page.SETTINGS, {})
    ctl.back()
    assert (ctl.page, ctl.params) == (Page.SERVICE, {"service": "ummelden"})
    assert screen.shown[-1] == (Page.SERVICE, {"service": "ummelden"})
    ctl.back()
    ctl.back()  # nothing left: home
    assert ctl.page is Page.HOME and not ctl.can_go_back
    for i in range(HISTORY + 5):
        ctl.go(Page.FEEDBACK, index=i)
    assert len(ctl.history) == HISTORY
    ctl.go(Page.ATTRACT)  # a new visit starts a new history
    assert ctl.history == [] and ctl.session.visit.screen == "attract"
    assert [p.value for p in Page] == [p for p in ("attract", "wiped", "home", "service", "feedback",
                                       "transparency", "help", "settings", "lotsen_pin", "lotsen",
                                       "nocontent", "claim")]  # fmt: skip


def test_one_vote_per_poll_and_visit_and_the_result_after_it(tmp_path: Path, pack: ContentPack) -> None:
    ctl, agent, screen, _voice = make(tmp_path, pack)
    ctl.start()
    ctl.go(Page.FEEDBACK, index=0)
    vote_id = ctl.vote("zufriedenheit", "5")
    assert vote_id is not None and [v.id for v in agent.votes] == [vote_id]
    # the thanks at once, then again with the agent's count (the worker's result)
    assert screen.shown[-2] == (Page.FEEDBACK, {"index": 0, "just_voted": True})
    assert screen.shown[-1] == (Page.FEEDBACK, {"index": 0, "just_voted": True, "counts": {"5": 1}})
    assert ctl.vote("zufriedenheit", "1") is None  # the same visit again: no second vote
    assert [v.choice for v in agent.votes] == ["5"]
    # a poll that shows its result only after it closed: no counts are asked for
    assert ctl.vote("innenstadt-wunsch", "baeume") is not None
    assert ctl.params == {"index": 1, "just_voted": True}
    ctl.session.wipe()  # the next visit votes again
    ctl.start()
    assert ctl.vote("zufriedenheit", "4") is not None
    assert agent.results("zufriedenheit") == {"5": 1, "4": 1} and ctl.params["counts"] == {"5": 1, "4": 1}


def test_the_idle_prompt_then_the_wipe_resets_the_visit(tmp_path: Path, pack: ContentPack) -> None:
    clock = ManualClock()
    ctl, _agent, screen, voice = make(tmp_path, pack, clock=clock, idle_s=60.0, prompt_s=20.0)
    ctl.start(lang="fr")
    ctl.set_large(True)
    ctl.set_contrast(True)
    ctl.set_read_aloud(True)
    ctl.vote("zufriedenheit", "3")
    voice.volume = 90
    clock.advance(59)
    ctl.tick()
    assert not ctl.prompting
    clock.advance(1)
    ctl.tick()
    assert ctl.prompting and ctl.session.phase is Phase.PROMPT and screen.prompts[-1] == 20.0
    # read aloud in the visit's language, as the prompt comes up
    assert voice.said[-1] == (ctl.prompt_spoken(), "fr")
    assert ctl.prompt_spoken().startswith("Avez-vous besoin de plus de temps")
    clock.advance(15)
    ctl.tick()
    assert screen.prompts[-1] == 5.0
    assert ctl.user_touch() is True  # the touch that ends the prompt does nothing else
    assert not ctl.prompting and screen.prompts[-1] is None and ctl.session.lang == "fr"
    assert ctl.user_touch() is False
    clock.advance(60)
    ctl.tick()
    assert ctl.prompting
    clock.advance(20)
    ctl.tick()
    assert ctl.page is Page.WIPED and not ctl.prompting and screen.prompts[-1] is None
    visit = ctl.session.visit
    assert (visit.lang, visit.large_text, visit.high_contrast, visit.read_aloud, visit.votes) == (
        "de", False, False, False, {},
    )  # fmt: skip
    assert voice.volume == 50 and not voice.speaking
    clock.advance(6)
    ctl.tick()
    assert ctl.page is Page.ATTRACT


def test_lotsen_unlock_lockout_and_end_through_the_controller(tmp_path: Path, pack: ContentPack) -> None:
    clock = ManualClock()
    ctl, agent, _screen, _voice = make(tmp_path, pack, clock=clock, idle_s=5000.0, lotsen_session_s=1800.0)
    ctl.start()
    ctl.go(Page.SETTINGS)
    ctl.go(Page.LOTSEN_PIN)
    assert ctl.lotsen_unlock("111111") == "Falsche PIN. Noch 4 Versuche."
    for _ in range(3):
        ctl.lotsen_unlock("111111")
    assert ctl.lotsen_unlock("111111") == "Zu viele falsche Versuche. Bitte warten Sie 5 Minuten."
    assert ctl.lotsen_unlock(PIN).startswith("Zu viele")  # even the right PIN, while locked
    assert ctl.page is Page.LOTSEN_PIN and not ctl.lotsen_active()
    clock.advance(300)
    assert ctl.lotsen_unlock(PIN) == ""
    assert ctl.page is Page.LOTSEN and ctl.lotsen_active() and ctl.lotsen_left() == 1800
    data = ctl.lotsen_data()
    assert data["status"].device_id == FAKE_DEVICE_ID and data["agent"] is True and data["help"] == []
    assert data["pending"] == 0 and data["paired"] is True
    ctl.lotsen_end("lotse")
    assert ctl.page is Page.HOME and not ctl.lotsen_active()
    ctl.go(Page.LOTSEN_PIN)
    ctl.lotsen_unlock(PIN)
    clock.advance(1800)  # a forgotten session ends by itself
    ctl.tick()
    assert ctl.page is Page.HOME and not ctl.lotsen_active() and not ctl.can_go_back
    log = [json.loads(line) for line in ctl.cfg.lotsen_log.read_text().splitlines()]
    assert [(e["event"], e["reason"]) for e in log] == [
        ("lockout", "wrong-pins"), ("start", "pin"), ("end", "lotse"), ("start", "pin"), ("end", "timeout"),
    ]  # fmt: skip
    assert agent.votes == []


def test_a_lotse_resets_the_visit_language_and_contrast_go_back(tmp_path: Path, pack: ContentPack) -> None:
    ctl, _agent, screen, voice = make(tmp_path, pack)
    ctl.start(lang="en")
    ctl.set_contrast(True)
    ctl.set_large(True)
    voice.volume = 80
    ctl.go(Page.LOTSEN_PIN)
    ctl.lotsen_unlock(PIN)
    ctl.lotsen_set_language("fr")  # hands the kiosk over in French
    assert (ctl.page, ctl.session.lang, ctl.lotsen_active()) == (Page.HOME, "fr", False)
    assert ctl.session.visit.high_contrast  # the citizen's own choice stays
    ctl.go(Page.LOTSEN_PIN)
    ctl.lotsen_unlock(PIN)
    ctl.lotsen_reset_session()
    assert ctl.page is Page.WIPED and not ctl.lotsen_active() and ctl.history == []
    visit = ctl.session.visit
    assert (visit.lang, visit.high_contrast, visit.large_text, voice.volume) == ("de", False, False, 50)
    ctl.start()
    assert screen.shown[-1] == (Page.HOME, {}) and ctl.translator.lang == "de"


def test_new_content_without_the_service_on_screen_leads_home(tmp_path: Path, pack: ContentPack) -> None:
    ctl, agent, screen, _voice = make(tmp_path, pack)
    ctl.start()
    ctl.go(Page.SERVICE, service="ummelden")
    smaller = dataclasses.replace(pack, services=tuple(s for s in pack.services if s.id != "ummelden"))
    agent.publish(smaller)
    assert ctl.pack is smaller
    assert (ctl.page, ctl.params) == (Page.HOME, {}) and screen.shown[-1] == (Page.HOME, {})
    # nor does "Zurück" lead to a service that is gone
    agent.publish(pack)
    ctl.go(Page.SERVICE, service="ummelden")
    ctl.go(Page.SETTINGS)
    shown = len(screen.shown)
    agent.publish(smaller)
    assert len(screen.shown) == shown  # the settings page shows nothing from the pack
    ctl.back()
    assert (ctl.page, ctl.params) == (Page.HOME, {})
    # a page made from the content is drawn again, with the same parameters
    ctl.go(Page.TRANSPARENCY, record="kiosk")
    agent.publish(pack)
    assert screen.shown[-1] == screen.shown[-2] == (Page.TRANSPARENCY, {"record": "kiosk"})


def test_without_a_pack_the_kiosk_says_so_starts_no_visit_and_takes_the_first_pack(
    tmp_path: Path, pack: ContentPack
) -> None:
    clock = ManualClock()
    cfg = parse({"kiosk": {"cache_dir": str(tmp_path / "cache"), "idle_s": 60.0}}, env={})
    screen, agent = Screen(), FakeAgent(None)  # its agent has no pack yet, none is cached
    ctl = Controller(cfg, clock=clock, display=screen)
    ctl.go(Page.ATTRACT)  # the first frame, before the agent client is there: no town yet
    assert screen.shown == [(Page.ATTRACT, {})] and ctl.town() == ""
    ctl.attach(agent, Inline(), speaker=Voice())
    assert ctl.page is Page.NOCONTENT and screen.shown[-1] == (Page.NOCONTENT, {})
    assert not ctl.page.chrome and not ctl.page.in_history
    with pytest.raises(LookupError):
        ctl.pack  # noqa: B018 - no page reads a pack that is not there
    assert ctl.user_touch() is True  # swallowed: nothing to visit
    ctl.start()
    ctl.go(Page.HOME)
    assert ctl.page is Page.NOCONTENT and ctl.session.phase is Phase.ATTRACT and ctl.history == []
    clock.advance(600)
    ctl.tick()
    assert not ctl.prompting and ctl.page is Page.NOCONTENT  # no visit, so no idle prompt
    agent.publish(pack)
    assert (ctl.page, ctl.town()) == (Page.ATTRACT, "Stadt Offenburg")
    assert screen.shown[-1] == (Page.ATTRACT, {})
    assert ctl.user_touch() is False
    ctl.start()
    assert ctl.page is Page.HOME and ctl.session.phase is Phase.ACTIVE


def test_the_first_frame_is_not_drawn_again_when_the_pack_is_read(tmp_path: Path, pack: ContentPack) -> None:
    """Attaching the client that has a pack changes only the town's label (the screen's tick reads
    ``town()``): rebuilding the attract screen after the first frame costs memory."""
    cfg = parse({"kiosk": {"cache_dir": str(tmp_path / "cache")}}, env={})
    screen = Screen()
    ctl = Controller(cfg, display=screen)
    ctl.go(Page.ATTRACT)
    assert ctl.town() == ""
    ctl.attach(FakeAgent(pack), Inline(), speaker=Voice())
    assert screen.shown == [(Page.ATTRACT, {})] and ctl.town() == "Stadt Offenburg"
    # a touch before the pack was read showed "no content yet": once read, the attract screen
    early = Controller(cfg, display=Screen())
    early.go(Page.ATTRACT)
    early.start()
    assert early.page is Page.NOCONTENT and early.session.phase is Phase.ATTRACT
    early.attach(FakeAgent(pack), Inline(), speaker=Voice())
    assert early.page is Page.ATTRACT


def test_the_pack_given_shows_until_the_agent_has_one_and_never_wins_over_it(
    tmp_path: Path, pack: ContentPack
) -> None:
    """The demo pack is given to the controller explicitly (``a2d kiosk`` without ``--config``)."""
    cfg = parse({"kiosk": {"cache_dir": str(tmp_path / "cache")}}, env={})
    ctl = Controller(cfg, pack=pack, display=Screen())
    ctl.go(Page.ATTRACT)
    assert ctl.town() == "Stadt Offenburg"
    agent = FakeAgent(None)
    ctl.attach(agent, Inline(), speaker=Voice())
    assert ctl.page is Page.ATTRACT and ctl.pack is pack
    other = dataclasses.replace(pack, town="Gengenbach")
    agent.publish(other)
    assert ctl.pack is other
    served = Controller(cfg, pack=pack, display=Screen())
    served.attach(FakeAgent(other), Inline(), speaker=Voice())
    assert served.pack is other


def test_a_help_request_while_the_agent_is_offline_waits_and_arrives(
    tmp_path: Path, pack: ContentPack
) -> None:
    ctl, agent, _screen, _voice = make(tmp_path, pack, online=False)
    ctl.start()
    ctl.go(Page.SERVICE, service="ausweis-pass")
    ctl.call_help("ausweis-pass")
    assert (ctl.page, ctl.params) == (Page.HELP, {"again": False})
    assert ctl.session.visit.help_id is not None
    assert agent.pending() == 1 and agent.requests == []
    ctl.call_help("ausweis-pass")  # a second tap in the same visit calls nobody again
    assert (ctl.page, ctl.params) == (Page.HELP, {"again": True}) and agent.pending() == 1
    ctl.go(Page.LOTSEN_PIN)
    ctl.lotsen_unlock(PIN)
    assert ctl.lotsen_data()["agent"] is False and ctl.lotsen_data()["pending"] == 1
    agent.online = True
    assert agent.pending() == 0
    [request] = agent.help_requests("open")
    assert (request["id"], request["topic"]) == (ctl.session.visit.help_id, "ausweis-pass")
    ctl.lotsen_refresh()
    assert ctl.lotsen_data()["help"] == [request]
    ctl.lotsen_close_help(request["id"])
    assert ctl.lotsen_data()["help"] == [] and agent.help_requests("all")[0]["state"] == "closed"


def test_vorlesen_reads_the_page_or_the_prompt_and_a_tap_stops_it(tmp_path: Path, pack: ContentPack) -> None:
    ctl, _agent, screen, voice = make(tmp_path, pack)
    ctl.start(lang="en")
    ctl.go(Page.SETTINGS)
    ctl.toggle_reading()
    assert voice.said[-1] == ("Seite settings", "en") and screen.speaking_shown[-1] is True
    ctl.tapped("vorlesen")
    assert voice.speaking
    ctl.tapped("done")
    assert not voice.speaking
    ctl.toggle_reading()
    ctl.toggle_reading()  # the second tap stops it
    assert not voice.speaking and screen.speaking_shown[-1] is False
    ctl.ask_more_time()
    ctl.toggle_reading()
    assert voice.said[-1] == (ctl.prompt_spoken(), "en") and "more time" in voice.said[-1][0]
    ctl.keep_going()
    assert not voice.speaking
    ctl.set_read_aloud(True)  # from now on every page is read as it opens
    ctl.go(Page.HOME)
    assert voice.said[-1] == ("Seite home", "en")


def test_the_fake_agent_answers_as_the_agent_does(pack: ContentPack) -> None:
    from a2d.localapi import LocalApiError

    agent = FakeAgent(pack, kiosk_id="kiosk-eg")
    seen: list[ContentPack] = []
    agent.on_content = seen.append
    for choice in ("5", "5", "2"):
        agent.vote("zufriedenheit", choice, "de")
    assert agent.results("zufriedenheit") == {"5": 2, "2": 1} and agent.results("other") == {}
    with pytest.raises(LocalApiError, match="poll_id"):
        agent.vote("p" * 65, "1", "de")  # the agent would refuse it: so does the fake, at once
    first, second = agent.help(""), agent.help("ummelden")
    assert [r["id"] for r in agent.help_requests()] == [second, first]  # newest first
    assert agent.close_help(first) and not agent.close_help("nobody")
    assert [r["id"] for r in agent.help_requests("open")] == [second]
    assert agent.status() is not None and agent.status().open_help_requests == 1  # type: ignore[union-attr]
    agent.online = False
    assert agent.results("zufriedenheit") is None and agent.status() is None and agent.help_requests() == []
    agent.vote("zufriedenheit", "1", "de")
    assert agent.pending() == 1 and not agent.flush(1.0)  # waits, as in the kiosk's outbox
    agent.online = True
    assert agent.pending() == 0 and agent.results("zufriedenheit") == {"5": 2, "2": 1, "1": 1}
    agent.publish(pack)
    assert seen == [pack] and agent.content() is pack


def test_the_claim_code_shows_while_its_notice_exists_and_nothing_else_does(
    tmp_path: Path, pack: ContentPack
) -> None:
    from a2d import claimwire

    notice = tmp_path / "run" / "claim.json"
    ctl, _agent, screen, voice = make(tmp_path, pack, claim_file=str(notice))
    ctl.start()
    ctl.tick()
    assert ctl.page is Page.HOME  # no notice: the kiosk as usual
    claimwire.write(notice, claimwire.ClaimNotice("493027", "10000000a1b2c3d4"))
    ctl.tick()
    assert screen.shown[-1] == (
        Page.CLAIM,
        {"code": "493027", "serial": "10000000a1b2c3d4", "locked_until": None},
    )
    assert voice.said[-1][0] == "Seite claim"  # read aloud at once (speech is on; nobody can ask for it)
    said = len(voice.said)
    assert ctl.user_touch() is True  # a touch starts no visit
    ctl.go(Page.SERVICE, service="ummelden")
    ctl.session.wipe()
    ctl.tick()
    assert ctl.page is Page.CLAIM and not ctl.page.chrome and not ctl.page.in_history
    claimwire.write(notice, claimwire.ClaimNotice("493027", "10000000a1b2c3d4", "2026-12-03T14:10:00+00:00"))
    ctl.tick()
    assert screen.shown[-1][1]["locked_until"] == "2026-12-03T14:10:00+00:00"
    assert len(voice.said) == said  # the same code is not read again
    notice.unlink()  # claimed
    ctl.tick()
    assert ctl.page is Page.ATTRACT and ctl.claim is None
    assert ctl.user_touch() is False


def test_a_kiosk_without_content_shows_the_claim_code_and_a_broken_notice_is_none(
    tmp_path: Path, pack: ContentPack
) -> None:
    from a2d import claimwire

    notice = tmp_path / "claim.json"
    cfg = parse({"kiosk": {"cache_dir": str(tmp_path / "cache"), "claim_file": str(notice),
                           "speech": False}}, env={})  # fmt: skip
    screen, voice = Screen(), Voice()
    ctl = Controller(cfg, clock=ManualClock(), display=screen)
    ctl.attach(FakeAgent(None), Inline(), speaker=voice)
    assert ctl.page is Page.NOCONTENT
    claimwire.write(notice, claimwire.ClaimNotice("000123", "abcd1234"))
    ctl.tick()
    assert ctl.page is Page.CLAIM and ctl.params["code"] == "000123"
    assert voice.said == []  # speech is off
    notice.write_text("{not json")
    ctl.tick()
    assert ctl.page is Page.NOCONTENT
    assert parse({}, env={}).claim_file == claimwire.DEFAULT_NOTICE
    assert parse({"kiosk": {"claim_file": ""}}, env={}).claim_file is None


def test_driving_the_controller_imports_no_kivy(tmp_path: Path) -> None:
    script = f"""
import json, sys
from devtools.demopack import demo_pack
from kiosk.config import parse
from kiosk.controller import Controller, Page
from kiosk.fakeagent import FakeAgent
from kiosk.ports import Inline
cfg = parse({{"kiosk": {{"cache_dir": {str(tmp_path / "cache")!r}, "speech": False}}}}, env={{}})
ctl = Controller(cfg)
agent = FakeAgent(demo_pack())
ctl.attach(agent, Inline())
ctl.start(lang="fr")
ctl.go(Page.FEEDBACK, index=0)
ctl.vote("zufriedenheit", "5")
ctl.call_help("")
ctl.session.prompt_now()
ctl.tick()
ctl.stop()
print(json.dumps({{"kivy": sorted(m for m in sys.modules if m.split(".")[0] == "kivy"),
                  "page": ctl.page.value, "votes": len(agent.votes), "requests": len(agent.requests)}}))
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=60, check=True)  # fmt: skip
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"kivy": [], "page": "help", "votes": 1, "requests": 1}
