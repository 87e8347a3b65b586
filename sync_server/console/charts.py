"""Bar charts drawn on the server as SVG geometry (no JavaScript): the template draws the rectangles.

Each bar carries its number as text beside it and its words in a ``<title>``; the chart as a
whole has a text alternative (``summary``), and every chart stands next to a table with the same
numbers. A suppressed count (None) gets no bar, only its words ("unter 5").
"""

from __future__ import annotations

from dataclasses import dataclass

#: geometry in SVG user units (the chart scales with the page: viewBox)
WIDTH = 640
LABEL_W = 200
ROW_H = 28
BAR_H = 20
NUMBER_W = 90


@dataclass(frozen=True)
class Bar:
    label: str
    value: int | None  # None: suppressed
    text: str  # the number as shown ("12", "unter 5")
    y: int
    width: int


@dataclass(frozen=True)
class Chart:
    bars: tuple[Bar, ...]
    width: int
    height: int
    label_w: int
    bar_h: int
    summary: str


def bars(items: list[tuple[str, int | None, str]], summary: str) -> Chart:
    """A horizontal bar per ``(label, value or None, shown text)``, longest bar for the largest value."""
    top = max((v for _, v, _ in items if v is not None), default=0)
    room = WIDTH - LABEL_W - NUMBER_W
    out = []
    for i, (label, value, text) in enumerate(items):
        width = 0 if not value or not top else max(2, round(room * value / top))
        out.append(Bar(label, value, text, i * ROW_H, width))
    return Chart(tuple(out), WIDTH, max(ROW_H, len(items) * ROW_H), LABEL_W, BAR_H, summary)
