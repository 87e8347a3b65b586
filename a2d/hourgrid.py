"""The hourly grid forecasts are keyed on: UTC hours counted from 1970 ("epoch hours").

A model bundle names the first hour of its history this way, the edge agent stores its forecasts
and counts per epoch hour, and the trainer and the device build their features on it. Local time
comes from an IANA zone (:func:`zone`), so a local day has 23, 24 or 25 of these hours.

>>> from datetime import UTC, datetime
>>> epoch_hour(datetime(1970, 1, 2, 1, 30, tzinfo=UTC))
25
>>> hour_start(25).isoformat()
'1970-01-02T01:00:00+00:00'
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class HourGridError(ValueError):
    """A time that cannot be placed on the grid: an unknown zone, or a time without an offset."""


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name`` (``Europe/Berlin``), or :class:`HourGridError` naming it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise HourGridError(f"unknown time zone {name!r} (an IANA name such as Europe/Berlin)") from None


def epoch_hour(dt: datetime) -> int:
    """The UTC hour ``dt`` (aware) falls in, as hours since 1970."""
    if dt.tzinfo is None:
        raise HourGridError("a time without an offset cannot be placed on the UTC grid")
    return int(dt.timestamp() // 3600)


def hour_start(epoch: int) -> datetime:
    """The start of epoch hour ``epoch`` (aware, UTC)."""
    return datetime.fromtimestamp(epoch * 3600, UTC)
