"""`a2d kiosk --selftest OUT --at TIME`: the screens as they look at one moment, open or after hours;
and the Lotsen view of a kiosk with its own kiosk.toml (not the demo PIN), unlocked, with its
agent's help requests (a reduced set of screens, in this test's window)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from a2d.contentpack import load as load_pack
from devtools.demopack import DEMO_PACK
from kiosk import cli, selftest
from kiosk.config import load, parse
from kiosk.lotsen import hash_pin
from tests.kiosk.ui.conftest import EdgeAgent
from tests.signedpack import PUBLIC

SUNDAY_NOON = "2026-06-07T12:00:00+02:00"


def test_after_hours_home_service_and_help_say_when_the_office_is_back_in_every_language(
    window: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keep = ("home", "service", "help")
    monkeypatch.setattr(selftest, "SCREENS", tuple(s for s in selftest.SCREENS if s[0] in keep))
    monkeypatch.setattr(
        selftest, "EXTRA", (("help", "ls", False), ("home", "ls", False), ("service", "de", True))
    )
    cfg = load(None, env={"A2D_KIOSK_CACHE_DIR": str(tmp_path / "cache")})
    report = selftest.run(cfg, tmp_path / "out", load_pack(DEMO_PACK), at=datetime.fromisoformat(SUNDAY_NOON))
    assert (report["mode"], report["site"], report["at_default"]) == ("closed", "rathaus", False)
    assert report["reopens"] == "2026-06-08T08:00:00+02:00"
    screens = report["screens"]
    back = {"de": "Wir sind wieder da: morgen, 8 Uhr", "en": "We are back: tomorrow, 8 am",
            "fr": "Nous serons de retour : demain, 8 h", "ls": "Wir sind wieder da: morgen, 8 Uhr"}  # fmt: skip
    for name, entry in screens.items():
        lang = entry["language"]
        assert back[lang] in entry["spoken"], (name, entry["spoken"][-200:])
        assert entry["clipped"] == [] and entry["min_contrast"] >= 4.5, name
    assert "Hilfe holen" not in screens["home-de-normal"]["spoken"]
    assert "Hilfe ist unterwegs" not in screens["help-de-normal"]["spoken"]
    png = Image.open(tmp_path / "out" / screens["home-de-normal"]["png"])
    assert png.size == (1280, 800)


def test_without_at_the_selftest_shows_a_moment_when_the_demo_office_is_open(
    window: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    root_logging: None,
) -> None:  # fmt: skip
    monkeypatch.setattr(selftest, "SCREENS", tuple(s for s in selftest.SCREENS if s[0] == "home"))
    monkeypatch.setattr(selftest, "EXTRA", ())
    monkeypatch.setenv("A2D_KIOSK_CACHE_DIR", str(tmp_path / "cache"))
    assert cli.main(["--selftest", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "shown as at 2026-06-09T10:00:00+02:00 (the default: the demo office is open then): open" in out
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert (report["mode"], report["at_default"]) == ("open", True)
    assert "Hilfe holen" in report["screens"]["home-de-normal"]["spoken"]


@pytest.fixture
def root_logging() -> Any:
    import logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_a_kiosk_toml_selftest_unlocks_lotsen_and_shows_its_agents_help_call(
    window: Any, tmp_path: Path, edge_factory: Callable[..., EdgeAgent], pack_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """What ``a2d demo`` renders: a kiosk.toml with a PIN of its own and a paired agent that holds a
    help call. The Lotsen view is unlocked (30 minutes left, not 0) and lists the call."""
    monkeypatch.setattr(selftest, "SCREENS", tuple(s for s in selftest.SCREENS if s[0] == "lotsen"))
    monkeypatch.setattr(selftest, "EXTRA", ())
    edge = edge_factory(pack_file)
    now = datetime.now(UTC)  # the agent's retention drops a help request from long ago
    call = {"id": "help-from-the-citizen", "at": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "topic": "ummelden"}
    req = urllib.request.Request(edge.url + "/v1/help", json.dumps(call).encode(), method="POST",
                                 headers={"Content-Type": "application/json", **edge.kiosk.headers})  # fmt: skip
    with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - the test's agent on 127.0.0.1
        assert resp.status in (200, 201)
    cfg = parse({"kiosk": {"id": "kiosk-eg", "agent_url": edge.url, "token": edge.kiosk.token,
                           "agent_device_id": edge.device_id, "cache_dir": str(tmp_path / "cache"),
                           "pin_hash": hash_pin("55501234"), "trusted_keys": [PUBLIC]}}, env={})  # fmt: skip
    report = selftest.run(cfg, tmp_path / "out")
    spoken = report["screens"]["lotsen-de-normal"]["spoken"]
    assert spoken.startswith("Lotsen-Modus Verbunden mit dem Gerät im Haus"), spoken
    assert "endet von selbst in 30 Minuten" in spoken
    assert f"{now:%H:%M} kiosk-eg: Wohnsitz anmelden oder ummelden" in spoken, spoken
    assert report["content"] == "agent"
