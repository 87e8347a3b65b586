"""The page of a device waiting to be claimed: its six-digit code and its serial, full screen.

The admin reads them off the screen and types them into ``a2d provision claim``. The code is drawn
as large as the screen allows (two groups of three digits, white on the header's dark blue, far
above 7:1), the serial below it, and a line in German, French and English says what this is, so a
citizen who finds the screen knows it is not for them. Nothing to touch. The controller shows it
while the claim notice (``kiosk.claim_file``) exists and reads it aloud when speech is on; while
five wrong codes lock the claim, a line says to wait (the tick redraws it when the notice changes).
"""

from __future__ import annotations

from datetime import UTC, datetime

from kivy.metrics import dp, sp
from kivy.uix.widget import Widget

from a2d.claimwire import ClaimNotice

from ..i18n import N_, UI_LANGUAGES
from .base import Page
from .widgets import Box, Text, rgba

#: the code's size in sp on a wide screen (a narrow one takes two thirds)
CODE_SP = 160


def spaced(code: str) -> str:
    """``493027`` → ``493 027``: two groups are easier to read out and type."""
    return f"{code[:3]} {code[3:]}" if len(code) == 6 else code


class ClaimPage(Page):
    name = "claim"

    def build(self) -> Widget:
        ui = self.ui
        bg = ui.theme.header_bg
        code, serial = str(self.params.get("code", "")), str(self.params.get("serial", ""))
        gap = 12 if ui.narrow else 24
        root = Box(orientation="vertical", bg=rgba(bg), spacing=dp(gap), padding=[dp(40), dp(gap * 2)])
        root.add_widget(Widget())
        title = [
            ui.act.text_in(N_("Dieses Gerät wartet auf seine Einrichtung"), lang) for lang in UI_LANGUAGES
        ]
        root.add_widget(Text(ui, title[0], role="heading", on=bg, bold=True, halign="center"))
        for text in title[1:]:
            root.add_widget(Text(ui, text, role="body", on=bg, halign="center"))
        label = ui.act.text_in(N_("Code"), ui.lang)
        digits = Text(ui, spaced(code), role="huge", on=bg, bold=True, halign="center")
        digits.font_size = sp(CODE_SP * (2 / 3 if ui.narrow else 1) * (1.2 if ui.large else 1))
        root.add_widget(Text(ui, label, role="tile", on=bg, halign="center"))
        root.add_widget(digits)
        serial_label = ui.act.text_in(N_("Seriennummer"), ui.lang)
        root.add_widget(Text(ui, f"{serial_label}: {serial}", role="heading", on=bg, halign="center"))
        locked = self.params.get("locked_until")
        if locked and ClaimNotice(code, serial, str(locked)).locked_at(datetime.now(UTC)):
            wait = ui.act.text_in(N_("Zu viele falsche Codes. Bitte warten Sie zehn Minuten."), ui.lang)
            root.add_widget(Text(ui, wait, role="tile", on=bg, bold=True, halign="center"))
        root.add_widget(Widget())
        said_code = ", ".join(
            " ".join(code[i : i + 3]) for i in (0, 3)
        )  # digit by digit, a pause between groups
        said_title = ui.act.text_in(N_("Dieses Gerät wartet auf seine Einrichtung"), ui.lang)
        self.spoken = f"{said_title}. {label}: {said_code}. {serial_label}: {' '.join(serial)}."
        return root
