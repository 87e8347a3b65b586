"""'Was erfasst dieses Gerät?': DTPR-style cards for this kiosk and the sensors around it.

Left the list of systems, right the chosen one's eleven fields, each with its DTPR shape
(hexagon: purpose, technology, accountability; circle: data and processing; square: the rest).
"""

from __future__ import annotations

from functools import partial

from kivy.metrics import dp
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.widget import Widget

from ..views import transparency
from .base import Page
from .icons import Icon
from .widgets import Box, Tap, Text, column, equal_rows, heading, para, rgba, scroll


class TransparencyPage(Page):
    name = "transparency"

    def build(self) -> Widget:
        ui, theme = self.ui, self.ui.theme
        view = transparency(ui.act.transparency_records(), self.params.get("record"), ui.lang, ui.tr)
        self.spoken = view.spoken
        bg = theme.background
        side = column(ui, heading(ui, view.heading, bg, role="tile"), para(ui, view.intro, bg, muted=True,
                      role="small"), padding=16 if ui.narrow else 24, spacing=14)  # fmt: skip
        for rid, title in view.titles:
            side.add_widget(Tap(ui.navigation(), title, partial(ui.act.go, "transparency", record=rid), halign="left",
                                kind="selected" if rid == view.selected else "secondary",
                                role="small" if ui.narrow else "body", name=f"record-{rid}"))  # fmt: skip
        left = BoxLayout(size_hint_x=None, width=dp(300 if ui.narrow else 500 if ui.large else 380))
        left.add_widget(scroll(side))

        grid = GridLayout(cols=1 if ui.room < 3 else 2, spacing=dp(16), size_hint_y=None)
        grid.bind(minimum_height=grid.setter("height"))
        shape_color = theme.accent if theme.name == "high_contrast" else theme.primary_bg
        cards: list[Box] = []
        for f in view.fields:
            card = Box(fit=True, orientation="vertical", padding=dp(18), spacing=dp(8), bg=rgba(theme.card),
                       outline=rgba(theme.border), radius=dp(12))  # fmt: skip
            top = BoxLayout(size_hint_y=None, spacing=dp(12))
            label = Text(ui, f.label, role="body", on=theme.card, bold=True)
            top.add_widget(Icon(f.shape, shape_color, 30))
            top.add_widget(label)
            label.bind(height=lambda w, h, t=top: setattr(t, "height", max(dp(30), h)))
            card.add_widget(top)
            card.add_widget(Text(ui, f.text or "—", role="body", on=theme.card))
            card.add_widget(Widget())  # rows are levelled: the slack goes below the text
            grid.add_widget(card)
            cards.append(card)
        equal_rows(cards, grid.cols)
        title = next((t for r, t in view.titles if r == view.selected), "")
        right = column(ui, heading(ui, title, bg), grid, padding=24, spacing=16)
        row = BoxLayout()
        row.add_widget(left)
        row.add_widget(scroll(right))
        return row
