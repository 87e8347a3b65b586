"""UTC timestamps as the project writes them: ISO-8601 with microseconds and a ``Z``."""

from __future__ import annotations

import re
from datetime import UTC, datetime

_FRACTION = re.compile(r"(\.\d{6})\d+")


def utc_now() -> str:
    return iso(datetime.now(UTC))


def iso(dt: datetime) -> str:
    """``2026-06-02T08:15:31.412883Z`` for an aware datetime (converted to UTC)."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse(text: str) -> datetime:
    """Parse RFC 3339 as network servers send it (nanoseconds, ``Z`` or an offset) into UTC.

    Raises ``ValueError`` for anything else; a timestamp without an offset is taken as UTC.
    """
    dt = datetime.fromisoformat(_FRACTION.sub(r"\1", text.strip()))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def normalise(text: str) -> str:
    """Network-server time text → our UTC ISO form (``ValueError`` if unparseable)."""
    return iso(parse(text))
