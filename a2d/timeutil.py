"""UTC timestamps as the project writes them: ISO-8601 with microseconds and a ``Z``."""

from __future__ import annotations

import re
from datetime import UTC, datetime

_FRACTION = re.compile(r"(\.[0-9]{6})[0-9]+")


def utc_now() -> str:
    return iso(datetime.now(UTC))


def iso(dt: datetime) -> str:
    """``2026-06-02T08:15:31.412883Z`` for an aware datetime (converted to UTC)."""
    u = dt.astimezone(UTC)
    return f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}.{u.microsecond:06d}Z"


def parse(text: str) -> datetime:
    """Parse RFC 3339 as network servers send it (nanoseconds, ``Z`` or an offset) into UTC.

    Raises ``ValueError`` for anything else; a timestamp without an offset is taken as UTC.
    """
    if not text.isascii():
        raise ValueError(f"not an RFC 3339 time: {text!r:.40}")
    dt = datetime.fromisoformat(_FRACTION.sub(r"\1", text.strip()))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:
        return dt.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{text!r:.40} lies outside the calendar in UTC") from None


_UTC_FAST = re.compile(
    r"^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.([0-9]{1,9}))?(?:Z|\+00:00)$"
)


def normalise(text: str) -> str:
    """Network-server time text → our UTC ISO form (``ValueError`` if unparseable).

    UTC stamps (``Z`` / ``+00:00``, as both network servers send them) take a fast path that only
    re-formats the text; anything else goes through :func:`parse`.
    """
    m = _UTC_FAST.match(text)
    if m is not None:
        whole, fraction = m.groups()
        datetime(int(whole[:4]), int(whole[5:7]), int(whole[8:10]), int(whole[11:13]), int(whole[14:16]),
                 int(whole[17:19]))  # fmt: skip
        return f"{whole}.{(fraction or '')[:6].ljust(6, '0')}Z"
    return iso(parse(text))
