"""Accessibility measurements of what is on screen: touch targets, text contrast, clipped labels.

Used by the selftest (``report.json``) and by the UI tests; works on any Kivy widget tree made of
:mod:`kiosk.screens.widgets`.
"""

from __future__ import annotations

from typing import Any

from kivy.metrics import dp
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.label import Label
from kivy.uix.scrollview import ScrollView
from kivy.uix.widget import Widget

from .screens.widgets import walk_visible
from .theme import contrast_ratio

SLACK_PX = 1.0


def _window_box(w: Widget) -> tuple[float, float, float, float]:
    x0, y0 = w.to_window(w.x, w.y)
    return x0, y0, x0 + w.width, y0 + w.height


def _inside_scroll(w: Widget) -> bool:
    p = w.parent
    while p is not None and p is not p.parent:
        if isinstance(p, ScrollView):
            return True
        p = p.parent
    return False


def measure(root: Widget, window_size: tuple[float, float]) -> dict[str, Any]:
    """``min_target_dp`` (smallest side of any button), ``min_contrast`` (lowest ratio of any text
    drawn), ``buttons`` and ``texts`` counted, and ``clipped``: labels whose text does not fit their
    box, or that stick out of their container or the screen; ``broken_words``: words too wide for
    their label (Kivy would break them in the middle)."""
    targets: list[float] = []
    ratios: list[tuple[float, str]] = []
    clipped: list[str] = []
    broken: list[str] = []
    width, height = window_size
    for w in walk_visible(root):
        if isinstance(w, ButtonBehavior) and w.width > 0 and w.height > 0 and w is not root:
            if w.width < width - 1 or w.height < height - 1:  # a full-screen "touch anywhere" is no target
                targets.append(min(w.width, w.height) / dp(1))
        if isinstance(w, Label) and w.text.strip():
            surface = getattr(w, "surface", None)
            if surface is not None:
                ratios.append((contrast_ratio(tuple(w.color), tuple(surface)), w.text[:40]))
            tw, th = w.texture_size
            x0, _y0, x1, _y1 = _window_box(w)
            too_big = tw > w.width + SLACK_PX or th > w.height + SLACK_PX
            off_screen = x0 < -SLACK_PX or x1 > width + SLACK_PX
            if not _inside_scroll(w):
                _, y0, _, y1 = _window_box(w)
                off_screen = off_screen or y0 < -SLACK_PX or y1 > height + SLACK_PX
            parent = w.parent
            outside = False
            if parent is not None and parent is not root and not isinstance(parent, ScrollView):
                px0, py0, px1, py1 = _window_box(parent)
                _, y0, _, y1 = _window_box(w)
                outside = (x0 < px0 - SLACK_PX or x1 > px1 + SLACK_PX or y0 < py0 - SLACK_PX
                           or y1 > py1 + SLACK_PX)  # fmt: skip
            if too_big or off_screen or outside:
                clipped.append(w.text[:60])
            word = _broken_word(w)
            if word:
                broken.append(word)
    low = min(ratios) if ratios else (21.0, "")
    return {
        "min_target_dp": round(min(targets), 1) if targets else None,
        "min_contrast": round(low[0], 2),
        "min_contrast_text": low[1],
        "buttons": len(targets),
        "texts": len(ratios),
        "clipped": clipped,
        "broken_words": broken,
    }


def _broken_word(label: Label) -> str:
    """A word too wide for a wrapping label (Kivy then breaks it inside the word), or ""."""
    width = label.text_size[0] if label.text_size and label.text_size[0] else None
    if width is None:
        return ""
    longest = max(label.text.split(), key=len, default="")
    if len(longest) < 8:
        return ""
    from kivy.core.text import Label as CoreLabel

    probe = CoreLabel(text=longest, font_size=label.font_size, font_name=label.font_name)
    probe.refresh()
    return longest if probe.width > width - 2 * label.padding_x + SLACK_PX else ""
