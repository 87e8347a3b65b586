"""The few widgets every kiosk screen is made of: surfaces, wrapping text, big buttons.

Each text label remembers the surface colour it is drawn on (``surface``), so the selftest and the
tests can compute the contrast of every text actually on screen; each button is at least
:data:`kiosk.theme.MIN_TARGET_DP` in both directions and grows with its text (large-text mode
never clips a label).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kivy.graphics import Color, Line, RoundedRectangle
from kivy.metrics import dp, sp
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from ..i18n import Translator
from ..theme import BUTTON_DP, RGB, Theme, font_sp

if TYPE_CHECKING:
    from ..controller import Controller

FONT_REGULAR = "Roboto"
FONT_BOLD = "data/fonts/Roboto-Bold.ttf"


class Ui:
    """What a screen needs to draw itself: colours, language, text size and the controller.

    ``narrow``: the screen is small (a 7" 800 × 480 panel): pages lay out fewer columns, the
    header leaves the language choice to the settings page, the QR code shrinks to fit.
    """

    def __init__(self, theme: Theme, lang: str, large: bool, tr: Translator, act: Controller,
                 narrow: bool = False) -> None:  # fmt: skip
        self.theme = theme
        self.lang = lang
        self.large = large
        self.narrow = narrow
        self.tr = tr
        self.act = act  #: the controller: go(), back(), vote(), ... (kiosk.controller.Controller)

    def font(self, role: str) -> float:
        return float(sp(font_sp(role, self.large)))

    def navigation(self) -> Ui:
        """The Ui for navigation (the header, a list of pages) on a narrow screen with large text:
        with the normal text size, which fits where the large one would break words."""
        return Ui(self.theme, self.lang, False, self.tr, self.act, self.narrow) if self.narrow else self

    @property
    def room(self) -> int:
        """Columns of cards a page has room for: 3, 2 with large text or a narrow screen, 1 with both."""
        return 3 - int(self.large) - int(self.narrow)


def rgba(rgb: RGB, alpha: float = 1.0) -> list[float]:
    return [rgb[0], rgb[1], rgb[2], alpha]


class Surface(Widget):
    """A widget that paints a (rounded) background and an optional outline behind its children."""

    bg = ListProperty([0, 0, 0, 0])
    outline = ListProperty([0, 0, 0, 0])
    outline_width = NumericProperty(1.5)
    radius = NumericProperty(0)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        with self.canvas.before:
            self._bg_color = Color(rgba=self.bg)
            self._bg = RoundedRectangle(pos=self.pos, size=self.size, radius=[self.radius])
            self._line_color = Color(rgba=self.outline)
            self._line = Line(width=self.outline_width)
        self.bind(
            pos=self._redraw, size=self._redraw, bg=self._redraw, outline=self._redraw, radius=self._redraw
        )
        self._redraw()

    def _redraw(self, *_: Any) -> None:
        self._bg_color.rgba = self.bg
        self._bg.pos, self._bg.size, self._bg.radius = self.pos, self.size, [self.radius]
        self._line_color.rgba = self.outline
        self._line.width = self.outline_width
        inset = self.outline_width / 2
        self._line.rounded_rectangle = (
            self.x + inset, self.y + inset, max(0, self.width - 2 * inset), max(0, self.height - 2 * inset),
            max(1, self.radius),
        )  # fmt: skip


class Box(Surface, BoxLayout):
    """A BoxLayout with a background; ``fit`` makes its height follow its content."""

    def __init__(self, fit: bool = False, **kwargs: Any) -> None:
        if fit:
            kwargs.setdefault("size_hint_y", None)
        super().__init__(**kwargs)
        if fit:
            self.bind(minimum_height=self.setter("height"))


class WrappingLabel(Label):
    """A label that knows the surface it is drawn on and, once :meth:`follow_width` is called,
    wraps to its width with its height following its text (the kiosk's and the wall's text)."""

    surface = ListProperty([1, 1, 1, 1])

    def follow_width(self) -> None:
        self.bind(width=self._wrap, texture_size=self._fit)
        self._wrap()

    def _wrap(self, *_: Any) -> None:
        self.text_size = (max(1, self.width), None)

    def _fit(self, *_: Any) -> None:
        self.height = self.texture_size[1]


class Text(WrappingLabel):
    """Wrapping text whose height follows its content; knows the surface it is drawn on."""

    def __init__(
        self,
        ui: Ui,
        text: str,
        *,
        role: str = "body",
        on: RGB,
        fg: RGB | None = None,
        bold: bool = False,
        halign: str = "left",
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("size_hint_y", None)
        super().__init__(
            text=text,
            font_size=ui.font(role),
            font_name=FONT_BOLD if bold else FONT_REGULAR,
            color=rgba(fg if fg is not None else ui.theme.on(on)),
            halign=halign,
            valign="middle",
            **kwargs,
        )
        self.surface = rgba(on)
        self.follow_width()


class OneLine(Label):
    """A label that never wraps and whose width and height follow its text (buttons in a row)."""

    surface = ListProperty([1, 1, 1, 1])

    def __init__(self, ui: Ui, text: str, *, role: str = "button", on: RGB, fg: RGB | None = None,
                 bold: bool = True, **kwargs: Any) -> None:  # fmt: skip
        kwargs.setdefault("size_hint", (None, None))
        super().__init__(
            text=text,
            font_size=ui.font(role),
            font_name=FONT_BOLD if bold else FONT_REGULAR,
            color=rgba(fg if fg is not None else ui.theme.on(on)),
            **kwargs,
        )
        self.surface = rgba(on)
        self.bind(texture_size=self._fit)

    def _fit(self, *_: Any) -> None:
        self.size = self.texture_size


class Tap(ButtonBehavior, Box):
    """A big touch target: a coloured box holding an optional icon and a label; calls ``on_tap``.

    Pressed, it darkens a little; its size never drops below ``min_dp`` and grows with the text.
    """

    kind = StringProperty("secondary")
    selected = BooleanProperty(False)

    def __init__(
        self,
        ui: Ui,
        text: str,
        on_tap: Callable[[], Any],
        *,
        kind: str = "secondary",
        icon: Widget | None = None,
        role: str = "button",
        fit_width: bool = False,
        min_dp: float = BUTTON_DP,
        vertical: bool = False,
        halign: str = "center",
        name: str = "",
        **kwargs: Any,
    ) -> None:
        self.ui = ui
        theme = ui.theme
        bg, fg = theme.button(kind)
        self.base_bg = rgba(bg)
        pad = dp(14)
        kwargs.setdefault("orientation", "vertical" if vertical else "horizontal")
        kwargs.setdefault("padding", [dp(20), pad, dp(20), pad])
        kwargs.setdefault("spacing", dp(12))
        kwargs.setdefault("radius", dp(14))
        kwargs.setdefault("size_hint_y", None)
        outline = theme.border if (kind in ("card", "secondary") or theme.name == "high_contrast") else bg
        super().__init__(
            bg=self.base_bg, outline=rgba(outline), outline_width=dp(theme.border_width_dp), **kwargs
        )
        self.min_dp = min_dp
        self.kind = kind
        self.name = name
        self._on_tap = on_tap
        if icon is not None:
            if not vertical:
                icon.pos_hint = {"center_y": 0.5}
            self.add_widget(icon)
        self.label: Label
        if fit_width:
            self.size_hint_x = None
            self.label = OneLine(ui, text, role=role, on=bg, fg=fg)
        else:
            self.label = Text(ui, text, role=role, on=bg, fg=fg, bold=True, halign=halign)
        if not vertical:
            self.label.pos_hint = {"center_y": 0.5}
        self.add_widget(self.label)
        self.bind(minimum_height=self._grow, minimum_width=self._grow, state=self._press)
        self._grow()

    def _grow(self, *_: Any) -> None:
        self.height = max(dp(self.min_dp), self.minimum_height)
        if self.size_hint_x is None:
            self.width = max(dp(self.min_dp), self.minimum_width)

    def _press(self, *_: Any) -> None:
        shade = 0.82 if self.state == "down" else 1.0
        r, g, b, a = self.base_bg
        if self.ui.theme.name == "high_contrast" and self.kind in ("secondary", "card", "header"):
            self.bg = [0.35, 0.35, 0.35, 1] if self.state == "down" else self.base_bg
        else:
            self.bg = [r * shade, g * shade, b * shade, a]

    def on_release(self) -> None:
        self.ui.act.tapped(self.name)
        self._on_tap()


class Spacer(Widget):
    pass


def named(root: Widget, name: str) -> Any:
    """The first widget under ``root`` called ``name`` (buttons are named: tile-<id>, choice-<id>,
    vorlesen ...), for the selftest, the benchmark and the tests; ``LookupError`` if none."""
    stack = [root]
    while stack:
        w = stack.pop()
        if getattr(w, "name", None) == name:
            return w
        stack.extend(w.children)
    raise LookupError(f"no widget named {name!r} on screen")


def walk_visible(root: Widget) -> list[Widget]:
    """Every widget under ``root`` that is drawn (opacity > 0 and not collapsed to nothing)."""
    out: list[Widget] = []
    stack = [root]
    while stack:
        w = stack.pop()
        if w.opacity <= 0 or getattr(w, "disabled", False):
            continue
        out.append(w)
        stack.extend(w.children)
    return out


def column(ui: Ui, *children: Widget, padding: float = 32, spacing: float = 20, bg: RGB | None = None) -> Box:
    """A vertical stack whose height follows its content (for use inside a :func:`scroll`)."""
    box = Box(fit=True, orientation="vertical", padding=dp(padding), spacing=dp(spacing),
              bg=rgba(bg) if bg is not None else [0, 0, 0, 0])  # fmt: skip
    for child in children:
        box.add_widget(child)
    return box


def scroll(content: Widget) -> Widget:
    """A vertical scroll area without bounce (calm) and with a visible, wide scroll bar."""
    from kivy.effects.scroll import ScrollEffect
    from kivy.uix.scrollview import ScrollView

    view = ScrollView(
        do_scroll_x=False, effect_cls=ScrollEffect, bar_width=dp(10), scroll_type=["bars", "content"]
    )
    view.add_widget(content)
    return view


def heading(ui: Ui, text: str, on: RGB, role: str = "heading") -> Text:
    return Text(ui, text, role=role, on=on, bold=True)


def para(ui: Ui, text: str, on: RGB, *, muted: bool = False, role: str = "body") -> Text:
    return Text(ui, text, role=role, on=on, fg=ui.theme.muted if muted else None)


def equal_heights(taps: list[Tap]) -> None:
    """Give buttons in a grid one common height: the tallest one's (tiles line up in rows)."""

    def level(*_: Any) -> None:
        tallest = max(t.minimum_height for t in taps)
        for t in taps:
            t.height = max(dp(t.min_dp), tallest)

    for t in taps:
        t.bind(minimum_height=level)
    if taps:
        level()


def equal_rows(boxes: list[Box], cols: int) -> None:
    """Cards in a grid of ``cols`` columns: each row as tall as its tallest card."""

    def level(row: list[Box]) -> None:
        tallest = max(b.minimum_height for b in row)
        for b in row:
            b.height = tallest

    for start in range(0, len(boxes), cols):
        row = boxes[start : start + cols]
        for b in row:
            b.bind(minimum_height=lambda *_, r=row: level(r))
        level(row)
