"""The page of a kiosk that has no content pack: its agent has served none yet and none is cached.

A kiosk in an office never shows the demo instead (only ``a2d kiosk`` without ``--config`` runs
the demo, and says so). The page is plain: it says in German, French and English, as the wiped
notice does, that the kiosk is being set up, and offers nothing to touch. The controller decides
when it shows (:attr:`kiosk.controller.Page.NOCONTENT`) and leaves it by itself as soon as its
agent serves a pack.
"""

from __future__ import annotations

from kivy.metrics import dp
from kivy.uix.widget import Widget

from ..i18n import N_
from .attract import notice
from .base import Page
from .widgets import Box, rgba


class NoContentPage(Page):
    name = "nocontent"

    def build(self) -> Widget:
        ui = self.ui
        gap = 12 if ui.narrow else 24
        root = Box(orientation="vertical", bg=rgba(ui.theme.header_bg), spacing=dp(gap),
                   padding=[dp(60), dp(gap * 2)])  # fmt: skip
        self.spoken = notice(ui, root, "settings", N_("Noch keine Inhalte"),
                             N_("Dieser Kiosk wird gerade eingerichtet. Bitte fragen Sie das Personal."))  # fmt: skip
        return root
