"""The page of a kiosk that has no content pack: its agent has served none yet and none is cached.

A kiosk in an office never shows the demo instead (only ``a2d kiosk`` without ``--config`` runs
the demo, and says so). The page is plain: it says in German, French and English, as the attract
screen does, that the kiosk is being set up, and offers nothing to touch. The kiosk leaves it by
itself as soon as its agent serves a pack.
"""

from __future__ import annotations

from kivy.metrics import dp
from kivy.uix.widget import Widget

from ..i18n import N_, UI_LANGUAGES
from .base import Page
from .icons import Icon
from .widgets import Box, Text, rgba

HEADING = N_("Noch keine Inhalte")
MESSAGE = N_("Dieser Kiosk wird gerade eingerichtet. Bitte fragen Sie das Personal.")


class NoContentPage(Page):
    name = "nocontent"
    chrome = False
    in_history = False

    def build(self) -> Widget:
        ui = self.ui
        bg = ui.theme.header_bg
        gap = 12 if ui.narrow else 24
        root = Box(orientation="vertical", bg=rgba(bg), spacing=dp(gap), padding=[dp(60), dp(gap * 2)])
        root.add_widget(Widget())
        root.add_widget(Icon("settings", ui.theme.on_header, 64 if ui.narrow else 96, line_dp=4,
                             pos_hint={"center_x": 0.5}))  # fmt: skip
        first, others = ("heading", "tile") if ui.narrow else ("huge", "heading")
        for i, code in enumerate(UI_LANGUAGES):
            heading = ui.act.text_in(HEADING, code)
            root.add_widget(
                Text(ui, heading, role=first if i == 0 else others, on=bg, bold=i == 0, halign="center")
            )
        message = ui.act.text_in(MESSAGE, ui.lang)
        root.add_widget(Text(ui, message, role="body", on=bg, halign="center"))
        root.add_widget(Widget())
        self.spoken = " ".join([ui.act.text_in(HEADING, ui.lang) + ".", message])
        return root
