"""'Hilfe holen': the request is already stored when this page shows; it says help is coming."""

from __future__ import annotations

from kivy.metrics import dp
from kivy.uix.widget import Widget

from ..views import HelpView, help_sent
from .base import Page
from .icons import Icon
from .widgets import Tap, Text, column, scroll


class HelpPage(Page):
    name = "help"

    def build(self) -> Widget:
        ui, theme = self.ui, self.ui.theme
        notice = ui.act.closed_notice()  # after hours no help was asked for: say when it is back
        view = help_sent(ui.tr, again=bool(self.params.get("again")))
        if notice is not None and ui.act.session.visit.help_id is None:  # a call before closing stands
            view = HelpView(notice.heading, notice.message, notice.spoken)
        self.spoken = view.spoken
        bg = theme.background
        page = column(ui, padding=48, spacing=28)
        page.add_widget(Widget(size_hint_y=None, height=dp(40)))
        page.add_widget(Icon("help", theme.accent if theme.name == "high_contrast" else theme.alert_bg, 120,
                             line_dp=5, pos_hint={"center_x": 0.5}))  # fmt: skip
        page.add_widget(Text(ui, view.heading, role="huge", on=bg, bold=True, halign="center"))
        page.add_widget(Text(ui, view.message, role="tile", on=bg, halign="center"))
        page.add_widget(Tap(ui, ui.tr("Zur Startseite"), lambda: ui.act.go("home"), kind="primary",
                            size_hint_x=0.5, pos_hint={"center_x": 0.5}, name="to-home"))  # fmt: skip
        return scroll(page)
