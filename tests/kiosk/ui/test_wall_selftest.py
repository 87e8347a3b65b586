"""`a2d kiosk --wall --selftest OUT`: every wall view at 1080p and 4K from the demo data, none blank,
report.json with the role, the sizes and the smallest text really drawn; the QR code reads back."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pyzbar.pyzbar import decode

from kiosk import cli
from kiosk.wall.demo import DEMO_REGISTER_URL


@pytest.fixture
def root_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_the_wall_selftest_renders_every_view_at_1080p_and_4k(
    window: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    root_logging: None,
) -> None:  # fmt: skip
    monkeypatch.setenv("A2D_KIOSK_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "out"
    assert cli.main(["--wall", "--selftest", str(out)]) == 0
    assert "wall views at 1920x1080" in capsys.readouterr().out
    assert tuple(window.size) == (1280, 800), "the selftest left the window at its size"
    report = json.loads((out / "report.json").read_text())
    assert report["role"] == "wall" and report["data"] == "demo" and report["smallest_text_px"] == 32.0
    views = report["views"]
    hd = {k: v for k, v in views.items() if v["size"] == [1920, 1080]}
    uhd = {k: v for k, v in views.items() if v["size"] == [3840, 2160]}
    # the demo's live question, the satisfaction poll, the forecast and the notice (its Innenstadt
    # poll may have closed by the date the test runs)
    assert {
        "wall-results-live-5a3b1e00",
        "wall-results-zufriedenheit",
        "wall-forecast",
        "wall-notice",
    } <= set(hd)
    assert set(uhd) == {f"{k}-4k" for k in hd}
    for name, v in views.items():
        png = Image.open(out / v["png"]).convert("RGB")
        assert list(png.size) == v["size"] and v["png"] == f"{name}.png"
        assert len(png.resize((200, 150)).getcolors(200 * 150) or []) >= 20, f"{name} looks blank"
        scale = v["size"][1] / 1080
        assert v["smallest_text_px"] >= 32 * scale and v["min_contrast"] >= 4.5 and v["clipped"] == [], name
    notice = Image.open(out / views["wall-notice"]["png"])
    assert [c.data.decode() for c in decode(notice)] == [DEMO_REGISTER_URL]
    assert report["summary"]["views"] == len(hd) >= 3


def test_at_shows_the_questions_current_at_that_moment(
    window: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, root_logging: None
) -> None:
    """The demo's Innenstadt poll runs until 30.09.2026 and shows its results only then."""
    monkeypatch.setenv("A2D_KIOSK_CACHE_DIR", str(tmp_path / "cache"))
    before, after = tmp_path / "before", tmp_path / "after"
    assert cli.main(["--wall", "--selftest", str(before), "--at", "2026-09-15T10:00:00+02:00"]) == 0
    assert cli.main(["--wall", "--selftest", str(after), "--at", "2026-10-01T10:00:00+02:00"]) == 0
    early = json.loads((before / "report.json").read_text())
    late = json.loads((after / "report.json").read_text())
    assert early["at"] == "2026-09-15T10:00:00+02:00" and "wall-results-innenstadt-wunsch" in early["views"]
    assert "wall-results-innenstadt-wunsch" not in late["views"]
