"""A QR code for a service address, drawn crisp: one texel per module, scaled by a whole number.

``qrcode`` is imported when the first code is drawn, never at start-up (lean start). The code is
always dark on white with its quiet zone, in both themes, so every phone camera reads it.
"""

from __future__ import annotations

from typing import Any

from kivy.graphics import Color, Rectangle
from kivy.graphics.texture import Texture
from kivy.metrics import dp
from kivy.uix.widget import Widget

_cache: dict[str, list[list[bool]]] = {}


def matrix(url: str) -> list[list[bool]]:
    """The module matrix of ``url`` (error correction M, 4-module quiet zone included)."""
    if url not in _cache:
        import qrcode
        from qrcode.constants import ERROR_CORRECT_M

        qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4)
        qr.add_data(url)
        qr.make(fit=True)
        _cache[url] = [list(row) for row in qr.get_matrix()]
    return _cache[url]


class QrCode(Widget):
    """The QR code of ``url``, about ``size_dp`` wide (rounded down to whole pixels per module)."""

    def __init__(self, url: str, size_dp: float = 300, **kwargs: Any) -> None:
        rows = matrix(url)
        n = len(rows)
        scale = max(3, int(dp(size_dp) // n))
        kwargs.setdefault("size_hint", (None, None))
        kwargs.setdefault("size", (n * scale, n * scale))
        super().__init__(**kwargs)
        self.url = url
        self.modules = n
        buf = bytearray()
        for row in reversed(rows):  # textures start at the bottom row
            for dark in row:
                buf += b"\x00\x00\x00\xff" if dark else b"\xff\xff\xff\xff"
        tex = Texture.create(size=(n, n), colorfmt="rgba")
        tex.mag_filter = "nearest"
        tex.min_filter = "nearest"
        tex.blit_buffer(bytes(buf), colorfmt="rgba", bufferfmt="ubyte")
        self.texture = tex
        with self.canvas:
            Color(1, 1, 1, 1)
            self._rect = Rectangle(texture=tex, pos=self.pos, size=self.size)
        self.bind(pos=self._place)

    def _place(self, *_: Any) -> None:
        self._rect.pos = (int(self.x), int(self.y))
