"""Synthetic hourly counts for the forecast tests: a daily shape, a weekly rhythm, noise, a level."""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

TZ = "Europe/Berlin"


def counts(start: datetime, hours: int, seed: int = 1, level: float = 400.0,
           shifts: dict[int, float] | None = None) -> list[tuple[datetime, float]]:  # fmt: skip
    """(local aware start of hour, count) for ``hours`` UTC hours from local ``start``.

    ``shifts`` maps an hour index to a factor the level changes by from then on.
    """
    rng = np.random.default_rng(seed)
    z = ZoneInfo(TZ)
    first = start.replace(tzinfo=z).timestamp()
    out = []
    factor = 1.0
    for i in range(hours):
        if shifts and i in shifts:
            factor *= shifts[i]
        t = datetime.fromtimestamp(first + 3600 * i, z)
        h = t.hour
        shape = 0.05 + math.exp(-((h - 12) ** 2) / 8) + 0.8 * math.exp(-((h - 17) ** 2) / 6)
        week = (1.0, 1.0, 1.05, 1.1, 1.3, 1.5, 0.3)[t.weekday()]
        mean = level * factor * shape * week
        out.append((t, float(rng.poisson(mean))))
    return out


def write_csv(path: Path, rows: list[tuple[datetime, float]], offset: bool = False) -> Path:
    lines = ["timestamp,count,location"]
    for t, c in rows:
        stamp = t.isoformat() if offset else t.replace(tzinfo=None).isoformat()
        lines.append(f"{stamp},{c:g},Testplatz")
    path.write_text("\n".join(lines) + "\n")
    return path


def weeks(n: int) -> int:
    return n * 7 * 24


START = datetime(2024, 1, 1)
