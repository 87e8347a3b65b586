"""A service in plain words: what it is, what to bring, hours, where, the content's age, and a QR
code that continues it on the citizen's phone."""

from __future__ import annotations

from kivy.metrics import dp
from kivy.uix.anchorlayout import AnchorLayout
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from ..views import service
from .base import Page
from .icons import Icon
from .qr import QrCode
from .widgets import Box, Tap, Text, column, heading, para, rgba, scroll


class ServicePage(Page):
    name = "service"

    def build(self) -> Widget:
        ui, theme = self.ui, self.ui.theme
        s = ui.act.pack.service(self.params["service"])
        if s is None:  # the controller shows the home screen instead; never here
            return Widget()
        view = service(s, ui.lang, ui.tr)
        self.spoken = view.spoken
        bg = theme.background
        title_row = BoxLayout(size_hint_y=None, spacing=dp(20))
        title_row.add_widget(
            Icon(
                view.icon,
                theme.accent if theme.name == "high_contrast" else theme.primary_bg,
                48 if ui.narrow else 64,
            )
        )
        title = heading(ui, view.title, bg, role="tile" if ui.narrow and ui.large else "heading")
        title_row.add_widget(title)
        title.bind(height=lambda *_: setattr(title_row, "height", max(dp(64), title.height)))
        text = column(ui, title_row, para(ui, view.summary, bg, role="tile"), padding=32, spacing=18)
        notice = ui.act.closed_notice()  # after hours: a notice instead of "Hilfe holen"
        help_tap: Widget
        if notice is None:
            help_tap = Tap(ui, view.help, lambda: ui.act.call_help(s.id), kind="alert",
                           icon=Icon("help", theme.on_alert, 36), name="help")  # fmt: skip
        else:
            from .afterhours import closed_box

            help_tap = closed_box(ui, notice, message=False)
            self.spoken = view.spoken + " " + notice.spoken
        if ui.narrow:  # no room under the QR code: help comes right after the summary
            text.add_widget(help_tap)
        text.add_widget(para(ui, view.body, bg))
        if view.bring:
            text.add_widget(heading(ui, view.bring_heading, bg, role="tile"))
            for item in view.bring:
                text.add_widget(para(ui, "•  " + item, bg))
        if view.hours:
            text.add_widget(heading(ui, view.hours_heading, bg, role="tile"))
            text.add_widget(para(ui, view.hours, bg))
        if view.where:
            text.add_widget(heading(ui, view.where_heading, bg, role="tile"))
            text.add_widget(para(ui, view.where, bg))
        text.add_widget(para(ui, view.updated, bg, muted=True, role="small"))

        side_dp = 300 if ui.narrow else 420
        # on a narrow screen the card scrolls (its height follows its content) rather than clip
        side = Box(fit=ui.narrow, orientation="vertical", padding=dp(16 if ui.narrow else 24), spacing=dp(16),
                   bg=rgba(theme.card), outline=rgba(theme.border), radius=dp(16))  # fmt: skip
        hint_role = "small" if ui.narrow else "body" if ui.large else "tile"
        side.add_widget(Text(ui, view.qr_hint, role=hint_role, on=theme.card, bold=True, halign="center"))
        qr_dp = 190 if ui.narrow else 270 if ui.large else 320
        holder = AnchorLayout(size_hint_y=None, height=dp(qr_dp + 10))
        holder.add_widget(QrCode(view.url, qr_dp))
        side.add_widget(holder)
        side.add_widget(Text(ui, view.url.removeprefix("https://"), role="small", on=theme.card, fg=theme.muted,
                             halign="center"))  # fmt: skip
        if not ui.narrow:
            side.add_widget(Widget())
            side.add_widget(help_tap)

        row = BoxLayout(spacing=dp(8), padding=[0, 0, dp(24), dp(24)])
        row.add_widget(scroll(text))
        right = BoxLayout(
            orientation="vertical", size_hint_x=None, width=dp(side_dp), padding=[0, dp(24), 0, 0]
        )
        right.add_widget(scroll(side) if ui.narrow else side)
        row.add_widget(right)
        return row
