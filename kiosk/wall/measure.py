"""What the wall's selftest measures on a view: the kiosk's measurements (contrast of every text
drawn, clipped labels; :func:`kiosk.measure.measure`) and the size of the text really drawn.

``smallest_text_px`` is the font size in pixels of the smallest label Kivy laid out and rendered
on the view (not the theme's constant: a label that shrank, or one drawn at another size, counts
as it is); ``smallest_cap_px`` the height of a capital "H" rasterised at that size, in pixels (the
measure EN 301 549 uses for text size at a viewing distance).
"""

from __future__ import annotations

from typing import Any

from kivy.uix.label import Label
from kivy.uix.widget import Widget

from ..measure import measure
from ..screens.widgets import walk_visible


def drawn_texts(root: Widget) -> list[tuple[float, str, Label]]:
    """(font size in px, text, label) of every label with text that has a rendered texture."""
    out = []
    for w in walk_visible(root):
        if isinstance(w, Label) and w.text.strip() and w.texture is not None and w.texture_size[1] > 0:
            out.append((float(w.font_size), w.text, w))
    return out


def cap_height(label: Label) -> int:
    """Pixel rows that hold ink when a capital "H" is rendered like ``label``'s text."""
    from kivy.core.text import Label as CoreLabel

    probe = CoreLabel(text="H", font_size=label.font_size, font_name=label.font_name)
    probe.refresh()
    tex = probe.texture
    width, height = tex.size
    pixels = tex.pixels  # RGBA, rows from the bottom
    rows = 0
    for y in range(height):
        row = pixels[y * width * 4 : (y + 1) * width * 4]
        if any(row[i + 3] > 127 for i in range(0, len(row), 4)):
            rows += 1
    return rows


def measure_view(root: Widget, window: tuple[float, float]) -> dict[str, Any]:
    entry = measure(root, window)
    texts = drawn_texts(root)
    if texts:
        px, text, label = min(texts, key=lambda t: t[0])
        entry.update(
            smallest_text_px=round(px, 1), smallest_text=text[:60], smallest_cap_px=cap_height(label)
        )
    else:
        entry.update(smallest_text_px=None, smallest_text="", smallest_cap_px=None)
    entry["labels"] = len(texts)
    return entry
