"""Wire formats of physical feedback buttons, shared by the bridge and the edge agent.

Serial button boxes speak a line protocol with an NMEA-style checksum (the upper-case hex XOR of
every character between ``$`` and ``*``)::

    box -> bridge:  $A2D,1,<box_id>,<seq>,<event>,<button>*<XX>\\n
    bridge -> box:  $A2D,1,ACK,<box_id>,<seq>*<XX>\\n

``seq`` is the box's press counter (0-65535, wraps). ``event`` is ``press``, ``hold``, ``hello``
(the box has started; ``seq`` is where its counter stands) or ``battery`` (``button`` carries
millivolts). The bridge publishes each stored event to the local broker, QoS 1, on
``a2d/v1/buttons/<source_id>`` as JSON ``{"id", "source_id", "button", "event", "at", "seq"}``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from . import timeutil

PROTOCOL = "A2D"
VERSION = "1"
SEQ_MODULO = 65536
#: events a box may send; ``hello`` is a box's greeting and never becomes a bus event
FRAME_EVENTS = ("press", "hold", "hello", "battery")
#: events on the MQTT bus
BUS_EVENTS = ("press", "hold", "battery")
TOPIC_PREFIX = "a2d/v1/buttons/"
TOPIC_FILTER = TOPIC_PREFIX + "#"
#: longest frame line we read; anything longer is garbage
MAX_FRAME = 120

_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,40}$")
_SEQ = re.compile(r"^[0-9]{1,5}$")
_HEX2 = re.compile(r"^[0-9A-F]{2}$")


class WireError(ValueError):
    """A frame or bus message that does not follow the protocol; the text says what is wrong."""


def checksum(body: str) -> str:
    """Two upper-case hex digits: the XOR of the characters of ``body`` (between ``$`` and ``*``)."""
    x = 0
    for ch in body:
        x ^= ord(ch)
    return f"{x & 0xFF:02X}"


def _wrap(body: str) -> bytes:
    return f"${body}*{checksum(body)}\n".encode("ascii")


def valid_name(name: str) -> bool:
    """Box, source and button ids: 1-40 of ``A-Z a-z 0-9 _ . : -`` (safe in a frame and a topic)."""
    return bool(_NAME.match(name))


@dataclass(frozen=True, slots=True)
class Frame:
    """One box -> bridge frame."""

    box_id: str
    seq: int
    event: str
    button: str

    def encode(self) -> bytes:
        return _wrap(f"{PROTOCOL},{VERSION},{self.box_id},{self.seq},{self.event},{self.button}")


@dataclass(frozen=True, slots=True)
class Ack:
    """One bridge -> box acknowledgement."""

    box_id: str
    seq: int

    def encode(self) -> bytes:
        return _wrap(f"{PROTOCOL},{VERSION},ACK,{self.box_id},{self.seq}")


def _split(line: bytes | str) -> list[str]:
    """The comma-separated fields between ``$`` and ``*`` of a checked frame line."""
    if isinstance(line, bytes):
        if len(line) > MAX_FRAME + 2:
            raise WireError(f"line of {len(line)} bytes is longer than a frame")
        try:
            text = line.decode("ascii")
        except UnicodeDecodeError:
            raise WireError("line is not ASCII") from None
    else:
        text = line
    text = text.strip("\r\n")
    if len(text) > MAX_FRAME:
        raise WireError(f"line of {len(text)} characters is longer than a frame")
    if not text.startswith("$"):
        raise WireError("line does not start with $")
    star = text.rfind("*")
    if star < 0:
        raise WireError("line has no *checksum")
    body, given = text[1:star], text[star + 1 :]
    if not _HEX2.match(given):
        raise WireError(f"checksum {given!r:.10} is not two upper-case hex digits")
    if checksum(body) != given:
        raise WireError(f"bad checksum {given} (computed {checksum(body)})")
    fields = body.split(",")
    if fields[:2] != [PROTOCOL, VERSION]:
        raise WireError(f"not an {PROTOCOL} version {VERSION} frame")
    return fields


def _seq(text: str) -> int:
    if not _SEQ.match(text) or int(text) >= SEQ_MODULO:
        raise WireError(f"sequence number {text!r:.10} is not 0-65535")
    return int(text)


def decode_frame(line: bytes | str) -> Frame:
    """Parse and check one box -> bridge line (with or without its newline)."""
    fields = _split(line)
    if len(fields) != 6:
        raise WireError(f"a frame has 6 fields, this one {len(fields)}")
    _, _, box_id, seq, event, button = fields
    if not valid_name(box_id):
        raise WireError(f"box id {box_id!r:.44} is not 1-40 letters, digits or _.:-")
    if event not in FRAME_EVENTS:
        raise WireError(f"unknown event {event!r:.20}")
    if event == "battery":
        if not button.isascii() or not button.isdigit() or len(button) > 6:
            raise WireError(f"battery millivolts {button!r:.10} is not a number")
    elif not valid_name(button):
        raise WireError(f"button {button!r:.44} is not 1-40 letters, digits or _.:-")
    return Frame(box_id, _seq(seq), event, button)


def decode_ack(line: bytes | str) -> Ack:
    """Parse and check one bridge -> box acknowledgement line."""
    fields = _split(line)
    if len(fields) != 5 or fields[2] != "ACK":
        raise WireError("not an ACK frame")
    if not valid_name(fields[3]):
        raise WireError(f"box id {fields[3]!r:.44} is not valid")
    return Ack(fields[3], _seq(fields[4]))


def seq_after(seq: int, step: int = 1) -> int:
    return (seq + step) % SEQ_MODULO


def seq_ahead(seq: int, ref: int) -> int:
    """How far ``seq`` lies ahead of ``ref`` on the 16-bit circle: 1-32767 ahead, else behind or equal."""
    return (seq - ref) % SEQ_MODULO


# -- the bus --------------------------------------------------------------------------------


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
        raise WireError(f"not JSON: {exc}"[:200]) from None
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
