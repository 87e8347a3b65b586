"""Feedback and polls: a smiley scale or multiple choice, one vote per visit, a big "Danke" and
the result (unless the poll shows it only after it closed)."""

from __future__ import annotations

from functools import partial

from kivy.graphics import Color, RoundedRectangle
from kivy.metrics import dp
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.widget import Widget

from ..views import poll, thanks
from .base import Page
from .icons import Face, Icon
from .widgets import Box, Tap, Text, column, equal_heights, heading, para, rgba, scroll


class _Meter(Widget):
    """A horizontal bar filled to ``share`` (0..1)."""

    def __init__(
        self, share: float, fill: tuple[float, float, float], track: tuple[float, float, float]
    ) -> None:
        super().__init__(size_hint_y=None, height=dp(22))
        self._share, self._fill, self._track = share, fill, track
        self.bind(pos=self._draw, size=self._draw)

    def _draw(self, *_: object) -> None:
        self.canvas.clear()
        with self.canvas:
            Color(*self._track, 1)
            RoundedRectangle(pos=self.pos, size=self.size, radius=[dp(8)])
            Color(*self._fill, 1)
            RoundedRectangle(
                pos=self.pos, size=(max(dp(8), self.width * self._share), self.height), radius=[dp(8)]
            )


class FeedbackPage(Page):
    name = "feedback"

    def build(self) -> Widget:
        ui, theme = self.ui, self.ui.theme
        polls = ui.act.polls()
        if not polls:
            self.spoken = ui.tr("Gerade gibt es keine Umfrage.")
            return column(ui, heading(ui, self.spoken, theme.background))
        wanted = self.params.get("poll")  # a live question's tile names its id
        index = next((i for i, p in enumerate(polls) if p.id == wanted), int(self.params.get("index", 0)))
        index %= len(polls)
        p = polls[index]
        if ui.act.session.has_voted(p.id):
            return self._thanks(index)
        view = poll(p, index, len(polls), ui.lang, ui.tr)
        self.spoken = view.spoken
        bg = theme.background
        page = column(ui, para(ui, view.counter, bg, muted=True), heading(ui, view.question, bg), spacing=28)
        if view.kind == "smiley":
            # five in a row; on a narrow screen with large text three, then two
            cols = len(view.choices) if ui.room > 1 else min(3, len(view.choices))
            row = GridLayout(cols=cols, spacing=dp(8 if ui.narrow else 16), size_hint_y=None)
            row.bind(minimum_height=row.setter("height"))
            faces: list[Tap] = []
            for c in view.choices:
                face = Face(c.level, theme.smileys[c.level], theme.text if theme.name == "normal" else (0, 0, 0),
                            80 if ui.narrow else 110, pos_hint={"center_x": 0.5})  # fmt: skip
                tap = Tap(ui, c.label, partial(ui.act.vote, p.id, c.id), kind="card", vertical=True, icon=face,
                          role="small" if ui.narrow else "body", min_dp=150 if ui.narrow else 190,
                          name=f"choice-{c.id}")  # fmt: skip
                if ui.narrow:
                    tap.padding = [dp(6), dp(10)]
                faces.append(tap)
                row.add_widget(tap)
            equal_heights(faces)
        else:
            row = GridLayout(cols=1 if ui.room < 3 else 2, spacing=dp(16), size_hint_y=None)
            row.bind(minimum_height=row.setter("height"))
            for c in view.choices:
                row.add_widget(Tap(ui, c.label, partial(ui.act.vote, p.id, c.id), kind="card", halign="left",
                                   icon=Icon(c.icon, theme.accent if theme.name != "normal" else theme.primary_bg, 48),
                                   role="tile", min_dp=110, name=f"choice-{c.id}"))  # fmt: skip
        page.add_widget(row)
        page.add_widget(para(ui, ui.tr("Ihre Antwort ist anonym. Eine Stimme pro Besuch."), bg, muted=True))
        return scroll(page)

    def _thanks(self, index: int) -> Widget:
        ui, theme = self.ui, self.ui.theme
        polls = ui.act.polls()
        p = polls[index]
        counts = self.params.get("counts")
        view = thanks(p, ui.lang, ui.tr, counts, again=not self.params.get("just_voted"),
                      has_next=index + 1 < len(polls))  # fmt: skip
        self.spoken = view.spoken
        bg = theme.background
        mark = Icon("check", theme.accent if theme.name == "high_contrast" else theme.primary_bg, 120, line_dp=6,
                    pos_hint={"center_x": 0.5})  # fmt: skip
        page = column(ui, Widget(size_hint_y=None, height=dp(24)), mark,
                      Text(ui, view.heading, role="huge", on=bg, bold=True, halign="center"),
                      Text(ui, view.message, role="tile", on=bg, halign="center"), spacing=24)  # fmt: skip
        if view.bars:
            card = Box(fit=True, orientation="vertical", padding=dp(24), spacing=dp(10), bg=rgba(theme.card),
                       outline=rgba(theme.border), radius=dp(14))  # fmt: skip
            for bar in view.bars:
                card.add_widget(Text(ui, f"{bar.label}: {round(bar.share * 100)} %", on=theme.card))
                card.add_widget(_Meter(bar.share, theme.primary_bg if theme.name == "normal" else theme.accent,
                                       theme.secondary_bg if theme.name == "normal" else (0.3, 0.3, 0.3)))  # fmt: skip
            card.add_widget(Text(ui, view.total, role="small", on=theme.card, fg=theme.muted))
            page.add_widget(card)
        buttons = BoxLayout(size_hint_y=None, spacing=dp(20))
        if view.next_label:
            buttons.add_widget(Tap(ui, view.next_label, lambda: ui.act.go("feedback", index=index + 1),
                                   kind="primary", name="next"))  # fmt: skip
        buttons.add_widget(Tap(ui, ui.tr("Zur Startseite"), lambda: ui.act.go("home"), kind="secondary",
                               name="to-home"))  # fmt: skip
        buttons.bind(minimum_height=buttons.setter("height"))
        page.add_widget(buttons)
        return scroll(page)
