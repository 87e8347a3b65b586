"""Browan device codecs: ``browan/tbpb100`` (Tabs push button).

The push button reports on fPort 147 with an 8-byte frame; the vendor codec reads the first three:

* byte 0, bit 0: button state (1 = pressed);
* byte 1, low nibble: battery voltage as ``(25 + n) / 10`` V;
* byte 2, low seven bits: board temperature as ``n - 32`` °C.

An empty frame or one of only zero bytes carries no reading: the vendor codec answers it with an
empty object before it even looks at the fPort, and so do we.
"""

from __future__ import annotations

from typing import Any

from a2d.measurements import Measurement, collect, measurement

from ._base import Codec, CodecError

PUSH_BUTTON_PORT = 147
FRAME_BYTES_READ = 3


def _number(x: float) -> int | float:
    """A JS number as JSON would print it: integral values become ``int``."""
    return int(x) if x.is_integer() else x


def decode_tbpb100(data: bytes, f_port: int) -> dict[str, Any]:
    """Decode one Tabs push button uplink into the vendor's object."""
    if not any(data):
        return {}
    if f_port != PUSH_BUTTON_PORT:
        raise CodecError("unknown FPort")
    if len(data) < FRAME_BYTES_READ:
        raise CodecError(f"truncated push button frame: need {FRAME_BYTES_READ} bytes, got {len(data)}")
    return {
        "status": data[0] & 0x01,
        "battery": _number((25 + (data[1] & 0x0F)) / 10),
        "temperatureBoard": (data[2] & 0x7F) - 32,
    }


def measure_tbpb100(decoded: dict[str, Any]) -> list[Measurement]:
    """A press (status 1) and the battery voltage; the board temperature is not an air reading."""
    if "status" not in decoded:
        return []
    return collect(
        measurement("button_press", 1, "button") if decoded["status"] == 1 else None,
        measurement("battery_voltage", decoded.get("battery")),
    )


CODECS: list[Codec] = [
    Codec(
        id="browan/tbpb100",
        decode=decode_tbpb100,
        measure=measure_tbpb100,
        description="Browan Tabs TBPB100 push button",
    ),
]
