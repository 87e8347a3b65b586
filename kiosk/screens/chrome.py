"""What surrounds every page: the header bar and the "Brauchen Sie mehr Zeit?" prompt."""

from __future__ import annotations

from functools import partial

from kivy.metrics import dp
from kivy.uix.anchorlayout import AnchorLayout
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.widget import Widget

from ..i18n import UI_LANGUAGES
from ..views import idle_prompt
from .icons import Icon
from .widgets import Box, Tap, Text, Ui, rgba


def header(ui: Ui, *, can_go_back: bool, speaking: bool) -> Box:
    """Zurück · Start … DE FR EN · Vorlesen · Einstellungen (every target ≥ 64 dp); on a narrow
    screen without DE FR EN, which the settings page offers as well."""
    ui = ui.navigation()
    theme, act, tr = ui.theme, ui.act, ui.tr
    bg = theme.header_bg
    bar = Box(
        orientation="horizontal", size_hint_y=None, padding=[dp(16), dp(10)], spacing=dp(12), bg=rgba(bg)
    )
    bar.bind(minimum_height=lambda *_: setattr(bar, "height", max(dp(92), bar.minimum_height)))
    fg = theme.on_header

    def button(text: str, icon: str, action: object, name: str, kind: str = "header") -> Tap:
        color = fg if kind == "header" else theme.on_selected
        return Tap(ui, text, action, kind=kind, icon=Icon(icon, color, 32) if icon else None,  # type: ignore[arg-type]
                   fit_width=True, min_dp=72, padding=[dp(14), dp(8)], role="button", name=name)  # fmt: skip

    if can_go_back:
        bar.add_widget(button(tr("Zurück"), "back", act.back, "back"))
    bar.add_widget(button(tr("Start"), "home", lambda: act.go("home"), "start"))
    bar.add_widget(Widget())
    for code in () if ui.narrow else UI_LANGUAGES:
        chosen = ui.lang == code
        bar.add_widget(button(code.upper(), "", partial(act.set_lang, code), f"chip-{code}",
                              kind="selected" if chosen and theme.name == "high_contrast" else "header"))  # fmt: skip
        if chosen and theme.name == "normal":
            chip = bar.children[0]
            chip.outline = rgba(theme.on_header)
    if act.speech_available():
        bar.add_widget(button(tr("Stopp") if speaking else tr("Vorlesen"), "stop" if speaking else "speaker",
                              act.toggle_reading, "vorlesen"))  # fmt: skip
    bar.add_widget(button(tr("Einstellungen"), "settings", lambda: act.go("settings"), "settings"))
    return bar


class _Scrim(ButtonBehavior, Box):
    pass


class IdlePrompt(AnchorLayout):
    """A dimmed screen with one question; a touch anywhere continues the visit."""

    def __init__(self, ui: Ui, seconds: float) -> None:
        super().__init__(anchor_x="center", anchor_y="center")
        theme = ui.theme
        scrim = _Scrim(bg=rgba(theme.scrim, 0.72 if theme.name == "normal" else 0.9))
        scrim.bind(on_release=lambda *_: ui.act.keep_going())
        self.add_widget(scrim)
        from kivy.core.window import Window

        width = min(dp(760), Window.width - dp(48))
        card = Box(orientation="vertical", size_hint=(None, None), width=width, padding=dp(36), spacing=dp(24),
                   bg=rgba(theme.card), outline=rgba(theme.border), radius=dp(20))  # fmt: skip
        card.bind(minimum_height=card.setter("height"))
        self.ui = ui
        view = idle_prompt(ui.tr, seconds)
        card.add_widget(Text(ui, view.question, role="heading", on=theme.card, bold=True, halign="center"))
        self.countdown = Text(ui, view.countdown, role="tile", on=theme.card, halign="center")
        card.add_widget(self.countdown)
        card.add_widget(Tap(ui, view.button, ui.act.keep_going, kind="primary", min_dp=96, role="tile",
                            name="more-time"))  # fmt: skip
        self.add_widget(card)
        self.spoken = view.spoken

    def update(self, seconds: float) -> None:
        self.countdown.text = idle_prompt(self.ui.tr, seconds).countdown
