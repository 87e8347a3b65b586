"""The serial line protocol between a button box and the bridge: frames, acknowledgements, checksums.

Serial button boxes speak a line protocol with an NMEA-style checksum (the upper-case hex XOR of
every character between ``$`` and ``*``)::

    box -> bridge:  $A2D,1,<box_id>,<seq>,<event>,<button>*<XX>\\n
    bridge -> box:  $A2D,1,ACK,<box_id>,<seq>*<XX>\\n

``seq`` is the box's press counter (0-65535, wraps). ``event`` is ``press``, ``hold``, ``hello``
(the box has started; ``seq`` is where its counter stands) or ``battery`` (``button`` carries
millivolts). Only the bridge and its boxes speak it (the box's MicroPython side is
``firmware/a2dproto.py``); what the bridge publishes for the edge agent is :mod:`a2d.buttons`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from a2d.buttons import SEQ_MODULO, WireError, valid_name

PROTOCOL = "A2D"
VERSION = "1"
#: events a box may send; ``hello`` is a box's greeting and never becomes a bus event
FRAME_EVENTS = ("press", "hold", "hello", "battery")
#: longest frame line we read; anything longer is garbage
MAX_FRAME = 120

_SEQ = re.compile(r"^[0-9]{1,5}$")
_HEX2 = re.compile(r"^[0-9A-F]{2}$")


def checksum(body: str) -> str:
    """Two upper-case hex digits: the XOR of the characters of ``body`` (between ``$`` and ``*``)."""
    x = 0
    for ch in body:
        x ^= ord(ch)
    return f"{x & 0xFF:02X}"


def _wrap(body: str) -> bytes:
    return f"${body}*{checksum(body)}\n".encode("ascii")


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
        except UnicodeDecodeError as exc:
            raise WireError("line is not ASCII") from exc
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
