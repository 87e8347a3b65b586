"""Simple line icons drawn with Kivy graphics (no icon font, no image files), plus the smiley faces.

Each icon is a function drawing into a unit square; :class:`Icon` scales it to its size. Unknown
names draw a plain circle, so a content pack with a new icon name still looks tidy.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from kivy.graphics import Color, Ellipse, Line, Mesh, Rectangle
from kivy.metrics import dp
from kivy.uix.widget import Widget

from ..theme import RGB

Pen = Callable[..., None]


class _Canvas:
    """Unit-square drawing helpers bound to a widget's box."""

    def __init__(self, x: float, y: float, s: float, width: float) -> None:
        self.x, self.y, self.s, self.w = x, y, s, width

    def p(self, *uv: float) -> list[float]:
        out: list[float] = []
        for i in range(0, len(uv), 2):
            out += [self.x + uv[i] * self.s, self.y + uv[i + 1] * self.s]
        return out

    def line(self, *uv: float, close: bool = False) -> None:
        Line(points=self.p(*uv), width=self.w, close=close, joint="round", cap="round")

    def circle(self, cx: float, cy: float, r: float, fill: bool = False) -> None:
        if fill:
            Ellipse(pos=self.p(cx - r, cy - r), size=(2 * r * self.s, 2 * r * self.s))
        else:
            Line(circle=(*self.p(cx, cy), r * self.s), width=self.w)

    def rrect(self, x: float, y: float, w: float, h: float, r: float = 0.08) -> None:
        Line(rounded_rectangle=(*self.p(x, y), w * self.s, h * self.s, r * self.s), width=self.w)

    def arc(self, cx: float, cy: float, r: float, start: float, end: float) -> None:
        Line(circle=(*self.p(cx, cy), r * self.s, start, end), width=self.w)

    def polygon(
        self, cx: float, cy: float, r: float, sides: int, fill: bool = False, turn: float = 0.0
    ) -> None:
        pts: list[float] = []
        for i in range(sides):
            a = turn + 2 * math.pi * i / sides
            pts += [cx + r * math.cos(a), cy + r * math.sin(a)]
        if fill:
            c = self.p(cx, cy)
            verts = [c[0], c[1], 0, 0]
            xy = self.p(*pts)
            for i in range(0, len(xy), 2):
                verts += [xy[i], xy[i + 1], 0, 0]
            Mesh(vertices=verts, indices=list(range(sides + 1)) + [1], mode="triangle_fan")
        else:
            self.line(*pts, close=True)


def _id_card(c: _Canvas) -> None:
    c.rrect(0.08, 0.2, 0.84, 0.6)
    c.circle(0.3, 0.56, 0.1)
    c.line(0.16, 0.3, 0.44, 0.3)
    c.line(0.54, 0.58, 0.82, 0.58)
    c.line(0.54, 0.44, 0.82, 0.44)
    c.line(0.54, 0.3, 0.74, 0.3)


def _house(c: _Canvas) -> None:
    c.line(0.14, 0.48, 0.5, 0.84, 0.86, 0.48)
    c.line(0.24, 0.56, 0.24, 0.14, 0.76, 0.14, 0.76, 0.56)
    c.line(0.42, 0.14, 0.42, 0.38, 0.58, 0.38, 0.58, 0.14)


def _home_move(c: _Canvas) -> None:
    c.line(0.06, 0.5, 0.36, 0.8, 0.66, 0.5)
    c.line(0.14, 0.58, 0.14, 0.16, 0.58, 0.16, 0.58, 0.58)
    c.line(0.58, 0.32, 0.94, 0.32)
    c.line(0.82, 0.44, 0.94, 0.32, 0.82, 0.2)


def _family(c: _Canvas) -> None:
    c.circle(0.3, 0.7, 0.11)
    c.circle(0.66, 0.7, 0.11)
    c.arc(0.3, 0.12, 0.22, -80, 80)
    c.arc(0.66, 0.12, 0.22, -80, 80)
    c.circle(0.5, 0.4, 0.07)
    c.arc(0.5, 0.05, 0.13, -80, 80)


def _participate(c: _Canvas) -> None:
    c.line(0.1, 0.86, 0.9, 0.86, 0.9, 0.34, 0.46, 0.34, 0.26, 0.14, 0.26, 0.34, 0.1, 0.34, close=True)
    c.line(0.3, 0.6, 0.44, 0.48, 0.7, 0.72)


def _video_call(c: _Canvas) -> None:
    c.rrect(0.06, 0.26, 0.6, 0.48)
    c.line(0.7, 0.44, 0.94, 0.28, 0.94, 0.72, 0.7, 0.56, close=True)


def _bus(c: _Canvas) -> None:
    c.rrect(0.16, 0.18, 0.68, 0.72, 0.1)
    c.line(0.16, 0.5, 0.84, 0.5)
    c.line(0.3, 0.78, 0.7, 0.78)
    c.circle(0.3, 0.3, 0.05, fill=True)
    c.circle(0.7, 0.3, 0.05, fill=True)
    c.line(0.26, 0.18, 0.26, 0.06)
    c.line(0.74, 0.18, 0.74, 0.06)


def _map(c: _Canvas) -> None:
    c.arc(0.5, 0.62, 0.26, -110, 110)
    c.line(0.25, 0.55, 0.5, 0.08, 0.75, 0.55)
    c.circle(0.5, 0.62, 0.09)


def _tree(c: _Canvas) -> None:
    c.circle(0.5, 0.62, 0.28)
    c.line(0.5, 0.34, 0.5, 0.08)
    c.line(0.5, 0.5, 0.38, 0.6)


def _bench(c: _Canvas) -> None:
    c.line(0.1, 0.44, 0.9, 0.44)
    c.line(0.1, 0.7, 0.9, 0.7)
    c.line(0.2, 0.44, 0.2, 0.16)
    c.line(0.8, 0.44, 0.8, 0.16)
    c.line(0.22, 0.44, 0.22, 0.7)
    c.line(0.78, 0.44, 0.78, 0.7)


def _water(c: _Canvas) -> None:
    # Kivy arcs count degrees clockwise from 12 o'clock: 55..305 is the round bottom of the drop
    c.arc(0.5, 0.36, 0.26, 55, 305)
    c.line(0.287, 0.509, 0.5, 0.92, 0.713, 0.509)


def _bike(c: _Canvas) -> None:
    c.circle(0.24, 0.3, 0.18)
    c.circle(0.76, 0.3, 0.18)
    c.line(0.24, 0.3, 0.42, 0.62, 0.68, 0.62, 0.76, 0.3)
    c.line(0.42, 0.62, 0.52, 0.3, 0.68, 0.62)
    c.line(0.36, 0.74, 0.48, 0.74)
    c.line(0.66, 0.62, 0.62, 0.76, 0.72, 0.76)


def _speaker(c: _Canvas) -> None:
    c.line(0.1, 0.38, 0.28, 0.38, 0.5, 0.18, 0.5, 0.82, 0.28, 0.62, 0.1, 0.62, close=True)
    c.arc(0.5, 0.5, 0.2, 45, 135)
    c.arc(0.5, 0.5, 0.36, 45, 135)


def _stop(c: _Canvas) -> None:
    c.rrect(0.24, 0.24, 0.52, 0.52, 0.06)


def _settings(c: _Canvas) -> None:
    for y, knob in ((0.78, 0.32), (0.5, 0.66), (0.22, 0.44)):
        c.line(0.1, y, 0.9, y)
        c.circle(knob, y, 0.08, fill=True)


def _help(c: _Canvas) -> None:
    c.circle(0.5, 0.5, 0.4)
    c.circle(0.5, 0.5, 0.18)
    for a in (45, 135, 225, 315):
        r = math.radians(a)
        c.line(
            0.5 + 0.18 * math.cos(r),
            0.5 + 0.18 * math.sin(r),
            0.5 + 0.4 * math.cos(r),
            0.5 + 0.4 * math.sin(r),
        )


def _eye(c: _Canvas) -> None:
    c.arc(0.5, 0.08, 0.58, -45, 45)
    c.arc(0.5, 0.92, 0.58, 135, 225)
    c.circle(0.5, 0.5, 0.12, fill=True)


def _feedback(c: _Canvas) -> None:
    c.circle(0.5, 0.5, 0.4)
    c.circle(0.36, 0.6, 0.05, fill=True)
    c.circle(0.64, 0.6, 0.05, fill=True)
    c.arc(0.5, 0.48, 0.2, 120, 240)


def _check(c: _Canvas) -> None:
    c.circle(0.5, 0.5, 0.44)
    c.line(0.3, 0.5, 0.44, 0.36, 0.72, 0.64)


def _back(c: _Canvas) -> None:
    c.line(0.62, 0.16, 0.3, 0.5, 0.62, 0.84)


def _lock(c: _Canvas) -> None:
    c.rrect(0.2, 0.1, 0.6, 0.46)
    c.arc(0.5, 0.56, 0.2, -90, 90)
    c.line(0.3, 0.56, 0.3, 0.56)


def _hexagon(c: _Canvas) -> None:
    c.polygon(0.5, 0.5, 0.46, 6, fill=True, turn=math.pi / 2)


def _circle(c: _Canvas) -> None:
    c.circle(0.5, 0.5, 0.42, fill=True)


def _square(c: _Canvas) -> None:
    Rectangle(pos=c.p(0.1, 0.1), size=(0.8 * c.s, 0.8 * c.s))


ICONS: dict[str, Callable[[_Canvas], None]] = {
    "id-card": _id_card,
    "home": _house,
    "home-move": _home_move,
    "family": _family,
    "participate": _participate,
    "video-call": _video_call,
    "bus": _bus,
    "map": _map,
    "tree": _tree,
    "bench": _bench,
    "water": _water,
    "bike": _bike,
    "speaker": _speaker,
    "stop": _stop,
    "settings": _settings,
    "help": _help,
    "eye": _eye,
    "feedback": _feedback,
    "back": _back,
    "check": _check,
    "lock": _lock,
    "hexagon": _hexagon,
    "circle": _circle,
    "square": _square,
}


class Icon(Widget):
    """A line icon ``name`` in ``color``, square, ``size_dp`` wide."""

    def __init__(
        self, name: str, color: RGB, size_dp: float = 40, line_dp: float = 2.4, **kwargs: Any
    ) -> None:
        kwargs.setdefault("size_hint", (None, None))
        kwargs.setdefault("size", (dp(size_dp), dp(size_dp)))
        super().__init__(**kwargs)
        self.icon = name
        self._color = color
        self._line = dp(line_dp)
        self.bind(pos=self._draw, size=self._draw)
        self._draw()

    def _draw(self, *_: Any) -> None:
        s = min(self.width, self.height)
        x = self.x + (self.width - s) / 2
        y = self.y + (self.height - s) / 2
        self.canvas.clear()
        with self.canvas:
            Color(*self._color, 1)
            ICONS.get(self.icon, _circle_outline)(_Canvas(x, y, s, self._line))


def _circle_outline(c: _Canvas) -> None:
    c.circle(0.5, 0.5, 0.4)


class Face(Widget):
    """A smiley on a 5-point scale: level 0 (very unhappy) … 4 (very happy)."""

    def __init__(self, level: int, fill: RGB, ink: RGB, size_dp: float = 96, **kwargs: Any) -> None:
        kwargs.setdefault("size_hint", (None, None))
        kwargs.setdefault("size", (dp(size_dp), dp(size_dp)))
        super().__init__(**kwargs)
        self.level = level
        self._fill, self._ink = fill, ink
        self.bind(pos=self._draw, size=self._draw)
        self._draw()

    def _draw(self, *_: Any) -> None:
        s = min(self.width, self.height)
        c = _Canvas(self.x + (self.width - s) / 2, self.y + (self.height - s) / 2, s, max(dp(3), s * 0.045))
        bend = (self.level - 2) / 2  # -1 … +1
        self.canvas.clear()
        with self.canvas:
            Color(*self._fill, 1)
            c.circle(0.5, 0.5, 0.47, fill=True)
            Color(*self._ink, 1)
            c.circle(0.5, 0.5, 0.47)
            c.circle(0.35, 0.62, 0.055, fill=True)
            c.circle(0.65, 0.62, 0.055, fill=True)
            mouth_y = 0.32 + 0.04 * bend
            Line(bezier=c.p(0.3, mouth_y, 0.5, mouth_y - 0.2 * bend, 0.7, mouth_y), width=c.w, cap="round")
