"""Home: large tiles for the town's services, the "Wann ist es voll?" chart when the edge agent has a
forecast, and a fixed bar with feedback, transparency and help that never scrolls away."""

from __future__ import annotations

from functools import partial

from kivy.metrics import dp
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.widget import Widget

from ..views import home, live_tiles
from .base import Page
from .chart import ForecastChart
from .icons import Icon
from .widgets import Tap, Text, column, equal_heights, heading, scroll


def _grid(cols: int) -> GridLayout:
    grid = GridLayout(cols=cols, spacing=dp(20), size_hint_y=None)
    grid.bind(minimum_height=grid.setter("height"))
    return grid


class HomePage(Page):
    name = "home"

    def build(self) -> Widget:
        ui, theme = self.ui, self.ui.theme
        notice = ui.act.closed_notice()  # after hours: a notice instead of "Hilfe holen"
        view = home(ui.act.pack, ui.lang, ui.tr, closed=None if notice is None else notice.spoken)
        self.spoken = view.spoken
        page = column(ui, heading(ui, view.heading, theme.background), padding=24, spacing=18)
        for live in live_tiles(ui.act.live, ui.lang, ui.tr):  # a live question first, large
            page.add_widget(Tap(ui, live.title, partial(ui.act.go, "feedback", poll=live.id), kind="primary",
                                icon=Icon("feedback", theme.on_primary, 56), role="tile", halign="left", min_dp=120,
                                name=f"live-{live.id}"))  # fmt: skip
            self.spoken += " " + live.title
        tiles = _grid(ui.room)
        icon_color = theme.accent if theme.name == "high_contrast" else theme.primary_bg
        taps = []
        for tile in view.tiles:
            t = Tap(ui, tile.title, partial(ui.act.go, "service", service=tile.id), kind="card", vertical=True,
                    icon=Icon(tile.icon, icon_color, 48), role="tile", halign="left", min_dp=150, spacing=dp(8),
                    name=f"tile-{tile.id}")  # fmt: skip
            t.add_widget(Text(ui, tile.summary, role="small", on=theme.card, fg=theme.muted))
            t.add_widget(Widget())
            tiles.add_widget(t)
            taps.append(t)
        equal_heights(taps)
        page.add_widget(tiles)
        forecast = ui.act.forecast_data()
        if forecast is not None:
            chart = ForecastChart(ui, forecast)
            if chart.ok:
                page.add_widget(chart)
                self.spoken += " " + chart.spoken
        actions = _grid(3)
        actions.padding = [dp(24), dp(12), dp(24), dp(20)]
        buttons = []
        for text, icon, kind, target in (
            (view.feedback, "feedback", "primary", lambda: ui.act.go("feedback", index=0)),
            (view.transparency, "eye", "secondary", lambda: ui.act.go("transparency")),
            *(((view.help, "help", "alert", lambda: ui.act.call_help("")),) if notice is None else ()),
        ):
            fg = {"primary": theme.on_primary, "secondary": theme.on_secondary, "alert": theme.on_alert}[kind]
            buttons.append(Tap(ui, text, target, kind=kind, icon=Icon(icon, fg, 40), min_dp=88, name=icon))
            actions.add_widget(buttons[-1])
        if notice is not None:
            from .afterhours import closed_box

            actions.add_widget(closed_box(ui, notice, message=False))
        equal_heights(buttons)
        body = BoxLayout(orientation="vertical")
        body.add_widget(scroll(page))
        body.add_widget(actions)
        return body
