"""Parsers for network-server MQTT messages: bytes + topic in, a :class:`NetworkEvent` out.

Anything that cannot become an event raises :class:`BadMessage` with the quarantine reason.
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson

from . import bridge, chirpstack, tts
from ._event import STREAMS, NetworkEvent
from ._fields import BadMessage

_PARSERS = {"chirpstack": chirpstack.parse, "tts": tts.parse, "bridge": bridge.parse}


def parse(kind: str, topic: str, payload: bytes) -> NetworkEvent | None:
    """Parse one message from a source of ``kind``; ``None`` for messages that are not events
    (The Things Stack downlink commands that other applications publish)."""
    if kind == "tts" and tts.is_command(topic):
        return None
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise BadMessage(f"not JSON: {exc}"[:200]) from None
    if not isinstance(body, Mapping):
        raise BadMessage(f"not a JSON object but {type(body).__name__}")
    return _PARSERS[kind](topic, body, payload)


__all__ = ["STREAMS", "BadMessage", "NetworkEvent", "parse"]
