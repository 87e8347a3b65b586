"""The JSON object an uploaded record holds, for the modules that act on one stream's records
(:mod:`.livevotes`, :mod:`.helpcalls`, :mod:`.usage`): those records are stored whatever they hold."""

from __future__ import annotations

from typing import Any

import orjson

from a2d.syncwire import Checked


def payload_of(record: Checked, stream: str) -> dict[str, Any] | None:
    """``record``'s payload if it is of ``stream`` and a JSON object, else None."""
    if record.stream != stream:
        return None
    try:
        payload = orjson.loads(record.text)
    except orjson.JSONDecodeError:
        return None
    return payload if isinstance(payload, dict) else None
