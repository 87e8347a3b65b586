"""Parsers for network-server MQTT messages: bytes + topic in, a :class:`NetworkEvent` out.

Anything that cannot become an event raises :class:`BadMessage` with the quarantine reason. No
event leaves here with a control character in its text (see :mod:`._fields`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import orjson

from . import bridge, chirpstack, tts
from ._event import STREAMS, NetworkEvent
from ._fields import MAX_DEPTH, BadMessage, check_ident, clean, clean_json

_PARSERS = {"chirpstack": chirpstack.parse, "tts": tts.parse, "bridge": bridge.parse}
#: the UTF-8 bytes of the characters :mod:`._fields` cleans out (C0, DEL, C1, the separators and
#: bidi overrides, surrogates)
_CONTROL_BYTES = re.compile(
    rb"[\x00-\x1f\x7f]|\xc2[\x80-\x9f]|\xe2\x80[\xa8-\xae]|\xe2\x81[\xa6-\xa9]|\xed[\xa0-\xbf]"
)
_PRINTABLE_ASCII = bytes(range(0x20, 0x7F))


def _maybe_control(payload: bytes) -> bool:
    """Whether a decoded string of this JSON text could hold a control character: through an escape
    (``\\u001b``, ``\\n``; any backslash counts) or its UTF-8 bytes. Fast: most messages have
    neither a backslash nor a byte outside printable ASCII. Deleting the printable ASCII bytes
    keeps every multi-byte UTF-8 sequence whole, so the search over the rest is exact."""
    if b"\\" in payload:
        return True
    rest = payload.translate(None, _PRINTABLE_ASCII)
    return bool(rest) and _CONTROL_BYTES.search(rest) is not None


def parse(kind: str, topic: str, payload: bytes) -> NetworkEvent | None:
    """Parse one message from a source of ``kind``; ``None`` for messages that are not events
    (The Things Stack downlink commands that other applications publish)."""
    if kind == "tts" and tts.is_command(topic):
        return None
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise BadMessage(f"not JSON: {exc}"[:200]) from exc
    if not isinstance(body, Mapping):
        raise BadMessage(f"not a JSON object but {type(body).__name__}")
    ev = _PARSERS[kind](topic, body, payload)
    if not _maybe_control(payload) and payload.count(b"{") + payload.count(b"[") < MAX_DEPTH:
        return ev  # no control character anywhere, no deep nesting: nothing to clean (the common case)
    return _cleaned(ev)


def _cleaned(ev: NetworkEvent) -> NetworkEvent:
    """The last net behind the parsers' own per-field checks: the ids of ``ev`` are checked, its
    names and JSON objects cleaned of control characters."""
    check_ident(ev.key, "idempotency key")
    check_ident(ev.dev_eui, "DevEUI")
    check_ident(ev.time, "time")
    ev.device_id = None if ev.device_id is None else clean(ev.device_id)
    ev.application = None if ev.application is None else clean(ev.application)
    if ev.ns_decoded is not None:
        ev.ns_decoded = clean_json(ev.ns_decoded, "object")
    if ev.health is not None:
        ev.health = clean_json(ev.health, "health")
    ev.meta = clean_json(ev.meta, "meta")
    ev.measurements = clean_json(ev.measurements, "measurements")
    return ev


__all__ = ["STREAMS", "BadMessage", "NetworkEvent", "clean", "parse"]
