"""Measured, not promised: contrast from the theme and from what is drawn, touch targets, large text."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from kiosk.measure import measure
from kiosk.theme import HIGH_CONTRAST, MIN_TARGET_DP, NORMAL, THEMES, contrast_ratio

from .conftest import HEIGHT, WIDTH, pump

PAGES: list[tuple[str, dict[str, Any]]] = [
    ("attract", {"index": 1}),
    ("home", {}),
    ("service", {"service": "ausweis-pass"}),
    ("feedback", {"index": 0}),
    ("feedback", {"index": 1}),
    ("transparency", {"record": "besucherprognose"}),
    ("help", {}),
    ("settings", {}),
    ("wiped", {}),
    ("lotsen_pin", {}),
    ("lotsen", {}),
]


def test_every_text_pair_of_each_theme_meets_wcag() -> None:
    assert contrast_ratio((0, 0, 0), (1, 1, 1)) == pytest.approx(21.0)
    for theme in THEMES.values():
        for name, (fg, bg) in theme.pairs().items():
            assert contrast_ratio(fg, bg) >= theme.required_contrast, f"{theme.name} {name}"
    assert NORMAL.required_contrast == 4.5 and HIGH_CONTRAST.required_contrast == 7.0


@pytest.mark.parametrize("high", [False, True], ids=["normal", "high_contrast"])
def test_every_screen_in_large_text_fits_and_keeps_contrast_and_targets(
    make_kiosk: Callable[..., Any], high: bool, tmp_path: Path
) -> None:
    k = make_kiosk()
    problems = []
    for lang in ("de", "fr"):
        for name, params in PAGES:
            k.ctl.session.touch()
            visit = k.ctl.session.visit
            visit.lang, visit.large_text, visit.high_contrast = lang, True, high
            k.ctl.go(name, **params)
            pump(5)
            m = measure(k.root, (WIDTH, HEIGHT))
            where = f"{name}{params} {lang}"
            if m["clipped"]:
                problems.append(f"{where}: clipped {m['clipped']}")
            if m["broken_words"]:
                problems.append(f"{where}: words broken in the middle {m['broken_words']}")
            if m["min_target_dp"] is not None and m["min_target_dp"] < MIN_TARGET_DP:
                problems.append(f"{where}: target {m['min_target_dp']} dp")
            need = 7.0 if high else 4.5
            if m["min_contrast"] < need:
                problems.append(f"{where}: contrast {m['min_contrast']} ({m['min_contrast_text']!r})")
            assert m["texts"] > 0
    assert not problems, problems


@pytest.mark.parametrize("high", [False, True], ids=["normal", "high_contrast"])
def test_the_page_background_drawn_is_the_themes(
    make_kiosk: Callable[..., Any], high: bool, tmp_path: Path
) -> None:
    """The contrast report trusts the surfaces labels declare: check one against real pixels."""
    k = make_kiosk()
    k.ctl.session.touch()
    k.ctl.session.visit.high_contrast = high
    k.ctl.go("settings")
    pump(5)
    path = tmp_path / "settings.png"
    k.root.export_to_png(str(path))
    image = Image.open(io.BytesIO(path.read_bytes())).convert("RGB")
    want = tuple(round(c * 255) for c in (HIGH_CONTRAST if high else NORMAL).background)
    # bottom-left corner of the page, below the last button, inside the page padding
    got = image.getpixel((8, HEIGHT - 8))
    assert all(abs(a - b) <= 2 for a, b in zip(got, want, strict=True)), (got, want)


def test_measure_catches_a_label_that_sticks_out_of_its_card(
    make_kiosk: Callable[..., Any], window: Any
) -> None:
    """The check behind "no clipped labels" fails when a text no longer fits its container."""
    from kivy.uix.floatlayout import FloatLayout

    from kiosk.screens.widgets import Box, Text

    k = make_kiosk()
    ui = k.display.ui()
    root = FloatLayout(size=(WIDTH, HEIGHT))
    card = Box(orientation="vertical", size_hint=(None, None), size=(300, 60), pos=(100, 100))
    card.add_widget(
        Text(ui, "Ein langer Text, der in diese kleine Karte nicht hineinpasst. " * 3, on=NORMAL.card)
    )
    root.add_widget(card)
    window.add_widget(root)
    try:
        pump(5)
        assert measure(root, (WIDTH, HEIGHT))["clipped"]
        card.height = 600
        pump(5)
        assert measure(root, (WIDTH, HEIGHT))["clipped"] == []
        card.add_widget(Text(ui, "Die Besucherstromvorhersage", role="heading", on=NORMAL.card))
        pump(5)
        assert measure(root, (WIDTH, HEIGHT))["broken_words"] == ["Besucherstromvorhersage"]
    finally:
        window.remove_widget(root)
