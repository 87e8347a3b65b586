"""JavaScript number semantics that vendor codecs rely on, so our output matches theirs exactly."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal


def to_fixed(x: float, digits: int) -> str:
    """``Number.prototype.toFixed``: ties round away from zero on the exact binary value.

    Python's ``format(x, ".2f")`` rounds ties to even, e.g. ``0.125`` gives ``"0.12"`` where
    JavaScript gives ``"0.13"``.
    """
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        x = 0.0  # (-0).toFixed(2) is "0.00"
    q = Decimal(x).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return f"{q:f}"


def js_str(x: float | int) -> str:
    """``String(x)`` for a number: integral values print without ``.0``."""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, float):
        if math.isnan(x):
            return "NaN"
        if math.isinf(x):
            return "Infinity" if x > 0 else "-Infinity"
        if x.is_integer() and abs(x) < 1e21:
            return str(int(x))
        return repr(x)
    return str(x)


def int16(hi_lo: int) -> int:
    """Reinterpret a 16-bit unsigned value as signed."""
    return hi_lo - 0x10000 if hi_lo & 0x8000 else hi_lo


def int32(v: int) -> int:
    """Reinterpret a 32-bit unsigned value as signed (what JavaScript's ``|0`` and ``<<`` do)."""
    v &= 0xFFFFFFFF
    return v - 0x100000000 if v & 0x80000000 else v
