"""Button events on the local MQTT bus: what the buttons bridge publishes and the edge agent reads.

The bridge publishes each stored event to the local broker, QoS 1, on
``a2d/v1/buttons/<source_id>`` as JSON ``{"id", "source_id", "button", "event", "at", "seq"}``;
``seq`` is a serial box's press counter (0-65535, wraps), ``null`` for a GPIO button. Ids are
:func:`valid_name` s, safe in a topic. The serial line protocol between a box and the bridge is
the bridge's own (``buttons_firmware_bridge/frames.py``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from . import timeutil

#: a box's press counter runs 0 … 65535 and wraps
SEQ_MODULO = 65536
#: events on the MQTT bus
BUS_EVENTS = ("press", "hold", "battery")
TOPIC_PREFIX = "a2d/v1/buttons/"
TOPIC_FILTER = TOPIC_PREFIX + "#"

_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,40}$")


class WireError(ValueError):
    """A frame or bus message that does not follow the protocol; the text says what is wrong."""


def valid_name(name: str) -> bool:
    """Box, source and button ids: 1-40 of ``A-Z a-z 0-9 _ . : -`` (safe in a frame and a topic)."""
    return bool(_NAME.match(name))


def topic(source_id: str) -> str:
    if not valid_name(source_id):
        raise WireError(f"source id {source_id!r:.44} is not 1-40 letters, digits or _.:-")
    return TOPIC_PREFIX + source_id


def source_of(topic_name: str) -> str:
    """The ``source_id`` of a bus topic, or :class:`WireError`."""
    if not topic_name.startswith(TOPIC_PREFIX):
        raise WireError(f"not a buttons topic: {topic_name[:80]}")
    source_id = topic_name[len(TOPIC_PREFIX) :]
    if not valid_name(source_id):
        raise WireError(f"topic level {source_id[:44]!r} is not a valid source id")
    return source_id


@dataclass(frozen=True, slots=True)
class ButtonEvent:
    """One event on the bus. ``seq`` is the box's counter (``None`` for GPIO buttons)."""

    id: str
    source_id: str
    button: str
    event: str
    at: str
    seq: int | None = None

    @property
    def topic(self) -> str:
        return topic(self.source_id)

    @property
    def millivolts(self) -> int | None:
        return int(self.button) if self.event == "battery" else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source_id": self.source_id,
            "button": self.button,
            "event": self.event,
            "at": self.at,
            "seq": self.seq,
        }

    def to_json(self) -> bytes:
        return json.dumps(self.as_dict(), separators=(",", ":")).encode()


def _field(body: dict[str, Any], key: str) -> str:
    v = body.get(key)
    if not isinstance(v, str) or not v:
        raise WireError(f"field {key} must be a non-empty string, got {v!r:.40}")
    return v


def parse_event(topic_name: str, payload: bytes) -> ButtonEvent:
    """Check one bus message; every problem raises :class:`WireError` with one clear sentence."""
    try:
        body = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WireError(f"not JSON: {exc}"[:200]) from exc
    return check_event(topic_name, body)


def check_event(topic_name: str, body: Any) -> ButtonEvent:
    """Check a bus message already parsed from JSON (see :func:`parse_event`)."""
    source_id = source_of(topic_name)
    if not isinstance(body, dict):
        raise WireError(f"not a JSON object but {type(body).__name__}")
    missing = [k for k in ("id", "source_id", "button", "event", "at") if k not in body]
    if missing:
        raise WireError(f"missing field(s) {', '.join(missing)}")
    ev_id = _field(body, "id")
    if len(ev_id) > 100:
        raise WireError("field id is longer than 100 characters")
    if _field(body, "source_id") != source_id:
        raise WireError(f"source_id {body['source_id']!r:.44} differs from the topic's {source_id!r}")
    event = _field(body, "event")
    if event not in BUS_EVENTS:
        raise WireError(f"unknown event {event!r:.20}")
    button = _field(body, "button")
    if event == "battery" and not (button.isascii() and button.isdigit() and len(button) <= 6):
        raise WireError(f"battery millivolts {button!r:.10} is not a number")
    if event != "battery" and not valid_name(button):
        raise WireError(f"button {button!r:.44} is not 1-40 letters, digits or _.:-")
    try:
        at = timeutil.normalise(_field(body, "at"))
    except ValueError:
        raise WireError(f"field at {body['at']!r:.40} is not an RFC 3339 time") from None
    seq = body.get("seq")
    if seq is not None and (type(seq) is not int or not 0 <= seq < SEQ_MODULO):
        raise WireError(f"field seq must be 0-65535 or null, got {seq!r:.20}")
    return ButtonEvent(ev_id, source_id, button, event, at, seq)
