"""`a2d kiosk hash-pin` and the selftest's report (a reduced set of screens, in this test's window)."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pyzbar.pyzbar import decode

from a2d.contentpack import load as load_pack
from devtools.demopack import DEMO_PACK
from kiosk import cli, selftest
from kiosk.config import load
from kiosk.lotsen import verify_pin


def test_hash_pin_reads_stdin_and_prints_a_hash(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("246802\n"))
    assert cli.main(["hash-pin"]) == 0
    out = capsys.readouterr().out.strip()
    assert verify_pin("246802", out) and not verify_pin("246803", out)


def test_selftest_report_and_screenshots(
    window: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keep = ("service", "prompt")
    monkeypatch.setattr(selftest, "SCREENS", tuple(s for s in selftest.SCREENS if s[0] in keep))
    monkeypatch.setattr(selftest, "EXTRA", (("service", "ls", False), ("home", "de", True)))
    cfg = load(None, env={"A2D_KIOSK_CACHE_DIR": str(tmp_path / "cache")})
    report = selftest.run(cfg, tmp_path / "out", load_pack(DEMO_PACK))
    assert report == json.loads((tmp_path / "out" / "report.json").read_text())
    assert (report["content"], report["pack"]) == ("demo", "Stadt Offenburg")
    screens = report["screens"]
    assert len(screens) == len(keep) * 3 * 2 + 2
    assert "service-ls-normal" in screens and "home-de-normal-large" in screens
    for name, entry in screens.items():
        png = Image.open(tmp_path / "out" / entry["png"]).convert("RGB")
        assert png.size == (1280, 800)
        assert len(png.resize((200, 150)).getcolors(200 * 150) or []) >= 20, f"{name} looks blank"
        assert entry["min_target_dp"] >= 48 and entry["clipped"] == [] and entry["spoken"]
        assert entry["min_contrast"] >= (7.0 if entry["theme"] == "high_contrast" else 4.5)
    assert screens["prompt-fr-normal"]["spoken"].startswith("Avez-vous besoin de plus de temps")
    assert "Das bringen Sie mit:" in screens["service-ls-normal"]["spoken"]  # the kiosk's words in ls
    shot = Image.open(tmp_path / "out" / screens["service-de-high_contrast"]["png"])
    assert [c.data.decode() for c in decode(shot)] == [load_pack(DEMO_PACK).services[0].url]
    assert not (tmp_path / "cache").exists(), "the selftest wrote into the kiosk's cache"


def test_a_7_inch_panel_gets_a_layout_that_fits(window: Any, tmp_path: Path) -> None:
    """800 x 480, the Raspberry Pi touch display: every screen, language and theme, large text too."""
    cfg = load(None, env={"A2D_KIOSK_CACHE_DIR": str(tmp_path / "cache"), "A2D_KIOSK_DISPLAY_WIDTH": "800",
                          "A2D_KIOSK_DISPLAY_HEIGHT": "480"})  # fmt: skip
    try:
        report = selftest.run(cfg, tmp_path / "out", load_pack(DEMO_PACK))
    finally:
        window.size = (1280, 800)
    summary = report["summary"]
    assert report["window"] == [800, 480] and summary["screenshots"] >= 80
    # Leichte Sprache is longer than German: every screen but the attract screen is checked in it too
    assert {f"{shot}-ls-normal" for shot, _page, _params in selftest.SCREENS[1:]} <= set(report["screens"])
    assert summary["clipped_labels"] == 0 and summary["broken_words"] == [], summary
    assert summary["smallest_target_dp"] >= 48 and summary["lowest_contrast"] >= 4.5
    shot = Image.open(tmp_path / "out" / report["screens"]["service-de-normal"]["png"])
    assert [c.data.decode() for c in decode(shot)] == [load_pack(DEMO_PACK).services[0].url]


@pytest.fixture
def root_logging() -> Iterator[None]:
    """`a2d kiosk` sets up logging on this test's stderr: put the root logger back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_without_a_pack_the_selftest_renders_the_no_content_page_only(window: Any, tmp_path: Path) -> None:
    """A kiosk.toml whose agent serves nothing: what such a kiosk shows, never the demo."""
    cfg = load(None, env={"A2D_KIOSK_CACHE_DIR": str(tmp_path / "cache")})
    report = selftest.run(cfg, tmp_path / "out")
    assert (report["content"], report["pack"]) == ("none", None)
    screens = report["screens"]
    # what such a kiosk shows: "no content yet", and the claim code while the Pi waits to be claimed
    assert sorted(screens) == sorted(f"{shot}-{lang}-{theme}" for shot in ("nocontent", "claim")
                                     for lang in ("de", "fr", "en") for theme in ("normal", "high_contrast"))  # fmt: skip
    assert screens["claim-en-normal"]["spoken"] == (
        "This device is waiting to be set up. Code: 4 9 3, 0 2 7. Serial number: 1 0 0 0 0 0 0 0 a 1 b 2 c 3 d 4."
    )
    assert screens["nocontent-fr-normal"]["spoken"] == (
        "Noch keine Inhalte. Cette borne est en cours d'installation. Veuillez vous adresser au personnel."
    )
    assert "Stadt Offenburg" not in json.dumps(report)
    for entry in screens.values():
        assert entry["clipped"] == [] and entry["min_contrast"] >= 4.5 and entry["min_target_dp"] is None
    assert report["summary"]["smallest_target_dp"] is None


def test_the_selftest_without_config_says_it_renders_the_demo(
    window: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    root_logging: None,
) -> None:  # fmt: skip
    monkeypatch.setattr(selftest, "SCREENS", tuple(s for s in selftest.SCREENS if s[0] == "home"))
    monkeypatch.setattr(selftest, "EXTRA", ())
    monkeypatch.setenv("A2D_KIOSK_CACHE_DIR", str(tmp_path / "cache"))
    assert cli.main(["--selftest", str(tmp_path / "out")]) == 0
    out, err = capsys.readouterr()
    assert "no --config: the selftest renders the demo configuration" in err
    assert "6 screenshots of the demo content" in out
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert (report["content"], report["pack"]) == ("demo", "Stadt Offenburg")


def test_selftest_with_the_fake_agent_shows_its_results_and_a_connected_agent(
    window: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    root_logging: None,
) -> None:  # fmt: skip
    """`a2d kiosk --fake-agent --selftest`: the thanks shows the fake agent's count of the vote, the
    Lotsen view an agent that answers (the configured one would be unreachable: "nicht abrufbar")."""
    keep = ("thanks", "lotsen")
    monkeypatch.setattr(selftest, "SCREENS", tuple(s for s in selftest.SCREENS if s[0] in keep))
    monkeypatch.setattr(selftest, "EXTRA", ())
    monkeypatch.setenv("A2D_KIOSK_CACHE_DIR", str(tmp_path / "cache"))
    assert cli.main(["--fake-agent", "--selftest", str(tmp_path / "out")]) == 0
    assert "no edge agent; an agent in memory serves the demo content pack" in capsys.readouterr().err
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert (report["content"], report["pack"]) == ("agent", "Stadt Offenburg")  # the fake one serves the demo
    screens = report["screens"]
    assert len(screens) == len(keep) * 3 * 2
    thanks = screens["thanks-de-normal"]["spoken"]
    assert "Sehr zufrieden: 100 %" in thanks and "nicht abrufbar" not in thanks, thanks
    assert "Verbunden mit dem Gerät im Haus" in screens["lotsen-de-normal"]["spoken"]
    assert not (tmp_path / "cache").exists(), "the selftest wrote into the kiosk's cache"
