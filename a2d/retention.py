"""How long single records of each stream are kept: one table for the edge agent and the server.

The defaults are what the transparency records promise citizens ("single answers at most 400 days,
totals indefinitely"); a town changes them in ``[retention]`` of ``edge.toml`` and ``server.toml``.
"""

from __future__ import annotations

from .config import Setting

#: stream -> (default days, what its records are)
STREAMS: dict[str, tuple[int, str]] = {
    "uplink": (400, "uplink events"),
    "health": (90, "status and join events"),
    "network": (30, "acks, logs, locations and downlink reports"),
    "button": (400, "presses and battery readings from button boxes"),
    "feedback": (400, "kiosk votes"),
    "usage": (400, "kiosk usage counters (one report per kiosk and day)"),
    "help": (30, "kiosk help requests (their opening and closing)"),
}


def settings() -> tuple[Setting, ...]:
    """``retention.<stream>_days`` for every stream of :data:`STREAMS`."""
    return tuple(
        Setting(f"retention.{stream}_days", days, f"days {what} are kept (0 = forever)", int)
        for stream, (days, what) in STREAMS.items()
    )


def defaults() -> dict[str, int]:
    """stream -> its default days."""
    return {stream: days for stream, (days, _what) in STREAMS.items()}
