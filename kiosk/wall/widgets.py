"""The wall's text and bars, sized to the screen: text sizes are pixels at 1080 lines, scaled with
the screen's height (32 px at 1920 x 1080 is 64 px at 3840 x 2160), never dp: a wall is read from
three metres, and what counts there is the text's share of the screen, not its density.

:class:`WallText` remembers its surface, like the kiosk's labels, so :func:`kiosk.measure.measure`
computes the contrast of every text drawn on the wall too.
"""

from __future__ import annotations

from typing import Any

from kivy.graphics import Color, Rectangle
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from ..screens.widgets import FONT_BOLD, FONT_REGULAR, WrappingLabel, rgba
from ..theme import RGB
from .model import Line

#: text sizes in pixels on a 1080-line screen; "small" is the floor (readable from three metres)
PX = {"small": 32.0, "second": 34.0, "body": 40.0, "label": 44.0, "number": 48.0, "heading": 56.0}
MIN_TEXT_PX = PX["small"]
BASE_LINES = 1080.0


def scale_of(height: float) -> float:
    """Pixels per "1080p pixel" on a screen ``height`` pixels high."""
    return max(1.0, height) / BASE_LINES


class WallText(WrappingLabel):
    """Text of one role, wrapping to its width (height follows), at most ``max_lines`` lines (0: any;
    one line ends in "..." when it is too long, Kivy shortens only single lines)."""

    def __init__(self, text: str, *, role: str, scale: float, on: RGB, fg: RGB, bold: bool = False,
                 halign: str = "left", max_lines: int = 0, one_line: bool = False, **kwargs: Any) -> None:  # fmt: skip
        if one_line:
            kwargs.setdefault("size_hint", (None, None))
        else:
            kwargs.setdefault("size_hint_y", None)
        super().__init__(text=text, font_size=PX[role] * scale, font_name=FONT_BOLD if bold else FONT_REGULAR,
                         color=rgba(fg), halign=halign, valign="middle", max_lines=max_lines,
                         shorten=max_lines == 1, shorten_from="right", **kwargs)  # fmt: skip
        self.surface = rgba(on)
        self.role = role
        self._one_line = one_line
        if one_line:
            self.bind(texture_size=self._fit_both)
        else:
            self.follow_width()

    def _fit_both(self, *_: Any) -> None:
        self.size = self.texture_size


def two_lines(line: Line, *, role: str, scale: float, on: RGB, fg: RGB, muted: RGB, bold: bool = False,
              max_lines: int = 0, halign: str = "left") -> BoxLayout:  # fmt: skip
    """A text and its second-language line below it (smaller, muted, but never under 32 px)."""
    box = BoxLayout(orientation="vertical", size_hint_y=None, spacing=4 * scale)
    box.add_widget(WallText(line.text, role=role, scale=scale, on=on, fg=fg, bold=bold, max_lines=max_lines,
                            halign=halign))  # fmt: skip
    if line.second:
        second = "second" if PX[role] >= PX["body"] else "small"
        box.add_widget(WallText(line.second, role=second, scale=scale, on=on, fg=muted, max_lines=max_lines,
                                halign=halign))  # fmt: skip
    fit_height(box)
    return box


def fit_height(box: BoxLayout) -> None:
    """A vertical box as tall as its content."""
    box.bind(minimum_height=box.setter("height"))
    box.height = box.minimum_height


class Bar(Widget):
    """A solid bar from the left, ``share`` (0..1) of the room its cell leaves beside the number."""

    def __init__(self, colour: RGB, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        with self.canvas:
            Color(*colour, 1)
            self._rect = Rectangle(pos=self.pos, size=self.size)
        self.bind(pos=self._draw, size=self._draw)

    def _draw(self, *_: Any) -> None:
        self._rect.pos, self._rect.size = self.pos, self.size


class BarCell(BoxLayout):
    """A bar and its number ("12 · 40 %") right after it; :meth:`set` changes both in place."""

    def __init__(self, share: float, text: str, *, colour: RGB, scale: float, on: RGB, fg: RGB, **kwargs: Any) -> None:  # fmt: skip
        super().__init__(orientation="horizontal", spacing=16 * scale, **kwargs)
        self.scale = scale
        self.share = share
        self.bar = Bar(colour, size_hint=(None, None), height=40 * scale)
        self.bar.pos_hint = {"center_y": 0.5}
        self.number = WallText(text, role="number", scale=scale, on=on, fg=fg, bold=True, one_line=True)
        self.number.pos_hint = {"center_y": 0.5}
        self.add_widget(self.bar)
        self.add_widget(self.number)
        self.add_widget(Widget())
        self.bind(width=self._layout)
        self.number.bind(width=self._layout)
        self._layout()

    def set(self, share: float, text: str) -> None:
        self.share = share
        self.number.text = text
        self._layout()

    def _layout(self, *_: Any) -> None:
        room = max(0.0, self.width - self.number.width - 2 * self.spacing)
        # a vote of nothing still gets a sliver, so the row never looks missing
        self.bar.width = max(6 * self.scale, room * max(0.0, min(1.0, self.share)))
