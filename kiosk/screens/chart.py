"""'Wann ist es voll?': today's expected visitors per hour (8–20 h) from the edge agent's forecast
(``GET /v1/forecast``), one plain sentence, and what the forecast is made of with a way to its
transparency record. Hidden (``ok`` is false) when there is no forecast or it says nothing about
today."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from kivy.graphics import Color, Line, Rectangle
from kivy.metrics import dp
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from ..forecastview import Bar, forecast_day
from .widgets import Box, Tap, Text, rgba


class _Bars(Widget):
    """P50 as solid bars on a subtle P10–P90 band; hours that are over paler; the busy line dashed."""

    def __init__(self, bars: tuple[Bar, ...], threshold: float | None, ui: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._bars, self._threshold, self._theme = bars, threshold, ui.theme
        self.bind(pos=self._draw, size=self._draw)

    def _draw(self, *_: Any) -> None:
        theme = self._theme
        self.canvas.clear()
        top = max([b.p90 for b in self._bars] + [self._threshold or 0.0]) * 1.08 or 1.0
        w = self.width / len(self._bars)

        def y(v: float) -> float:
            return self.y + self.height * max(0.0, v) / top

        with self.canvas:
            for i, b in enumerate(self._bars):
                x = self.x + i * w
                Color(*theme.primary_bg, 0.18)
                Rectangle(pos=(x + w * 0.1, y(b.p10)), size=(w * 0.8, y(b.p90) - y(b.p10)))
                Color(*(theme.muted if b.over else theme.primary_bg), 1)
                Rectangle(pos=(x + w * 0.27, self.y), size=(w * 0.46, y(b.p50) - self.y))
            if self._threshold is not None and self._threshold < top:
                Color(*theme.alert_bg, 1)
                Line(points=[self.x, y(self._threshold), self.right, y(self._threshold)], width=dp(1.5),
                     dash_length=int(dp(8)), dash_offset=int(dp(5)))  # fmt: skip


class ForecastChart(Box):
    def __init__(self, ui: Any, forecast: Mapping[str, Any]) -> None:
        theme = ui.theme
        super().__init__(fit=True, orientation="vertical", padding=dp(24), spacing=dp(12), bg=rgba(theme.card),
                         outline=rgba(theme.border), radius=dp(14))  # fmt: skip
        self.name = "forecast-chart"
        view = forecast_day(forecast, ui.lang, ui.tr, ui.act.transparency_records())
        self.ok = view is not None
        self.spoken = ""
        if view is None:
            return
        self.view = view
        self.spoken = view.spoken
        self.add_widget(Text(ui, view.title, role="tile", on=theme.card, bold=True))
        if view.sample:
            self.add_widget(Text(ui, view.sample, role="body", on=theme.card, bold=True))
        sentence = Text(ui, view.sentence, role="tile", on=theme.card)
        sentence.name = "forecast-sentence"
        self.add_widget(sentence)
        if view.peak:
            self.add_widget(Text(ui, view.peak, role="body", on=theme.card, fg=theme.muted))
        self.add_widget(_Bars(view.bars, view.busy_threshold, ui, size_hint_y=None, height=dp(150)))
        axis = BoxLayout(size_hint_y=None, height=dp(28))
        for b in view.bars:
            tick = Text(ui, str(b.hour), role="small", on=theme.card, fg=theme.muted, halign="center")
            tick.bind(height=lambda _w, h, a=axis: setattr(a, "height", max(a.height, h)))
            axis.add_widget(tick)
        self.add_widget(axis)
        self.add_widget(Text(ui, view.legend, role="small", on=theme.card, fg=theme.muted))
        label = Text(ui, view.label, role="small", on=theme.card, fg=theme.muted)
        label.name = "forecast-label"
        self.add_widget(label)
        if view.record is not None:
            more = Tap(ui, view.more, partial(ui.act.go, "transparency", record=view.record), kind="secondary",
                       role="body", name="forecast-transparency", size_hint_x=None, fit_width=True)  # fmt: skip
            row = BoxLayout(size_hint_y=None)
            row.add_widget(more)
            row.add_widget(Widget())
            more.bind(height=row.setter("height"))
            row.height = more.height
            self.add_widget(row)
