"""The wall's three kinds of view, drawn in Kivy from :mod:`.model`: the results of one question,
the forecast, the transparency notice. Each is a panel under the wall's header; a results panel
changes its numbers in place (:meth:`ResultsPanel.update`) when only the numbers changed.

Colours are the kiosk's normal theme (:data:`kiosk.theme.NORMAL`): every text is one of its
measured pairs; this site's bars in the primary colour, the town's in the muted one, and every
bar carries its number and percentage, so nothing is told by colour alone.
"""

from __future__ import annotations

from typing import Any

from kivy.graphics import Color, Rectangle
from kivy.graphics import Line as GLine
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.widget import Widget

from ..screens.qr import QrCode
from ..screens.widgets import Box, rgba
from ..theme import NORMAL, Theme
from .model import ForecastView, Header, Line, NoticeView, ResultsView, number, percent
from .widgets import BarCell, WallText, fit_height, two_lines

View = ResultsView | ForecastView | NoticeView
THEME: Theme = NORMAL
#: the width of the answers' column in a results view, of the panel's width
LABEL_SHARE = 0.36
#: the answers' second-language labels fit on up to this many rows (more: the wall's language only)
ROWS_WITH_SECOND = 5


def header_bar(h: Header, scale: float) -> Box:
    t = THEME
    bar = Box(orientation="horizontal", size_hint_y=None, height=88 * scale, padding=[64 * scale, 0],
              bg=rgba(t.header_bg))  # fmt: skip
    place = WallText(
        h.place, role="body", scale=scale, on=t.header_bg, fg=t.on_header, bold=True, max_lines=1
    )
    place.pos_hint = {"center_y": 0.5}
    stamp_text = " · ".join(x for x in (h.stamp.text, h.stamp.second) if x)
    stamp = WallText(stamp_text, role="small", scale=scale, on=t.header_bg, fg=t.on_header, halign="right",
                     max_lines=1)  # fmt: skip
    stamp.pos_hint = {"center_y": 0.5}
    bar.add_widget(place)
    bar.add_widget(stamp)
    return bar


class Panel(Box):
    """One view under the header; ``key`` names it ("results:<id>", "forecast", "notice")."""

    def __init__(self, view: View, scale: float) -> None:
        super().__init__(orientation="vertical", padding=[64 * scale, 32 * scale, 64 * scale, 32 * scale],
                         spacing=16 * scale, bg=rgba(THEME.background))  # fmt: skip
        self.view = view
        self.key = view.key
        self.scale = scale

    def update(self, view: View) -> bool:
        """Show ``view`` in place; False when it needs a new panel (its layout changed)."""
        return view == self.view

    def text(self, line: Line, role: str, *, bold: bool = False, muted: bool = False, max_lines: int = 0,
             on: Any = None) -> BoxLayout:  # fmt: skip
        surface = on if on is not None else THEME.background
        fg = THEME.muted if muted else THEME.text
        return two_lines(line, role=role, scale=self.scale, on=surface, fg=fg, muted=THEME.muted, bold=bold,
                         max_lines=max_lines)  # fmt: skip


def _joined(line: Line) -> str:
    return " · ".join(x for x in (line.text, line.second) if x)


def _cell_text(n: int, share: float, lang: str) -> str:
    return f"{number(n, lang)} · {percent(share, lang)}"


class ResultsPanel(Panel):
    """The question, and per answer a row: its label, this site's bar and the town's."""

    def __init__(self, view: ResultsView, scale: float) -> None:
        super().__init__(view, scale)
        t, s = THEME, scale
        self.add_widget(WallText(_joined(view.kicker), role="small", scale=s, on=t.background, fg=t.muted, bold=True,
                                 max_lines=1))  # fmt: skip
        self.add_widget(
            self.text(view.title, "heading", bold=True, max_lines=2 if len(view.rows) <= 3 else 1)
        )
        self.cells: dict[str, tuple[BarCell, BarCell | None]] = {}
        self.totals: list[WallText] = []
        if view.rows:
            self.add_widget(self._table(view))
        if view.note.text:
            self.add_widget(self.text(view.note, "body"))
        self.add_widget(Widget())  # the slack goes below

    def _column_head(self, head: Line, total: Line) -> BoxLayout:
        t, s = THEME, self.scale
        box = BoxLayout(orientation="vertical", size_hint_y=None)
        box.add_widget(
            WallText(_joined(head), role="body", scale=s, on=t.background, fg=t.text, bold=True, max_lines=1)
        )
        total_label = WallText(
            _joined(total), role="small", scale=s, on=t.background, fg=t.muted, max_lines=1
        )
        self.totals.append(total_label)
        box.add_widget(total_label)
        fit_height(box)
        return box

    def _table(self, view: ResultsView) -> GridLayout:
        t, s = THEME, self.scale
        town = view.town_head is not None and view.town_total is not None
        grid = GridLayout(cols=3 if town else 2, size_hint_y=None, spacing=[32 * s, 12 * s])
        grid.bind(minimum_height=grid.setter("height"))
        first = 1.0 - LABEL_SHARE
        widths = [LABEL_SHARE, first / 2, first / 2] if town else [LABEL_SHARE, first]
        cells: list[Widget] = [
            Widget(size_hint_y=None, height=1),
            self._column_head(view.here_head, view.here_total),
        ]
        if town and view.town_head is not None and view.town_total is not None:
            cells.append(self._column_head(view.town_head, view.town_total))
        second_labels = len(view.rows) <= ROWS_WITH_SECOND
        lines = 2 if len(view.rows) <= 3 else 1  # long labels wrap where there is room, else "…"
        for row in view.rows:
            label = row.label if second_labels else Line(row.label.text)
            cells.append(self.text(label, "body", bold=True, max_lines=lines))
            here = BarCell(row.here_share, _cell_text(row.here, row.here_share, view.lang), colour=t.primary_bg,
                           scale=s, on=t.background, fg=t.text, size_hint_y=None, height=56 * s)  # fmt: skip
            there = None
            cells.append(here)
            if town:
                share = row.town_share or 0.0
                there = BarCell(share, _cell_text(row.town or 0, share, view.lang), colour=t.muted, scale=s,
                                on=t.background, fg=t.text, size_hint_y=None, height=56 * s)  # fmt: skip
                cells.append(there)
            self.cells[row.answer_id] = (here, there)
        for i, cell in enumerate(cells):
            cell.size_hint_x = widths[i % grid.cols]
            grid.add_widget(cell)
        self._level_rows(cells, grid.cols)
        return grid

    @staticmethod
    def _level_rows(cells: list[Widget], cols: int) -> None:
        """Each row of the table as tall as its tallest cell (a label on two lines)."""
        for start in range(0, len(cells), cols):
            row = cells[start : start + cols]

            def level(*_: Any, row: list[Widget] = row) -> None:
                tallest = max(c.height for c in row if not isinstance(c, BarCell))
                for c in row:
                    if isinstance(c, BarCell):
                        c.height = max(56 * c.scale, tallest)

            for c in row:
                if not isinstance(c, BarCell):
                    c.bind(height=level)
            level()

    def update(self, view: View) -> bool:
        old = self.view
        if not isinstance(view, ResultsView) or not isinstance(old, ResultsView):
            return False
        same_shape = (view.title, view.kicker, view.note, view.town_head, view.here_head) == (
            old.title, old.kicker, old.note, old.town_head, old.here_head) and [
            (r.answer_id, r.label) for r in view.rows] == [(r.answer_id, r.label) for r in old.rows]  # fmt: skip
        if not same_shape:
            return False
        for row in view.rows:
            here, there = self.cells[row.answer_id]
            here.set(row.here_share, _cell_text(row.here, row.here_share, view.lang))
            if there is not None:
                share = row.town_share or 0.0
                there.set(share, _cell_text(row.town or 0, share, view.lang))
        totals = [view.here_total] + ([view.town_total] if view.town_total is not None else [])
        for label, total in zip(self.totals, totals, strict=False):
            label.text = _joined(total)
        self.view = view
        return True

    def counts(self) -> dict[str, str]:
        """What each answer's row says for this site now ("12 · 40 %"), for tests and the selftest."""
        return {k: here.number.text for k, (here, _there) in self.cells.items()}


class ForecastBars(Widget):
    """Expected visitors per hour as bars, their number above each; past hours paler; the busy
    line dashed. Hours and numbers are text of their own (:class:`ForecastPanel`)."""

    def __init__(self, view: ForecastView, scale: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.view, self.scale = view, scale
        self.bind(pos=self._draw, size=self._draw)

    def top(self) -> float:
        v = self.view
        return max([b.p90 for b in v.bars] + [v.threshold or 0.0]) * 1.05 or 1.0

    def _draw(self, *_: Any) -> None:
        t, v = THEME, self.view
        self.canvas.clear()
        w = self.width / len(v.bars)
        top = self.top()
        with self.canvas:
            for i, b in enumerate(v.bars):  # the likely range (P10-P90) behind each bar, as on the kiosk
                Color(*t.primary_bg, 0.18)
                lo, hi = (self.height * max(0.0, p) / top for p in (b.p10, b.p90))
                Rectangle(pos=(self.x + i * w + w * 0.08, self.y + lo), size=(w * 0.84, hi - lo))
            for i, b in enumerate(v.bars):
                Color(*(t.border if b.over else t.primary_bg), 1)
                h = self.height * max(0.0, b.p50) / top
                Rectangle(pos=(self.x + i * w + w * 0.18, self.y), size=(w * 0.64, h))
            if v.threshold is not None and v.threshold < top:
                y = self.y + self.height * v.threshold / top
                Color(*t.alert_bg, 1)
                GLine(points=[self.x, y, self.right, y], width=2 * self.scale, dash_length=int(12 * self.scale),
                      dash_offset=int(8 * self.scale))  # fmt: skip


class ForecastPanel(Panel):
    def __init__(self, view: ForecastView, scale: float) -> None:
        super().__init__(view, scale)
        t, s = THEME, scale
        self.add_widget(self.text(view.title, "heading", bold=True, max_lines=1))
        if view.sample:
            self.add_widget(
                WallText(view.sample, role="small", scale=s, on=t.background, fg=t.text, bold=True)
            )
        self.add_widget(self.text(view.sentence, "number", bold=True, max_lines=1))
        if view.peak.text:
            self.add_widget(self.text(view.peak, "body", max_lines=1))
        counts = BoxLayout(size_hint_y=None, height=40 * s)
        for b in view.bars:
            counts.add_widget(WallText(str(round(b.p50)), role="small", scale=s, on=t.background, fg=t.muted,
                                       halign="center", max_lines=1))  # fmt: skip
        self.add_widget(counts)
        self.add_widget(ForecastBars(view, s))
        hours = BoxLayout(size_hint_y=None, height=44 * s)
        for b in view.bars:
            hours.add_widget(WallText(str(b.hour), role="small", scale=s, on=t.background, fg=t.text, bold=True,
                                      halign="center", max_lines=1))  # fmt: skip
        self.add_widget(hours)
        self.add_widget(self.text(view.legend, "small", muted=True, max_lines=2))
        self.add_widget(WallText(view.label, role="small", scale=s, on=t.background, fg=t.muted, max_lines=2))


class NoticePanel(Panel):
    def __init__(self, view: NoticeView, scale: float) -> None:
        super().__init__(view, scale)
        t, s = THEME, scale
        self.orientation = "horizontal"
        self.spacing = 64 * s
        left = BoxLayout(orientation="vertical", spacing=20 * s)
        left.add_widget(self.text(view.title, "heading", bold=True, max_lines=2))
        if view.counted:
            items = BoxLayout(orientation="vertical", size_hint_y=None, spacing=10 * s)
            for line in view.counted[:6]:
                items.add_widget(self.text(Line("• " + line.text, line.second), "body", max_lines=1))
            fit_height(items)
            left.add_widget(items)
        left.add_widget(self.text(view.no_person, "label", bold=True, max_lines=3))
        if view.register.text:
            left.add_widget(self.text(view.register, "body", max_lines=2))
        left.add_widget(Widget())
        self.add_widget(left)
        if view.url:
            right = BoxLayout(orientation="vertical", size_hint_x=None, width=560 * s, spacing=16 * s)
            right.add_widget(Widget())
            code = QrCode(view.url, size_dp=520 * s / _dp1())
            code.pos_hint = {"center_x": 0.5}
            right.add_widget(code)
            right.add_widget(WallText(view.url, role="small", scale=s, on=t.background, fg=t.text, halign="center",
                                      max_lines=2))  # fmt: skip
            right.add_widget(Widget())
            self.add_widget(right)
            self.qr = code


def _dp1() -> float:
    from kivy.metrics import dp

    return float(dp(1))


def panel(view: View, scale: float) -> Panel:
    if isinstance(view, ResultsView):
        return ResultsPanel(view, scale)
    if isinstance(view, ForecastView):
        return ForecastPanel(view, scale)
    return NoticePanel(view, scale)
