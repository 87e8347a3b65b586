"""The serial frames (NMEA-style checksum, buttons_firmware_bridge.frames) and the bus events
(a2d.buttons), with clear errors."""

from __future__ import annotations

import json
import operator
from functools import reduce

import pytest
from hypothesis import given
from hypothesis import strategies as st

from a2d.buttons import ButtonEvent, WireError, parse_event, topic
from buttons_firmware_bridge.frames import Ack, Frame, checksum, decode_ack, decode_frame, seq_after


def test_frame_and_ack_on_the_wire() -> None:
    body = "A2D,1,box7,1,press,2"
    assert checksum(body) == f"{reduce(operator.xor, body.encode()):02X}" == "0C"
    assert Frame("box7", 1, "press", "2").encode() == b"$A2D,1,box7,1,press,2*0C\n"
    assert decode_frame(b"$A2D,1,box7,1,press,2*0C\r\n") == Frame("box7", 1, "press", "2")
    ack = Ack("box7", 65535).encode()
    assert ack.startswith(b"$A2D,1,ACK,box7,65535*") and ack.endswith(b"\n")
    assert decode_ack(ack) == Ack("box7", 65535)
    assert decode_frame(Frame("b", 7, "battery", "3712").encode()).event == "battery"
    assert seq_after(65535) == 0 and seq_after(0, -1) == 65535


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"$A2D,1,box7,1,press,2*0D\n", "bad checksum"),
        (b"$A2D,1,box7,1,press,2*0c\n", "not two upper-case hex digits"),
        (b"A2D,1,box7,1,press,2*0C\n", "does not start with $"),
        (b"$A2D,1,box7,1,press,2\n", "no *checksum"),
        (Frame("box7", 1, "wave", "2").encode(), "unknown event"),
        (Frame("box7", 65536, "press", "2").encode(), "not 0-65535"),
        (Frame("box 7", 1, "press", "2").encode(), "box id"),
        (Frame("box7", 1, "battery", "high").encode(), "millivolts"),
        (b"$A2D,2,box7,1,press,2*0F\n", "version 1"),
        (b"\xff\x00garbage\n", "not ASCII"),
        (b"$" + b"A" * 200 + b"*00\n", "longer than a frame"),
    ],
)
def test_bad_frames_say_why(line: bytes, reason: str) -> None:
    with pytest.raises(WireError, match=reason.replace("*", r"\*").replace("$", r"\$")):
        decode_frame(line)


@given(st.binary(max_size=200))
def test_any_bytes_decode_or_raise_wire_error(data: bytes) -> None:
    try:
        decode_frame(data)
    except WireError:
        pass


@given(
    seq=st.integers(0, 65535),
    button=st.sampled_from(["1", "2", "happy"]),
    pos=st.integers(0, 40),
    new=st.characters(min_codepoint=32, max_codepoint=126),
)
def test_changing_one_character_is_always_caught(seq: int, button: str, pos: int, new: str) -> None:
    line = Frame("box7", seq, "press", button).encode().decode()
    pos %= len(line) - 1  # keep the newline
    changed = line[:pos] + new + line[pos + 1 :]
    if changed == line:
        return
    with pytest.raises(WireError):
        decode_frame(changed)


def test_bus_event_round_trip_and_errors() -> None:
    ev = ButtonEvent("e1", "kiosk-1", "happy", "press", "2026-06-02T08:15:31.412883Z", None)
    assert ev.topic == topic("kiosk-1") == "a2d/v1/buttons/kiosk-1"
    assert parse_event(ev.topic, ev.to_json()) == ev
    body = ev.as_dict()
    for change, reason in [
        ({"event": "wave"}, "unknown event"),
        ({"source_id": "other"}, "differs from the topic"),
        ({"at": "yesterday"}, "not an RFC 3339 time"),
        ({"seq": 70000}, "0-65535 or null"),
        ({"seq": "1"}, "0-65535 or null"),
        ({"id": ""}, "non-empty string"),
        ({"event": "battery", "button": "full"}, "millivolts"),
    ]:
        with pytest.raises(WireError, match=reason):
            parse_event(ev.topic, json.dumps({**body, **change}).encode())
    with pytest.raises(WireError, match="missing field"):
        parse_event(ev.topic, b'{"id": "x"}')
    with pytest.raises(WireError, match="not JSON"):
        parse_event(ev.topic, b"{")
    with pytest.raises(WireError, match="not a buttons topic"):
        parse_event("a2d/v2/x", ev.to_json())
    with pytest.raises(WireError, match="source id"):
        parse_event("a2d/v1/buttons/a/b", ev.to_json())
