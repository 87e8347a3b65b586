"""'Wann ist es voll?': a day chart of the expected visitors (a placeholder until the forecast
format is settled; the edge agent serves it at ``GET /v1/forecast``). Hidden without a forecast."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kivy.graphics import Color, Rectangle
from kivy.metrics import dp
from kivy.uix.widget import Widget

from .widgets import Box, Text, rgba


def day_curve(forecast: Mapping[str, Any]) -> list[tuple[str, float]]:
    """(label, value) pairs from a forecast document: ``{"hours": [...], "values": [...]}`` or
    ``{"points": [{"at": ISO, "value"|"p50": n}, ...]}``; empty when neither shape is there."""
    if isinstance(forecast.get("hours"), list) and isinstance(forecast.get("values"), list):
        return [(str(h), float(v)) for h, v in zip(forecast["hours"], forecast["values"], strict=False)][:24]
    points = forecast.get("points")
    out: list[tuple[str, float]] = []
    if isinstance(points, list):
        for p in points[:24]:
            if isinstance(p, Mapping):
                value = p.get("p50", p.get("value"))
                if isinstance(value, int | float):
                    out.append((str(p.get("at", ""))[11:13], float(value)))
    return out


class _Bars(Widget):
    def __init__(self, values: list[float], color: tuple[float, float, float], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._values, self._color = values, color
        self.bind(pos=self._draw, size=self._draw)

    def _draw(self, *_: Any) -> None:
        self.canvas.clear()
        top = max(self._values) or 1.0
        n = len(self._values)
        w = self.width / n
        with self.canvas:
            Color(*self._color, 1)
            for i, v in enumerate(self._values):
                Rectangle(pos=(self.x + i * w + w * 0.15, self.y), size=(w * 0.7, self.height * v / top))


class ForecastChart(Box):
    def __init__(self, ui: Any, forecast: Mapping[str, Any]) -> None:
        theme = ui.theme
        super().__init__(fit=True, orientation="vertical", padding=dp(24), spacing=dp(12), bg=rgba(theme.card),
                         outline=rgba(theme.border), radius=dp(14))  # fmt: skip
        curve = day_curve(forecast)
        self.ok = len(curve) >= 2
        title = ui.tr("Wann ist es voll?")
        self.spoken = title
        self.add_widget(Text(ui, title, role="tile", on=theme.card, bold=True))
        if self.ok:
            self.add_widget(_Bars([v for _, v in curve], theme.primary_bg, size_hint_y=None, height=dp(140)))
            busiest = max(curve, key=lambda c: c[1])[0]
            note = ui.tr("Am meisten los: gegen {hour} Uhr").format(hour=busiest)
            self.add_widget(Text(ui, note, role="body", on=theme.card, fg=theme.muted))
            self.spoken = f"{title} {note}."
