"""After hours: where "Hilfe holen" was, a notice that is no button ("Wir sind wieder da: ...")."""

from __future__ import annotations

from kivy.metrics import dp

from ..afterhours import ClosedNotice
from .icons import Icon
from .widgets import Box, Text, Ui, rgba


def closed_box(ui: Ui, notice: ClosedNotice, *, message: bool = True, min_dp: float = 88) -> Box:
    """A card with the help icon and the notice; ``name`` "closed-notice" (tests find it)."""
    theme = ui.theme
    box = Box(fit=True, orientation="horizontal", padding=dp(14), spacing=dp(14), bg=rgba(theme.card),
              outline=rgba(theme.border), radius=dp(12))  # fmt: skip
    box.name = "closed-notice"
    icon = Icon("help", theme.muted, 40, pos_hint={"center_y": 0.5})
    box.add_widget(icon)
    words = Box(fit=True, orientation="vertical", spacing=dp(4))
    words.add_widget(Text(ui, notice.heading, role="button", on=theme.card, bold=True))
    if message:
        words.add_widget(Text(ui, notice.message, role="small", on=theme.card, fg=theme.muted))
    box.add_widget(words)
    words.bind(height=lambda *_: setattr(box, "height", max(dp(min_dp), words.height + dp(28))))
    return box
