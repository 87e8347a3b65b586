"""Colours, sizes and the contrast arithmetic of the kiosk screens (no Kivy here).

Two colour sets: :data:`NORMAL` (calm, warm paper with dark blue) and :data:`HIGH_CONTRAST`
(black, white and yellow). Every text colour a screen draws is one of a theme's *pairs*
(foreground on background); :func:`Theme.pairs` lists them and tests hold each pair to WCAG's
contrast ratio: at least 4.5:1 in the normal theme and 7:1 in high contrast.
Sizes are in dp (touch targets) and sp (text); large-text mode multiplies the text sizes by 1.5.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

RGB = tuple[float, float, float]

#: Smallest touch target any screen may have (WCAG 2.5.5 asks 44 CSS px; we ask more).
MIN_TARGET_DP = 48.0
#: The height of an ordinary button; tiles and smileys are larger.
BUTTON_DP = 72.0
LARGE_TEXT = 1.5
REQUIRED_CONTRAST = {"normal": 4.5, "high_contrast": 7.0}

#: text sizes in sp before the large-text factor
FONT = {
    "small": 18.0,
    "body": 22.0,
    "button": 24.0,
    "tile": 28.0,
    "heading": 34.0,
    "huge": 56.0,
}


def hex_rgb(code: str) -> RGB:
    """``"#0e3a5b"`` → (0.055, 0.227, 0.357)."""
    code = code.lstrip("#")
    if len(code) != 6:
        raise ValueError(f"not a #rrggbb colour: {code!r}")
    return (int(code[0:2], 16) / 255, int(code[2:4], 16) / 255, int(code[4:6], 16) / 255)


def relative_luminance(rgb: RGB) -> float:
    """WCAG 2.x relative luminance of an sRGB colour with channels 0..1."""

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(fg: RGB | tuple[float, ...], bg: RGB | tuple[float, ...]) -> float:
    """WCAG contrast ratio (1..21) of two opaque colours; alpha channels are ignored."""
    a = relative_luminance((fg[0], fg[1], fg[2]))
    b = relative_luminance((bg[0], bg[1], bg[2]))
    hi, lo = max(a, b), min(a, b)
    return (hi + 0.05) / (lo + 0.05)


#: button kind -> the text-on-surface pair (of :meth:`Theme.pairs`) it is drawn with
_BUTTON_PAIRS = {"primary": "primary", "secondary": "secondary", "selected": "selected", "alert": "alert",
                 "card": "text/card", "header": "header"}  # fmt: skip


@dataclass(frozen=True)
class Theme:
    """One colour set. ``*_bg`` are surfaces, the matching ``on_*`` the text drawn on them."""

    name: str
    background: RGB  #: the page
    text: RGB  #: body text on the page and on cards
    muted: RGB  #: secondary text (hints, dates) on the page and on cards
    card: RGB  #: tiles, cards, dialogs
    border: RGB  #: outlines of cards and buttons (not text)
    header_bg: RGB
    on_header: RGB
    primary_bg: RGB  #: the main action of a screen
    on_primary: RGB
    secondary_bg: RGB  #: other buttons
    on_secondary: RGB
    selected_bg: RGB  #: the chosen language / option
    on_selected: RGB
    alert_bg: RGB  #: help, wrong PIN, delete
    on_alert: RGB
    accent: RGB  #: decoration only (tile stripes, icons), never text
    scrim: RGB  #: behind dialogs (drawn with alpha)
    smileys: tuple[RGB, RGB, RGB, RGB, RGB]  #: face colours worst → best (decoration)
    border_width_dp: float = 2.0

    @property
    def required_contrast(self) -> float:
        return REQUIRED_CONTRAST[self.name]

    def pairs(self) -> dict[str, tuple[RGB, RGB]]:
        """Every text-on-surface combination the screens use, by name."""
        return {
            "text/background": (self.text, self.background),
            "text/card": (self.text, self.card),
            "muted/background": (self.muted, self.background),
            "muted/card": (self.muted, self.card),
            "header": (self.on_header, self.header_bg),
            "primary": (self.on_primary, self.primary_bg),
            "secondary": (self.on_secondary, self.secondary_bg),
            "selected": (self.on_selected, self.selected_bg),
            "alert": (self.on_alert, self.alert_bg),
        }

    def button(self, kind: str) -> tuple[RGB, RGB]:
        """``(background, text)`` of a button of ``kind``: one of the pairs whose contrast is checked."""
        fg, bg = self.pairs()[_BUTTON_PAIRS[kind]]
        return bg, fg

    def lowest_contrast(self) -> tuple[str, float]:
        name, (fg, bg) = min(self.pairs().items(), key=lambda kv: contrast_ratio(*kv[1]))
        return name, contrast_ratio(fg, bg)

    def on(self, surface: RGB) -> RGB:
        """The text colour that belongs on ``surface`` (one of this theme's surfaces)."""
        for fg, bg in self.pairs().values():
            if bg == surface:
                return fg
        return self.text


def _theme(name: str, **colours: str | tuple[str, ...] | float) -> Theme:
    values: dict[str, object] = {"name": name}
    for f in fields(Theme):
        if f.name in colours:
            raw = colours[f.name]
            if isinstance(raw, tuple):
                values[f.name] = tuple(hex_rgb(c) for c in raw)
            elif isinstance(raw, str):
                values[f.name] = hex_rgb(raw)
            else:
                values[f.name] = raw
    return Theme(**values)  # type: ignore[arg-type]


NORMAL = _theme(
    "normal",
    background="#f4f1ea",
    text="#1b2330",
    muted="#4a5363",
    card="#ffffff",
    border="#c9c3b6",
    header_bg="#0e3a5b",
    on_header="#ffffff",
    primary_bg="#0b5394",
    on_primary="#ffffff",
    secondary_bg="#dde8f3",
    on_secondary="#0e3a5b",
    selected_bg="#0e3a5b",
    on_selected="#ffffff",
    alert_bg="#9f1d20",
    on_alert="#ffffff",
    accent="#e0a106",
    scrim="#1b2330",
    smileys=("#d9534f", "#f0883e", "#f2c94c", "#8bc34a", "#3b9c4b"),
    border_width_dp=1.5,
)

HIGH_CONTRAST = _theme(
    "high_contrast",
    background="#000000",
    text="#ffffff",
    muted="#f2f2f2",
    card="#000000",
    border="#ffffff",
    header_bg="#000000",
    on_header="#ffff00",
    primary_bg="#ffff00",
    on_primary="#000000",
    secondary_bg="#000000",
    on_secondary="#ffffff",
    selected_bg="#ffffff",
    on_selected="#000000",
    alert_bg="#ffffff",
    on_alert="#000000",
    accent="#ffff00",
    scrim="#000000",
    smileys=("#ff6b6b", "#ffa94d", "#ffe066", "#a9e34b", "#69db7c"),
    border_width_dp=3.0,
)

THEMES = {t.name: t for t in (NORMAL, HIGH_CONTRAST)}


def theme(high_contrast: bool) -> Theme:
    return HIGH_CONTRAST if high_contrast else NORMAL


def font_sp(role: str, large: bool) -> float:
    """The text size in sp of a text role (``body``, ``heading`` ...) in normal or large mode."""
    return FONT[role] * (LARGE_TEXT if large else 1.0)
