"""The kiosk's flows with Kivy rendering offscreen and simulated touches, against a real edge agent."""

from __future__ import annotations

import io
import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pyzbar.pyzbar import decode

from a2d import contentpack
from kiosk import speech
from kiosk.session import Phase
from tests.conftest import ManualClock

from .conftest import PIN, EdgeAgent, find, pump, tap, texts, until, wait_for


def _png(widget: Any, tmp_path: Path, name: str) -> Image.Image:
    path = tmp_path / f"{name}.png"
    widget.export_to_png(str(path))
    return Image.open(io.BytesIO(path.read_bytes())).convert("RGB")


def test_tap_a_tile_shows_the_service_with_a_qr_code_that_decodes_to_its_address(
    make_kiosk: Callable[..., Any], tmp_path: Path
) -> None:
    k = make_kiosk()
    tap(find(k.root, "start-de"))
    assert k.page.name == "home"
    service = k.ctl.pack.services[2]
    tap(find(k.root, f"tile-{service.id}"))
    assert k.page.name == "service" and k.page.params["service"] == service.id
    shown = texts(k.root)
    assert service.title["de"] in shown
    assert any(t.startswith("Stand: ") for t in shown)
    codes = decode(_png(k.root, tmp_path, "service"))
    assert [c.data.decode() for c in codes] == [service.url]
    # back on the home screen with one tap
    tap(find(k.root, "back"))
    assert k.page.name == "home"


def test_a_vote_arrives_at_the_edge_agent_and_the_result_is_shown(
    make_kiosk: Callable[..., Any], edge_factory: Callable[..., EdgeAgent], pack_file: Path
) -> None:
    edge = edge_factory(pack_file)
    k = make_kiosk(edge)
    until(lambda: k.ctl.client.content_source == "agent", what="the agent's content pack")
    k.ctl.start()
    tap(find(k.root, "feedback"))
    assert k.page.name == "feedback"
    poll = k.ctl.pack.polls[0]
    assert poll.kind == "smiley" and poll.results == "after_vote"
    best = poll.choices[-1]
    tap(find(k.root, f"choice-{best.id}"))
    assert "Danke!" in texts(k.root)
    wait_for(lambda: edge.stored_votes(), what="the vote in the agent's database")
    [stored] = edge.stored_votes()
    assert (stored["poll_id"], stored["choice"], stored["kiosk_id"]) == (poll.id, best.id, "kiosk-test")
    until(lambda: any(t.endswith(": 100 %") for t in texts(k.root)), what="the result after the vote")
    # one vote per visit: coming back shows the thanks again, no second vote is possible
    k.ctl.go("feedback", index=0)
    pump()
    assert "Sie haben hier schon abgestimmt." in " ".join(texts(k.root))
    assert k.ctl.client.pending() == 0 and len(edge.stored_votes()) == 1


def test_with_the_agent_down_the_vote_is_kept_and_delivered_later(
    make_kiosk: Callable[..., Any], edge_factory: Callable[..., EdgeAgent], pack_file: Path
) -> None:
    edge = edge_factory(pack_file, start=False)
    k = make_kiosk(edge)
    k.ctl.start()
    k.ctl.go("feedback", index=1)
    pump()
    poll = k.ctl.pack.polls[1]
    assert poll.results == "after_close"
    tap(find(k.root, f"choice-{poll.choices[0].id}"))
    assert "Danke!" in texts(k.root)
    assert k.ctl.client.pending() == 1
    assert not k.ctl.client.online
    edge.start()
    wait_for(lambda: k.ctl.client.pending() == 0, what="the outbox to drain once the agent is back")
    wait_for(lambda: len(edge.stored_votes()) == 1, what="the vote at the agent")
    assert edge.stored_votes()[0]["choice"] == poll.choices[0].id


def test_idle_prompt_gives_more_time_then_wipes_the_visit(make_kiosk: Callable[..., Any]) -> None:
    clock = ManualClock()
    k = make_kiosk(clock=clock, idle_s=60.0, prompt_s=20.0)
    tap(find(k.root, "start-fr"))
    tap(find(k.root, "settings"))
    tap(find(k.root, "text-1"))  # large text
    tap(find(k.root, "contrast-1"))  # high contrast
    assert k.ctl.session.visit.large_text and k.ctl.session.visit.high_contrast
    k.ctl.vote(k.ctl.pack.polls[0].id, "3")
    k.ctl.speaker.volume = 90
    clock.advance(59)
    k.ctl.tick()
    assert k.prompt is None
    clock.advance(1)
    k.ctl.tick()
    pump()
    assert k.ctl.session.phase is Phase.PROMPT and k.prompt is not None
    assert "Avez-vous besoin de plus de temps\u00a0?" in texts(k.root)
    clock.advance(15)
    k.ctl.tick()
    assert k.prompt is not None
    tap(find(k.root, "more-time"))
    assert k.prompt is None and k.ctl.session.phase is Phase.ACTIVE and k.ctl.session.lang == "fr"
    # nobody comes back: prompt, then after prompt_s the wipe
    clock.advance(60)
    k.ctl.tick()
    assert k.prompt is not None
    k.ctl.read("Un texte assez long pour que la lecture dure encore. " * 20)
    clock.advance(20)
    k.ctl.tick()
    pump()
    assert k.ctl.session.phase is Phase.WIPED and k.page.name == "wiped" and k.prompt is None
    assert "Ihre Eingaben wurden gelöscht" in texts(k.root)
    visit = k.ctl.session.visit
    assert (visit.lang, visit.large_text, visit.high_contrast, visit.votes) == ("de", False, False, {})
    assert not k.ctl.speaker.speaking and k.ctl.speaker.volume == k.ctl.cfg.volume
    clock.advance(10)
    k.ctl.tick()
    assert k.page.name == "attract"


def test_lotsen_pin_locks_after_five_wrong_tries(make_kiosk: Callable[..., Any], tmp_path: Path) -> None:
    clock = ManualClock()
    k = make_kiosk(clock=clock, idle_s=3000.0)
    k.ctl.start()
    tap(find(k.root, "settings"))
    tap(find(k.root, "lotsen"))
    assert k.page.name == "lotsen_pin"

    def enter(pin: str) -> None:
        for digit in pin:
            tap(find(k.root, f"key-{digit}"))
        tap(find(k.root, "key-OK"))

    for left in (4, 3, 2, 1):
        enter("111111")
        tries = "Versuch" if left == 1 else "Versuche"  # "Noch 1 Versuch."
        assert f"Falsche PIN. Noch {left} {tries}." in texts(k.root)
    enter("111111")
    assert any(t.startswith("Zu viele falsche Versuche") for t in texts(k.root))
    enter(PIN)  # even the right PIN is refused while locked
    assert k.page.name == "lotsen_pin" and not k.ctl.lotsen_active()
    assert any(t.startswith("Zu viele falsche Versuche") for t in texts(k.root))
    clock.advance(300)  # the lockout is over
    enter(PIN)
    assert k.page.name == "lotsen" and k.ctl.lotsen_active()
    assert "Lotsen-Modus endet von selbst in 30 Minuten" in texts(k.root)
    clock.advance(1800)  # a forgotten Lotsen session ends by itself
    k.ctl.tick()
    assert not k.ctl.lotsen_active() and k.page.name == "home"


def test_lotsen_mode_shows_help_requests_and_resets_the_visit(
    make_kiosk: Callable[..., Any], edge_factory: Callable[..., EdgeAgent], pack_file: Path
) -> None:
    edge = edge_factory(pack_file)
    k = make_kiosk(edge)
    until(lambda: k.ctl.client.content_source == "agent", what="the agent's content pack")
    k.ctl.start(lang="en")
    tap(find(k.root, "help"))
    assert k.page.name == "help" and "Help is on its way" in texts(k.root)
    wait_for(lambda: k.ctl.client.pending() == 0, what="the help request at the agent")
    tap(find(k.root, "settings"))
    tap(find(k.root, "lotsen"))
    for digit in PIN:
        tap(find(k.root, f"key-{digit}"))
    tap(find(k.root, "key-OK"))
    assert k.page.name == "lotsen" and k.ctl.lotsen_active()
    until(lambda: find_or_none(k.root, "close-help") is not None, what="the open help request")
    tap(find(k.root, "close-help"))
    until(lambda: "No open help calls." in texts(k.root), what="the help request closed")
    tap(find(k.root, "reset"))
    assert k.page.name == "wiped" and not k.ctl.lotsen_active() and k.ctl.session.lang == "de"
    log = (k.ctl.cfg.lotsen_log).read_text()
    assert '"event": "start"' in log and '"event": "end"' in log and "help" not in log


def find_or_none(root: Any, name: str) -> Any:
    try:
        return find(root, name)
    except LookupError:
        return None


def test_vorlesen_reads_the_screen_in_its_language_and_stops_on_navigation(
    make_kiosk: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # espeak-ng writes a WAV far faster than it would speak; pause it as soon as it starts, as if
    # it were still talking through the loudspeaker, so that navigation finds it mid-sentence
    real_popen = subprocess.Popen

    def paused(*args: Any, **kw: Any) -> Any:
        proc = real_popen(*args, **kw)
        os.kill(proc.pid, signal.SIGSTOP)
        return proc

    monkeypatch.setattr(speech.subprocess, "Popen", paused)
    k = make_kiosk()
    k.ctl.start(lang="fr")
    tap(find(k.root, "vorlesen"))
    assert k.ctl.speaker.last_wav is not None and k.ctl.speaker.last_wav.name.endswith("-fr.wav")
    assert k.ctl.last_spoken == k.page.spoken and "Bienvenue" in k.ctl.last_spoken
    proc = k.ctl.speaker._proc
    assert proc is not None
    tap(find(k.root, "tile-" + k.ctl.pack.services[0].id))
    assert not k.ctl.speaker.speaking
    assert proc.returncode is not None and proc.returncode < 0, "speech was not stopped by navigation"
    assert k.ctl.speaker.wait(10)


def test_language_chip_and_leichte_sprache(make_kiosk: Callable[..., Any]) -> None:
    k = make_kiosk()
    k.ctl.start()
    pack = k.ctl.pack
    assert "ls" in pack.languages
    tap(find(k.root, "chip-en"))
    assert pack.services[0].title["en"] in texts(k.root)
    tap(find(k.root, "settings"))
    tap(find(k.root, "lang-3"))  # Leichte Sprache
    tap(find(k.root, "done"))
    assert k.page.name == "home"
    assert contentpack.pick(pack.services[0].title, "ls") in texts(k.root)
    # the kiosk's own words in Leichte Sprache too (shown and read aloud), not their German msgids
    shown = texts(k.root)
    assert "Was sammelt dieses Gerät?" in shown and "Was erfasst dieses Gerät?" not in shown
    assert "Tippen Sie auf ein Feld. Dann sehen Sie mehr." in k.page.spoken
    tap(find(k.root, "tile-" + pack.services[0].id))
    assert "Das bringen Sie mit" in texts(k.root) and "Das brauchen Sie" not in texts(k.root)
    assert "Das bringen Sie mit:" in k.page.spoken


def test_the_lotsen_screen_says_when_the_agent_refuses_the_kiosks_token(
    make_kiosk: Callable[..., Any], edge_factory: Callable[..., EdgeAgent], pack_file: Path
) -> None:
    edge = edge_factory(pack_file)
    k = make_kiosk(edge, token="a2dk_not-paired-here")
    k.ctl.start()
    tap(find(k.root, "settings"))
    tap(find(k.root, "lotsen"))
    for digit in PIN:
        tap(find(k.root, f"key-{digit}"))
    tap(find(k.root, "key-OK"))
    assert k.page.name == "lotsen"
    until(lambda: any(t.startswith("Nicht gekoppelt") for t in texts(k.root)), what="the not-paired line")
    assert "Verbunden mit dem Gerät im Haus" in texts(k.root)  # the agent answers, just not to us


def test_a_kiosk_without_content_says_so_and_never_shows_the_demo(
    make_kiosk: Callable[..., Any], edge_factory: Callable[..., EdgeAgent], pack_file: Path
) -> None:
    edge = edge_factory(pack_file, start=False)  # its agent is not up yet: no pack, none cached
    k = make_kiosk(edge, demo=False)
    until(lambda: k.page.name == "nocontent", what="the no-content page")
    assert k.ctl.content() is None
    shown = texts(k.root)
    assert {"Noch keine Inhalte", "Pas encore de contenu", "No content yet"} <= set(shown)
    assert "Stadt Offenburg" not in " ".join(shown)
    tap(k.root.frame)  # nothing to visit: a touch starts no visit (and so no idle prompt later)
    assert k.page.name == "nocontent" and k.ctl.session.phase is Phase.ATTRACT
    k.ctl.go("home")
    assert k.page.name == "nocontent"
    edge.start()
    k.ctl.client.refresh()
    until(lambda: k.page.name == "attract", what="the attract screen once the agent's pack arrived")
    assert k.ctl.client.content_source == "agent" and "Stadt Offenburg" in texts(k.root)


def test_a_restarted_kiosk_shows_its_cached_pack_while_the_agent_is_away(
    make_kiosk: Callable[..., Any], edge_factory: Callable[..., EdgeAgent], pack_file: Path
) -> None:
    edge = edge_factory(pack_file)
    first = make_kiosk(edge, demo=False)
    until(lambda: first.ctl.client.content_source == "agent", what="the agent's content pack")
    until(lambda: "Stadt Offenburg" in texts(first.root), what="the attract screen with the agent's pack")
    assert first.page.name == "attract"
    edge.stop()
    again = make_kiosk(edge, demo=False)  # the same cache folder, no agent, no demo pack
    assert again.ctl.client.content_source == "cache"
    until(lambda: "Stadt Offenburg" in texts(again.root), what="the town's name once the pack is read")
    pump(4)  # a few frames more: a kiosk with a cached pack never says "no content yet"
    assert again.page.name == "attract"
