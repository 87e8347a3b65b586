"""The attract screen while nobody uses the kiosk, and the notice after a visit was wiped.

Both fill the screen; a touch anywhere starts a visit. The attract screen rotates "Berühren Sie
den Bildschirm" through German, French and English, and offers the three languages directly.
"""

from __future__ import annotations

import time
from functools import partial
from typing import Any

from kivy.graphics import Color, Line
from kivy.metrics import dp
from kivy.uix.anchorlayout import AnchorLayout
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from ..i18n import LANGUAGE_NAMES, N_, UI_LANGUAGES
from ..views import attract
from .base import Page
from .icons import Icon
from .widgets import Box, Tap, Text, Ui, rgba

ROTATE_S = 3.0


class _TouchAnywhere(ButtonBehavior, Box):
    pass


class _Rings(Widget):
    """Three calm concentric rings around a touch point (drawn once, no animation)."""

    def __init__(self, color: tuple[float, float, float], **kwargs: Any) -> None:
        kwargs.setdefault("size_hint", (None, None))
        kwargs.setdefault("size", (dp(200), dp(200)))
        super().__init__(**kwargs)
        self._color = color
        self.bind(pos=self._draw, size=self._draw)

    def _draw(self, *_: Any) -> None:
        self.canvas.clear()
        cx, cy = self.center
        with self.canvas:
            for i, alpha in enumerate((1.0, 0.55, 0.28)):
                Color(*self._color, alpha)
                Line(circle=(cx, cy, dp(34 + 32 * i)), width=dp(3))
            Color(*self._color, 1)
            Line(circle=(cx, cy, dp(14)), width=dp(7))


def _vorlesen(page: Page, bg: tuple[float, float, float]) -> Widget:
    ui = page.ui
    button = Tap(ui, ui.tr("Vorlesen"), lambda: ui.act.start(read=True), kind="header",
                 icon=Icon("speaker", ui.theme.on_header, 36), fit_width=True, name="vorlesen")  # fmt: skip
    corner = AnchorLayout(anchor_x="right", anchor_y="top", padding=dp(24), size_hint_y=None, height=dp(120))
    corner.add_widget(button)
    return corner


class AttractPage(Page):
    name = "attract"

    def build(self) -> Widget:
        ui, theme = self.ui, self.ui.theme
        bg = theme.header_bg
        view = attract(ui.act.text_in)
        fixed = self.params.get("index")
        self._index = int(fixed) if fixed is not None else int(time.monotonic() / ROTATE_S) % len(view.lines)
        self._lines = view.lines
        self.spoken = view.spoken
        root = _TouchAnywhere(orientation="vertical", bg=rgba(bg), padding=[0, 0, 0, dp(40)])
        root.bind(on_release=lambda *_: ui.act.start())
        root.add_widget(_vorlesen(self, bg))
        self._town = Text(ui, ui.act.town(), role="heading", on=bg, bold=True, halign="center")
        root.add_widget(self._town)
        middle = AnchorLayout()
        middle.add_widget(_Rings(theme.on_header))
        root.add_widget(middle)
        self._big = Text(ui, self._lines[self._index][1], role="huge", on=bg, bold=True, halign="center")
        root.add_widget(self._big)
        root.add_widget(Widget(size_hint_y=None, height=dp(36)))
        row = BoxLayout(size_hint_y=None, spacing=dp(24), padding=[dp(120), 0])
        for code in UI_LANGUAGES:
            row.add_widget(Tap(ui, LANGUAGE_NAMES[code], partial(ui.act.start, lang=code), kind="secondary",
                               min_dp=88, name=f"start-{code}"))  # fmt: skip
        row.bind(minimum_height=row.setter("height"))
        root.add_widget(row)
        return root

    def update(self) -> None:
        town = self.ui.act.town()  # "" on the first frame, before the kiosk read its pack
        if town != self._town.text:
            self._town.text = town
        if self.params.get("index") is not None:
            return
        index = int(time.monotonic() / ROTATE_S) % len(self._lines)
        if index != self._index:
            self._index = index
            self._big.text = self._lines[index][1]
            self.spoken = self._lines[index][1]


class WipedPage(Page):
    name = "wiped"

    def build(self) -> Widget:
        ui = self.ui
        bg = ui.theme.header_bg
        gap = 12 if ui.narrow else 24
        root = _TouchAnywhere(orientation="vertical", bg=rgba(bg), spacing=dp(gap),
                              padding=[dp(60), 0, dp(60), dp(gap * 3 if ui.narrow else 80)])  # fmt: skip
        root.bind(on_release=lambda *_: ui.act.start())
        root.add_widget(_vorlesen(self, bg))
        self.spoken = notice(ui, root, "lock", N_("Ihre Eingaben wurden gelöscht"),
                             N_("Zum Weitermachen berühren Sie den Bildschirm."))  # fmt: skip
        return root


def notice(ui: Ui, root: Box, icon: str, message: str, hint: str) -> str:
    """A full-screen notice's middle, added to ``root``: an icon, ``message`` in German, French and
    English (the first the largest, since no visitor chose a language yet) and ``hint`` in the
    screen's language. Returns what Vorlesen says: the first (largest) line and the hint."""
    bg = ui.theme.header_bg
    root.add_widget(Widget())
    root.add_widget(Icon(icon, ui.theme.on_header, 64 if ui.narrow else 96, line_dp=4,
                         pos_hint={"center_x": 0.5}))  # fmt: skip
    first, others = ("heading", "tile") if ui.narrow else ("huge", "heading")
    lines = [ui.act.text_in(message, code) for code in UI_LANGUAGES]
    for i, text in enumerate(lines):
        root.add_widget(Text(ui, text, role=first if i == 0 else others, on=bg, bold=i == 0, halign="center"))
    said = ui.act.text_in(hint, ui.lang)
    root.add_widget(Text(ui, said, role="body", on=bg, halign="center"))
    root.add_widget(Widget())
    return " ".join([lines[0] + ".", said])
