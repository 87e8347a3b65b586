"""Settings, one tap away from every screen: language, text size, contrast, reading aloud, volume.

Everything here belongs to the visit and is undone by the wipe. The Lotsen button at the bottom
leads to the PIN pad.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from kivy.metrics import dp
from kivy.uix.gridlayout import GridLayout
from kivy.uix.widget import Widget

from ..views import settings
from .base import Page
from .widgets import Tap, Ui, column, heading, scroll


def _options(ui: Ui, name: str, options: list[tuple[str, bool, Callable[[], Any]]], cols: int) -> GridLayout:
    row = GridLayout(cols=cols, spacing=dp(16), size_hint_y=None)
    row.bind(minimum_height=row.setter("height"))
    for i, (text, chosen, action) in enumerate(options):
        row.add_widget(Tap(ui, text, action, kind="selected" if chosen else "secondary", name=f"{name}-{i}"))
    return row


class SettingsPage(Page):
    name = "settings"

    def build(self) -> Widget:
        ui, theme = self.ui, self.ui.theme
        act, visit = ui.act, ui.act.session.visit
        view = settings(act.pack.languages, ui.tr)
        self.spoken = view.spoken
        bg = theme.background
        page = column(ui, heading(ui, view.heading, bg), spacing=16)
        Option = tuple[str, bool, Callable[[], Any]]
        langs: list[Option] = [
            (name, code == visit.lang, partial(act.set_lang, code)) for code, name in view.languages
        ]
        sections: list[tuple[str, str, list[Option]]] = [
            (view.language_heading, "lang", langs),
            (view.text_heading, "text", [(view.text_options[0], not visit.large_text, lambda: act.set_large(False)),
                                          (view.text_options[1], visit.large_text, lambda: act.set_large(True))]),
            (view.contrast_heading, "contrast",
             [(view.contrast_options[0], not visit.high_contrast, lambda: act.set_contrast(False)),
              (view.contrast_options[1], visit.high_contrast, lambda: act.set_contrast(True))]),
        ]  # fmt: skip
        if act.speech_available():
            sections.append((view.speech_heading, "speech",
                             [(view.speech_options[0], not visit.read_aloud, lambda: act.set_read_aloud(False)),
                              (view.speech_options[1], visit.read_aloud, lambda: act.set_read_aloud(True))]))  # fmt: skip
            sections.append((f"{view.volume_heading}: {act.volume()} %", "volume",
                             [(view.volume_options[0], False, lambda: act.change_volume(-10)),
                              (view.volume_options[1], False, lambda: act.change_volume(+10))]))  # fmt: skip
        for title, name, options in sections:
            page.add_widget(heading(ui, title, bg, role="tile"))
            cols = 2 if ui.room < 3 and len(options) > 2 else len(options)
            page.add_widget(_options(ui, name, options, cols))
        page.add_widget(Widget(size_hint_y=None, height=dp(12)))
        end = GridLayout(cols=2, spacing=dp(16), size_hint_y=None)
        end.bind(minimum_height=end.setter("height"))
        end.add_widget(Tap(ui, view.done, act.back, kind="primary", name="done"))
        if act.lotsen_available():
            end.add_widget(
                Tap(ui, view.lotsen, lambda: act.go("lotsen_pin"), kind="secondary", name="lotsen")
            )
        page.add_widget(end)
        return scroll(page)
